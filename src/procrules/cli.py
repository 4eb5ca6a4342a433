"""The `procrules` command: a thin layer over the API. Turns errors into exit codes in one place.

Exit codes (CONTRACT.md): 0 no error finding; 1 at least one error finding; 2 could not judge.
"""

from __future__ import annotations

import calendar as calendar_module
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import cli_policy
from .cli_options import (
    as_of_option,
    calendar_option,
    jobs_option,
    lang_option,
    policy_date_option,
    processes_option,
)
from .errors import InternalError, ProcrulesError, UsageError, current_input, did_you_mean
from .messages import tr

if TYPE_CHECKING:
    from .api import Checker
    from .calendar import Calendar
    from .limits import Limits
    from .spec.model import Process

# Each command imports what it uses, in its body: `calendar show` or `--help` need neither the
# engine nor the schema validator, and a cold start pays only for its own command.

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_JUDGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def default_lang() -> str:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _debug() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().params.get("debug"))


def fail(exc: ProcrulesError, lang: str | None = None) -> None:
    if _debug() and exc.__cause__ is not None:
        import traceback

        traceback.print_exception(exc.__cause__, file=sys.stderr)
    click.echo(exc.render(lang or default_lang()), err=True)


def announce(checker: Checker, lang: str) -> None:
    """Say on stderr which specs folder (and revision) the command uses."""
    from .policy import banner

    click.echo(banner(checker.policy, checker.revision, lang), err=True)


class _Boundary(click.Group):
    """The one place where an unforeseen exception in any command becomes 'could not judge':
    exit 2 with one line naming the input; the traceback only with --debug. Never exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        token = current_input.set(None)
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except ProcrulesError as exc:
            fail(exc, ctx.params.get("lang"))
            sys.exit(EXIT_CANNOT_JUDGE)
        except KeyboardInterrupt:  # Ctrl-C: not a verdict (1), and not click's "Aborted!" exit 1
            click.echo(tr("interrupted", default_lang()), err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            if ctx.params.get("debug"):
                import traceback

                traceback.print_exc(file=sys.stderr)
            where = current_input.get() or (ctx.invoked_subcommand or "procrules")
            error = InternalError.wrap(exc, where)
            click.echo(error.render(default_lang()), err=True)
            sys.exit(EXIT_CANNOT_JUDGE)
        finally:
            current_input.reset(token)


def default_jobs() -> int:
    from .cli_batch import default_jobs as cores

    return cores()


def parse_policy_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError.at("--policy-date", f"'{value}' is not a date like 2026-10-01") from None


@click.group(cls=_Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="procrules")
@click.option(
    "--debug",
    is_flag=True,
    envvar="PROCRULES_DEBUG",
    help="On an internal error, print the traceback too (it still exits 2).",
)
def main(debug: bool) -> None:
    """Rules and SLA engine for water-utility service-desk flows.

    Checks applications (cases) against the YAML process specs: missing documents, blockers,
    approvers, amounts owed, and deadlines on the mainland China working-day calendar.
    """


# -- check -----------------------------------------------------------------------------------


def _read_case(arg: str, limits: Limits) -> tuple[str, Any]:
    from .source import load_json, parse_json

    if arg == "-":
        current_input.set("<stdin>")
        stream = getattr(sys.stdin, "buffer", None)
        raw: bytes | str = (
            stream.read(limits.case_bytes + 1)
            if stream is not None
            else sys.stdin.read(limits.case_bytes + 1)
        )
        return "<stdin>", parse_json(raw, "<stdin>", limits)
    current_input.set(arg)
    return arg, load_json(Path(arg), limits)


def _iter_cases(paths: tuple[str, ...], limits: Limits | None = None) -> Iterator[tuple[str, Any]]:
    """Yield (where, parsed case) from files, folders and JSON Lines (`-`: standard input), read
    as `sla` reads them (cli_batch.iter_records: nothing skipped silently, strict and bounded
    by `limits`); an input that cannot be read or parsed comes as its ProcrulesError, in place."""
    from .batch import parse_record
    from .cli_batch import Tally, iter_records
    from .limits import Limits

    limits = limits or Limits.from_env()
    for record in iter_records(paths, Tally(), limits=limits):
        current_input.set(record.source)
        try:
            yield record.source, parse_record(record, limits)
        except ProcrulesError as exc:
            yield record.source, exc


@main.command()
@click.argument("cases", nargs=-1, required=True, metavar="CASE...")
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for a person; json is the report of CONTRACT.md "
    "(an array when several cases are given).",
)
@lang_option
@processes_option
@calendar_option
@policy_date_option
@click.option(
    "--fail-on",
    "fail_on",
    type=click.Choice(["application", "sla", "any"]),
    default="any",
    show_default=True,
    help="Which error findings give exit 1: application (the case cannot proceed: documents, "
    "gates, eligibility, facts, the record of the flow), sla (the centre's own deadlines), any.",
)
def check(
    cases: tuple[str, ...],
    as_of: str | None,
    fmt: str,
    lang: str | None,
    processes: Path | None,
    calendar_file: Path | None,
    policy_date: str | None,
    fail_on: str = "any",
) -> None:
    """Judge each CASE (a JSON application; - reads standard input).

    Several cases are judged each on its own: one that cannot be read is reported in its place
    (in json, an {"source", "error"} record in the array) and the others are still judged; a
    summary ends the run on stderr. Exit 0 when no finding is an error, 1 when one is (only
    those of one kind with --fail-on), 2 when a case or spec cannot be read.
    """
    from .api import Checker, resolve_as_of, validate_case
    from .report import render_text, report_to_dict, to_json

    lang = lang or default_lang()
    try:
        checker = Checker.load(processes, calendar_file)
        when = resolve_as_of(as_of)
        policy = parse_policy_date(policy_date)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    announce(checker, lang)
    code = EXIT_OK
    many = len(cases) > 1  # a batch: each case on its own, errors in place, a summary at the end
    judged = refused = with_errors = 0
    if fmt == "json" and many:
        click.echo("[", nl=False)
    for arg in cases:
        try:
            file, data = _read_case(arg, checker.limits)
            report = checker.engine.check(
                validate_case(data, file, checker.limits), when, file, policy
            )
        except ProcrulesError as exc:
            fail(exc, lang)
            code = EXIT_CANNOT_JUDGE
            refused += 1
            if many:
                _in_place(exc, arg, fmt, lang, first=judged + refused == 1)
            continue
        judged += 1
        if not report.ok:
            with_errors += 1
        if report.failed(fail_on) and code == EXIT_OK:
            code = EXIT_FINDINGS
        if fmt == "json" and many:
            text = to_json(report_to_dict(report, lang))
            click.echo(("," if judged + refused > 1 else "") + "\n" + text, nl=False)
        elif fmt == "json":
            click.echo(to_json(report_to_dict(report, lang)))
        else:
            if judged + refused > 1:
                click.echo("")
            click.echo(render_text(report, lang, click.style))
    if many:
        if fmt == "json":
            click.echo("\n]")
        counts = {"read": len(cases), "judged": judged, "refused": refused, "errors": with_errors}
        click.echo(tr("batch_summary_check", lang, **counts), err=True)
    sys.exit(code)


def _in_place(exc: ProcrulesError, source: str, fmt: str, lang: str, first: bool) -> None:
    """The record of a case that could not be judged, where its report would have been."""
    from .batch import error_record
    from .cli_batch import clean
    from .report import to_json

    if fmt == "json":
        record = to_json(error_record(source, exc.problems))
        click.echo(("" if first else ",") + "\n" + record, nl=False)
    else:
        if not first:
            click.echo("")
        click.echo(f"✘ {tr('not_judged', lang)}  {clean(source)}: {exc.problems[0].code}")


# -- explain ---------------------------------------------------------------------------------


@main.command()
@click.argument("cases", nargs=-1, required=True, metavar="CASE...")
@as_of_option
@lang_option
@processes_option
@calendar_option
@policy_date_option
def explain(
    cases: tuple[str, ...],
    as_of: str | None,
    lang: str | None,
    processes: Path | None,
    calendar_file: Path | None,
    policy_date: str | None,
) -> None:
    """Why the verdict on CASE is what it is, rule by rule, and each deadline day by day.

    Several cases are explained one after another; one that cannot be read is reported in its
    place and the others are still explained, with a summary on stderr at the end."""
    from .api import Checker, resolve_as_of, validate_case
    from .explain import explain as explain_text
    from .report import render_text

    lang = lang or default_lang()
    try:
        checker = Checker.load(processes, calendar_file)
        announce(checker, lang)
        when = resolve_as_of(as_of)
        policy = parse_policy_date(policy_date)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    many = len(cases) > 1
    code = EXIT_OK
    judged = refused = with_errors = 0
    for arg in cases:
        try:
            file, data = _read_case(arg, checker.limits)
            judgement = checker.engine.judge(
                validate_case(data, file, checker.limits), when, file, policy
            )
            report = judgement.run()
        except ProcrulesError as exc:
            fail(exc, lang)
            code = EXIT_CANNOT_JUDGE
            refused += 1
            if many:
                _in_place(exc, arg, "text", lang, first=judged + refused == 1)
            continue
        judged += 1
        if not report.ok:
            with_errors += 1
            code = code or EXIT_FINDINGS
        if judged + refused > 1:
            click.echo("")
        click.echo(render_text(report, lang, click.style))
        click.echo("")
        click.echo(explain_text(judgement, report, lang))
    if many:
        counts = {"read": len(cases), "judged": judged, "refused": refused, "errors": with_errors}
        click.echo(tr("batch_summary_check", lang, **counts), err=True)
    sys.exit(code)


# -- diagram ---------------------------------------------------------------------------------


@main.command()
@click.argument("process_id", metavar="PROCESS")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "plantuml", "dot"]),
    default="mermaid",
    show_default=True,
)
@lang_option
@processes_option
@policy_date_option
def diagram(
    process_id: str, fmt: str, lang: str | None, processes: Path | None, policy_date: str | None
) -> None:
    """PROCESS as a swimlane chart: lanes are roles, gates and routing are decisions, deadlines
    label the edges. `dot` output becomes SVG with Graphviz: ... | dot -Tsvg > flow.svg"""
    from .api import Checker
    from .diagram import render

    lang = lang or default_lang()
    try:
        checker = Checker.load(processes)
        specs = checker.specs
        if process_id not in specs.processes:
            raise UsageError.at(
                "PROCESS",
                f"unknown process '{process_id}'",
                suggestion=did_you_mean(process_id, specs.processes),
            )
        [process] = _versions_shown(checker, [process_id], parse_policy_date(policy_date), lang)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    click.echo(render(process, specs, fmt, lang), nl=False)


def _versions_shown(
    checker: Checker, process_ids: list[str], day: dt.date | None, lang: str
) -> list[Process]:
    """The version of each flow in force on `day` (default: the newest); says which on stderr."""
    announce(checker, lang)
    chosen = []
    for pid in process_ids:
        found = checker.specs.in_force(pid, day) if day else checker.specs.processes[pid]
        assert found is not None
        chosen.append(found)
        click.echo(
            tr("version_shown", lang, id=pid, version=found.version, since=found.effective_from),
            err=True,
        )
    return chosen


# -- diff ------------------------------------------------------------------------------------


@main.command()
@click.argument("old_dir", type=click.Path(path_type=Path))
@click.argument("new_dir", type=click.Path(path_type=Path))
@click.option(
    "--cases",
    "case_paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="Cases to judge under both: files, folders, JSON Lines (repeatable).",
)
@as_of_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@lang_option
@jobs_option
def diff(
    old_dir: Path,
    new_dir: Path,
    case_paths: tuple[str, ...],
    as_of: str | None,
    fmt: str,
    lang: str | None,
    jobs: int | None,
) -> None:
    """The impact of a change from OLD_DIR to NEW_DIR (specs and their calendar) on real cases.

    Lists every case whose approvers, amounts, missing documents, deadlines or findings differ,
    then a count by process and kind of change; a case that cannot be read is reported in its
    place (in json, under "errors") and the others are still compared. Ends with a summary on
    stderr. Exit 0 when nothing changes, 1 when something does, 2 when a spec folder or a case
    cannot be read.
    """
    from .api import resolve_as_of
    from .batch import Policy
    from .cli_batch import diff_run

    lang = lang or default_lang()
    try:
        old, new = Policy.of(old_dir), Policy.of(new_dir)
        when = resolve_as_of(as_of)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    announce(old.checker(), lang)
    announce(new.checker(), lang)
    sys.exit(diff_run(case_paths, when, old, new, fmt, lang, jobs or default_jobs(), click.echo))


# -- guide -----------------------------------------------------------------------------------


@main.command()
@click.argument("process_id", metavar="PROCESS", required=False)
@click.option("--all", "all_processes", is_flag=True, help="Every process, one after another.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html"]),
    default="md",
    show_default=True,
    help="html is one self-contained page that prints on A4.",
)
@lang_option
@processes_option
@policy_date_option
def guide(
    process_id: str | None,
    all_processes: bool,
    fmt: str,
    lang: str | None,
    processes: Path | None,
    policy_date: str | None,
) -> None:
    """The public service guide (办事指南) of PROCESS, generated from its spec: who may apply,
    the documents for each customer type, the steps and their time limits, fees and deposits,
    and who approves what."""
    from .api import Checker
    from .guide import render as render_guide

    lang = lang or default_lang()
    try:
        checker = Checker.load(processes)
        specs = checker.specs
        if all_processes == bool(process_id):
            raise UsageError.at("PROCESS", "name one PROCESS or give --all")
        if process_id and process_id not in specs.processes:
            raise UsageError.at(
                "PROCESS",
                f"unknown process '{process_id}'",
                suggestion=did_you_mean(process_id, specs.processes),
            )
        ids = [process_id] if process_id else sorted(specs.processes)
        chosen = _versions_shown(checker, ids, parse_policy_date(policy_date), lang)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    click.echo(render_guide(chosen, specs, fmt, lang), nl=False)


# -- lint ------------------------------------------------------------------------------------


@main.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@processes_option
@calendar_option
@lang_option
def lint(
    folder: Path | None, processes: Path | None, calendar_file: Path | None, lang: str | None
) -> None:
    """Validate every spec in FOLDER (default: the policy folder, as --processes finds it) and
    its calendar file; exit 0 if clean, else 2.

    Prints each fault as file:line:col: code: message (did you mean ...) at $.json.path, then
    the static analysis: routing gaps and conflicts, deadlines no step can start or stop, steps
    that cannot be reached, and (as warnings) documents no spec requires.
    """
    from .calendar import load_calendar
    from .policy import banner, find_policy_folder
    from .spec.analysis import analyse, calendar_fit
    from .spec.compile import load_specs, policy_revision

    lang = lang or default_lang()
    try:
        policy = find_policy_folder(folder or processes)
        click.echo(banner(policy, policy_revision(policy.path, calendar_file), lang), err=True)
        specs = load_specs(policy.path)
        cal = load_calendar(calendar_file or specs.calendar_file)
        if (policy.path / "alerts.yaml").exists():  # the alert ladder, routes and channels
            from .alerts.policy import load_alert_policy

            load_alert_policy(specs)
    except ProcrulesError as exc:
        fail(exc, lang)
        click.echo(tr("problems", lang, n=len(exc.problems)), err=True)
        sys.exit(EXIT_CANNOT_JUDGE)
    found = sorted(analyse(specs) + calendar_fit(specs, cal))
    for problem in found:
        click.echo(problem.render(lang), err=True)
    errors = [p for p in found if p.severity == "error"]
    if errors:
        click.echo(tr("problems", lang, n=len(errors)), err=True)
        sys.exit(EXIT_CANNOT_JUDGE)
    names = ", ".join(sorted(specs.processes))
    warnings = tr("warnings", lang, n=len(found)) if found else ""
    click.echo(tr("lint_ok", lang, n=len(specs.processes), names=names) + warnings)


# -- test ------------------------------------------------------------------------------------


@main.command(name="test")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option(
    "--coverage",
    is_flag=True,
    help="List the seed rules that no test exercised, routing branches never taken, and spec "
    "versions no test judged.",
)
@click.option(
    "--new",
    "new_case",
    type=click.Path(path_type=Path),
    default=None,
    metavar="CASE.json",
    help="Write a test from this real case and its current outcome (with --as-of) into the "
    "tests folder, for a clerk to confirm.",
)
@as_of_option
@processes_option
@calendar_option
@lang_option
def test_command(
    folder: Path | None,
    coverage: bool,
    new_case: Path | None,
    as_of: str | None,
    processes: Path | None,
    calendar_file: Path | None,
    lang: str | None,
) -> None:
    """Run the spec tests in FOLDER (default: the specs folder's tests/).

    Prints each failure with its file and line, expected against actual; ends with
    'N passed, M failed'. Exit 1 on a failure, 2 when a test or spec cannot be read.
    """
    from .api import Checker
    from .spectest import Coverage, load_tests, run_test

    lang = lang or default_lang()
    try:
        checker = Checker.load(processes, calendar_file)
        announce(checker, lang)
        if new_case is not None:
            cli_policy.write_new_test(checker, new_case, as_of, folder, lang)
            sys.exit(EXIT_OK)
        tests = load_tests(folder or checker.specs.folder / "tests")
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    passed = failed = 0
    covered = Coverage()
    for spec_test in tests:
        outcome = run_test(checker, spec_test, lang)
        covered.add(outcome)
        if outcome.passed:
            passed += 1
            continue
        failed += 1
        click.echo(f"{tr('fail', lang)} {spec_test.where}: {spec_test.note}")
        for line in outcome.failures:
            click.echo(f"     {line}")
    if coverage:
        rules = checker.specs.catalog.rules
        missing = covered.untested_rules(checker)
        info = covered.informational_only(checker)
        exercised = len(rules) - len(missing) - len(info)
        click.echo(tr("coverage", lang, n=exercised, total=len(rules), info=len(info)))
        for rule in missing:
            click.echo(f"  {tr('not_exercised', lang)}: {rule} {rules[rule].get(lang)}")
        versions = covered.untested_versions(checker)
        click.echo(tr("versions_untested", lang, n=len(versions)))
        for line in versions:
            click.echo(f"  {line}")
        branches = covered.untaken_branches(checker)
        click.echo(tr("branches", lang, n=len(branches)))
        for line in branches:
            if lang == "zh":
                line = line.replace("never taken", tr("never_taken", lang))
                line = line.replace("never skipped", tr("never_skipped", lang))
            click.echo(f"  {line}")
    click.echo(tr("passed_failed", lang, passed=passed, failed=failed))
    sys.exit(EXIT_FINDINGS if failed else EXIT_OK)


# -- sla -------------------------------------------------------------------------------------


@main.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="jsonl streams one alert a line, in reading order, with an error record in place of "
    "each input that cannot be judged.",
)
@click.option(
    "--summary-record",
    is_flag=True,
    help='With --format jsonl, end with one {"summary": ...} line.',
)
@lang_option
@processes_option
@calendar_option
@jobs_option
def sla(
    paths: tuple[str, ...],
    as_of: str | None,
    fmt: str,
    lang: str | None,
    processes: Path | None,
    calendar_file: Path | None,
    summary_record: bool,
    jobs: int | None,
) -> None:
    """Alert on every at-risk or breached deadline in many cases (files, folders, .jsonl;
    - reads JSON Lines from standard input).

    Most urgent first (text, json), then a count by process and status; a case with an event no
    step knows is listed too (its clocks cannot be trusted). Every input is judged on its own:
    one that cannot be read or judged is reported in its place (file, line, reason) and the run
    goes on. Ends with a summary on stderr: inputs read, judged, refused, alerts. Exit 2 when
    any input could not be judged, else 1 when any case has an error finding (a breach, an
    unknown event, a missing document...), else 0.
    """
    from .api import resolve_as_of
    from .batch import Policy
    from .cli_batch import sla_run

    lang = lang or default_lang()
    try:
        policy = Policy.of(processes, calendar_file)
        when = resolve_as_of(as_of)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    announce(policy.checker(), lang)
    code = sla_run(
        paths,
        when,
        policy,
        fmt,
        lang,
        jobs or default_jobs(),
        summary_record,
        click.echo,
        click.style,
    )
    sys.exit(code)


# -- calendar --------------------------------------------------------------------------------


@main.group(name="calendar")
def calendar_group() -> None:
    """Working days on the mainland China official calendar (with 调休 make-up days)."""


def _calendar(calendar_file: Path | None, lang: str, processes: Path | None = None) -> Calendar:
    """The calendar with the override given, else the policy folder's calendar.yaml if any."""
    from .calendar import load_calendar
    from .policy import banner, find_policy_folder
    from .spec.compile import policy_revision

    try:
        policy = find_policy_folder(processes)
        default = policy.path / "calendar.yaml"
        override = calendar_file or (default if default.exists() else None)
        click.echo(banner(policy, policy_revision(policy.path, calendar_file), lang), err=True)
        return load_calendar(override)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)


_UNITS = {
    "wd": "working days",
    "h": "hours",
    "mo": "months",
    "w": "weeks",
    "d": "days",
    "wh": "working hours",
}


@calendar_group.command()
@click.argument("start")
@click.argument("duration", nargs=-1, required=True)
@calendar_option
@processes_option
@lang_option
def due(
    start: str,
    duration: tuple[str, ...],
    calendar_file: Path | None,
    processes: Path | None,
    lang: str | None,
) -> None:
    """Due time of DURATION counted from START, with the days skipped and why.

    DURATION: 7wd, 24h, 1mo, 2w, 15d, 4wh, or words ('7 working days', 'end of month',
    'same day before 17:00').
    """
    import re

    from .api import resolve_as_of
    from .calendar import SHANGHAI
    from .limits import MAX_DURATION
    from .sla import due_time
    from .spec.compile import parse_duration
    from .wording import day_text, due_text

    lang = lang or default_lang()
    cal = _calendar(calendar_file, lang, processes)
    text = " ".join(duration)

    m = re.fullmatch(r"(\d+)(wd|wh|h|mo|w|d)", text.strip())
    parsed = parse_duration(f"{m.group(1)} {_UNITS[m.group(2)]}" if m else text)
    try:
        if parsed is None:
            raise UsageError.at(
                "DURATION", f"cannot read '{text}'", suggestion="7wd, 24h, 1mo, 2w, 15d, 4wh"
            )
        longest = MAX_DURATION.get(parsed.kind)
        if longest is not None and parsed.amount > longest:
            raise UsageError.at(
                "DURATION",
                f"'{text}' is longer than ten years "
                f"(at most {longest} {parsed.kind.replace('_', ' ')})",
            )
        begin = resolve_as_of(start)
        result = due_time(parsed, begin, cal)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    local = begin.astimezone(SHANGHAI)
    click.echo(f"{tr('due', lang)}: {due_text(result, lang, local.year)}")
    counted = 0
    for info in cal.days(local.date() + dt.timedelta(days=1), result.astimezone(SHANGHAI).date()):
        day = day_text(info.day, lang, local.year)
        if info.working:
            counted += 1
            if info.note:
                click.echo(f"  {day}  {tr('counted', lang)}  {info.note}")
        elif info.note or info.day.weekday() < 5:
            click.echo(f"  {day}  {tr('skipped', lang)}  {info.note or ''}".rstrip())
    if any(cal.is_provisional(d) for d in (local.date(), result.astimezone(SHANGHAI).date())):
        click.echo("  " + tr("provisional_note", lang))
    click.echo(
        "  "
        + tr(
            "counted_after",
            lang,
            n=counted,
            day=day_text(local.date(), lang, local.year),
            version=cal.version,
        )
    )


@calendar_group.command()
@click.argument("month", metavar="YYYY-MM")
@calendar_option
@processes_option
@lang_option
def show(month: str, calendar_file: Path | None, processes: Path | None, lang: str | None) -> None:
    """Print MONTH with holidays (休) and make-up working days (班) marked."""
    from .wording import day_text

    lang = lang or default_lang()
    cal = _calendar(calendar_file, lang, processes)
    try:
        try:
            first = dt.date.fromisoformat(month + "-01")
        except ValueError:
            raise UsageError.at("MONTH", f"'{month}' is not a date like 2026-10") from None
        cal.check_range(first)
        last = dt.date(
            first.year, first.month, calendar_module.monthrange(first.year, first.month)[1]
        )
        days = cal.days(first, last)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    if not cal.covers(first):
        fail(UsageError.at("MONTH", f"{month} is outside the calendar"), lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    days = cal.days(first, nxt - dt.timedelta(days=1))
    click.echo(f"{first:%Y-%m}" + ("  " + tr("provisional", lang) if days[0].provisional else ""))
    click.echo(tr("weekdays", lang))
    line = "    " * first.weekday()
    notes = []
    for info in days:
        mark = " "
        if not info.working and (info.note or info.day.weekday() < 5):
            mark = "休"
        elif info.working and info.day.weekday() >= 5:
            mark = "班"
        line += f"{info.day.day:>3}{mark}"
        if info.note:
            notes.append(f"  {day_text(info.day, lang, first)} {info.note}")
        if info.day.weekday() == 6:
            click.echo(line.rstrip())
            line = ""
    if line:
        click.echo(line.rstrip())
    for note in notes:
        click.echo(note)


@calendar_group.command()
@calendar_option
@processes_option
@lang_option
def status(calendar_file: Path | None, processes: Path | None, lang: str | None) -> None:
    """List the official years with their source (the shipped table, or a line of the override
    file) and the provisional years with the origin of their estimate."""
    from .cli_policy import print_status

    lang = lang or default_lang()
    print_status(_calendar(calendar_file, lang, processes), lang)


calendar_group.add_command(cli_policy.update_command)


main.add_command(cli_policy.init_command)

# -- command groups in their own modules (registered last: they import the options above) ----

from .cli_cases import cases as _cases  # noqa: E402

main.add_command(_cases)
from .cli_serve import serve as _serve  # noqa: E402

main.add_command(_serve)
from .cli_watch import alerts_group, watch  # noqa: E402

main.add_command(watch)
main.add_command(alerts_group)


if __name__ == "__main__":  # pragma: no cover
    main()
