"""`procrules init` and `procrules calendar update`: commands that write policy files for staff.

Thin over policy.py and calendar.py; registered on the groups of cli.py with one line each.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli_options import lang_option, processes_option
from .errors import ProcrulesError, UsageError
from .messages import tr

if TYPE_CHECKING:
    from .api import Checker
    from .calendar import Calendar, YearSource

# Imported by cli.py on every start (to register its commands): each command imports what it
# uses in its body, so that a cold `procrules check` pays for none of it (PyYAML above all).

EXIT_OK, EXIT_CANNOT_JUDGE = 0, 2


@click.command(name="init")
@click.argument("target", metavar="[DIR]", required=False, type=click.Path(path_type=Path))
@lang_option
def init_command(target: Path | None, lang: str | None) -> None:
    """Copy the shipped specs, their tests and examples into DIR/processes (default: the working
    directory) and the schemas into DIR/schemas, for staff to edit. Refuses to overwrite.

    Every command run in DIR then uses DIR/processes; elsewhere, give --processes or set
    PROCRULES_PROCESSES.
    """
    from .cli import default_lang, fail
    from .policy import init_policy_folder

    lang = lang or default_lang()
    folder = target or Path(".")
    try:
        written = init_policy_folder(folder)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    click.echo(tr("init_done", lang, n=len(written), folder=folder / "processes"))
    hint = "init_next" if target is None else "init_next_cd"
    click.echo(tr(hint, lang, dir=folder))
    sys.exit(EXIT_OK)


# -- calendar status and update ---------------------------------------------------------------


def print_status(cal: Calendar, lang: str) -> None:
    """The years of the calendar in runs: official ones with their source, provisional ones
    with the origin of their estimate."""
    click.echo(f"{tr('calendar', lang)}: {cal.version}")
    runs: list[tuple[int, int, YearSource]] = []
    for item in cal.year_sources():
        key = (item.official, item.origin, item.detail)
        if runs and (runs[-1][2].official, runs[-1][2].origin, runs[-1][2].detail) == key:
            runs[-1] = (runs[-1][0], item.year, runs[-1][2])
        else:
            runs.append((item.year, item.year, item))
    for official in (True, False):
        click.echo(tr("official_years" if official else "provisional_years_head", lang) + ":")
        for first, last, item in (r for r in runs if r[2].official is official):
            years = str(first) if first == last else f"{first}-{last}"
            kind = tr(f"year_origin_{item.origin}", lang)
            click.echo(f"  {years:<10} {kind}: {item.detail}")
    click.echo(tr("provisional_note", lang))


@click.command(name="update")
@click.option(
    "--from-holidays",
    "from_holidays",
    is_flag=True,
    required=True,
    help="Compare with the installed `holidays` package (pip install 'procrules[holidays]').",
)
@click.option("--years", metavar="Y1[-Y2]", default=None, help="Only these years.")
@click.option(
    "--write",
    is_flag=True,
    help="Write the changed years into the calendar file (default: only print them).",
)
@click.option(
    "--calendar",
    "calendar_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Calendar override file to compare and write (default: calendar.yaml of the specs "
    "folder).",
)
@processes_option
@lang_option
def update_command(
    from_holidays: bool,
    years: str | None,
    write: bool,
    calendar_file: Path | None,
    processes: Path | None,
    lang: str | None,
) -> None:
    """Print the days a newer `holidays` release would change in the calendar in use, year by
    year; with --write, add those years to the calendar override file as official years.

    Nothing changes until you ask: the shipped table and the report's calendar_version move
    only through this command (or a new procrules release)."""
    from .calendar import load_calendar
    from .calendar_build import china, import_holidays, official_year, publishes, version_of
    from .cli import default_lang, fail
    from .policy import banner, find_policy_folder
    from .spec.compile import policy_revision

    lang = lang or default_lang()
    try:
        policy = find_policy_folder(processes)
        target = calendar_file or policy.path / "calendar.yaml"
        click.echo(banner(policy, policy_revision(policy.path, calendar_file), lang), err=True)
        cal = load_calendar(target if target.exists() else None)
        chosen = _year_range(years, cal)
        holidays = import_holidays()
        cn = china(holidays, chosen)
        version = version_of(holidays)
        changed: dict[int, dict[str, Any]] = {}
        for year in chosen:
            if year not in cal.official_years and not publishes(cn, year):
                continue  # the release has no notice for it either: it stays an estimate
            new = official_year(cn, year, joined=True)
            lines = _changes(cal, year, new)
            if lines:
                changed[year] = new
                state = tr("now_official" if year in cal.official_years else "becomes", lang)
                click.echo(f"{year} ({state}, holidays {version}):")
                for line in lines:
                    click.echo(f"  {line}")
        if not changed:
            click.echo(tr("update_none", lang, version=version))
            sys.exit(EXIT_OK)
        if not write:
            click.echo(tr("update_dry", lang, n=len(changed), file=target))
            sys.exit(EXIT_OK)
        before = cal.version
        _write_years(target, changed, version)
        after = load_calendar(target).version
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    click.echo(tr("update_written", lang, n=len(changed), file=target, old=before, new=after))
    sys.exit(EXIT_OK)


def _year_range(text: str | None, cal: Calendar) -> range:
    from .calendar_file import FIRST_YEAR, LAST_YEAR

    if text is None:
        return range(cal.first_year, cal.last_year + 1)
    m = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", text.strip())
    if m is None:
        raise UsageError.at("--years", f"'{text}' is not a year like 2027 or 2027-2028")
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not FIRST_YEAR <= first <= last <= LAST_YEAR:
        raise UsageError.at("--years", f"'{text}' is outside {FIRST_YEAR} to {LAST_YEAR}")
    return range(first, last + 1)


def _changes(cal: Calendar, year: int, new: dict[str, Any]) -> list[str]:
    rest, makeup = cal.year_days(year)
    new_rest, new_makeup = new["rest_days"], set(new["makeup_working_days"])
    out = []
    for day in sorted(set(rest) | set(new_rest) | set(makeup) | new_makeup):
        if day in new_rest and day not in rest:
            out.append(f"+ {day} {new_rest[day]} (休)")
        elif day in rest and day not in new_rest:
            out.append(f"- {day} {rest[day]} (休)")
        if day in new_makeup and day not in makeup:
            out.append(f"+ {day} 调休上班 (班)")
        elif day in makeup and day not in new_makeup:
            out.append(f"- {day} 调休上班 (班)")
    return out


def _write_years(target: Path, changed: dict[int, dict[str, Any]], version: str) -> None:
    """Add `changed` to the override file as official years, keeping its opening comments;
    if the result does not validate, the file is left as it was."""
    import yaml

    from .calendar import load_calendar
    from .calendar_file import HOLIDAYS
    from .source import load_yaml

    old = target.read_text(encoding="utf-8") if target.exists() else ""
    data = (load_yaml(target).data if old else None) or {}
    header = []
    for line in old.splitlines():
        if line.startswith("#") or not line.strip():
            header.append(line)
        else:
            break
    if not header:
        header = ["# yaml-language-server: $schema=../schemas/calendar.schema.json"]
    years = data.setdefault("years", {}) or {}
    data["years"] = years
    for year, entry in sorted(changed.items()):
        labels = " ".join(entry["rest_days"].values())
        absent = [h for h in HOLIDAYS if h not in labels]
        years[str(year)] = {
            "source": f"holidays {version}",
            "rest_days": entry["rest_days"],
            "makeup_working_days": entry["makeup_working_days"],
            **({"absent_holidays": absent} if absent else {}),
        }
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    target.write_text("\n".join(header).rstrip("\n") + "\n" + body, encoding="utf-8")
    try:
        load_calendar(target)
    except ProcrulesError:
        if old:
            target.write_text(old, encoding="utf-8")
        else:
            target.unlink()
        raise


# -- procrules test --new ----------------------------------------------------------------------


def _plain_dumper() -> Any:
    import yaml

    class PlainDumper(yaml.SafeDumper):
        """YAML a clerk can read, and that the loader accepts: no anchors or aliases."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return PlainDumper


def write_new_test(
    checker: Checker, case_path: Path, as_of: str | None, folder: Path | None, lang: str
) -> None:
    """Judge a real case as of `as_of` and append it, with its current outcome as the
    expectation, to the tests file of its process; the new test must pass on the current specs."""
    import yaml

    from .api import resolve_as_of, validate_case
    from .source import load_json
    from .spectest import load_tests, run_test

    if as_of is None:
        raise UsageError.at("--as-of", "give --as-of: a test judges its case at a fixed time")
    when = resolve_as_of(as_of)
    data = load_json(case_path)
    case = validate_case(data, str(case_path))
    report = checker.engine.check(case, when, str(case_path))
    got = report.to_dict("en")
    expect: dict[str, Any] = {"ok": got["ok"], "missing_documents": got["missing_documents"]}
    picks = {
        "findings": ("code", "rule"),
        "approvals": ("rule", "approver"),
        "amounts": ("rule", "name", "amount"),
        "deadlines": ("rule", "id", "status"),
    }
    for key, fields in picks.items():
        items = [{k: item[k] for k in fields if item.get(k) is not None} for item in got[key]]
        for item, full in zip(items, got[key], strict=True):
            if key == "deadlines" and full.get("due"):
                item["due_date"] = str(full["due"])[:10]
        if items:
            expect[key] = items
    expect["exhaustive"] = True
    body = {k: v for k, v in data.items() if k not in ("process",)}
    body["events"] = [
        f"{e['event']} {e['at']}" if set(e) == {"event", "at"} else e
        for e in body.get("events", [])
    ]
    test = {
        "note": f"TODO confirm: {got.get('case_id') or case_path.stem} as of {as_of}",
        "rules": sorted({f["rule"] for f in got["findings"] if f.get("rule")}),
        "process": report.process.id,
        "as_of": when.isoformat(timespec="seconds"),
        "case": body,
        "expect": expect,
    }
    tests = folder or checker.specs.folder / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    target = tests / f"{report.process.id}.yaml"
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    text = yaml.dump([test], Dumper=_plain_dumper(), allow_unicode=True, sort_keys=False, width=100)
    start = old.count("\n") + (2 if old else 1) + (0 if old.endswith("\n") or not old else 1)
    target.write_text(old + ("\n" if old and not old.endswith("\n") else "") + "\n" + text, "utf-8")
    written = [t for t in load_tests(tests) if t.file == str(target)][-1]
    outcome = run_test(checker, written, lang)
    if not outcome.passed:  # pragma: no cover - the outcome was taken from the same judgement
        target.write_text(old, encoding="utf-8")
        raise UsageError.at(str(target), "the new test does not pass; nothing was written")
    click.echo(
        tr(
            "test_written",
            lang,
            file=target,
            line=written.line or start,
            process=report.process.id,
            version=report.process.version,
            as_of=test["as_of"],
        )
    )
