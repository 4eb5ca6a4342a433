"""`procrules cases ...`: the case store from the command line (import, show, list, rebuild).

Thin over procrules.store; imports it (and SQLAlchemy) only when a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .cli import EXIT_CANNOT_JUDGE, EXIT_FINDINGS, EXIT_OK, _iter_cases, default_lang, fail
from .cli_options import as_of_option, calendar_option, lang_option, processes_option
from .errors import CaseError, ProcrulesError

if TYPE_CHECKING:
    from .api import Checker
    from .store.eventlog import Store

# Registered on every start of `procrules`: the engine, the report and the store are imported
# by the commands that use them, so that other commands start without them.

_T = {
    "imported": (
        "{cases} cases read: {versions} new data versions, {appended} events appended, "
        "{duplicates} already stored, {noted} with notes, {unreadable} unreadable",
        "读取 {cases} 件：新数据版本 {versions} 个，追加事件 {appended} 条，"
        "已存在 {duplicates} 条，带说明 {noted} 条，无法读取 {unreadable} 件",
    ),
    "no_case_id": ("the case has no case_id", "案件缺少 case_id"),
    "unknown_case": ("no case '{id}' in the store", "存储中没有案件 '{id}'"),
    "rebuilt": (
        "{cases} cases rebuilt in {seconds:.1f} s as of {as_of}",
        "已重建 {cases} 件，用时 {seconds:.1f} 秒，判定时间 {as_of}",
    ),
    "events": ("Events", "事件"),
    "no_data": ("no case data yet (events only)", "尚无案件数据（仅有事件）"),
    "none": ("no case", "无案件"),
    "notes": ("notes", "说明"),
}


def _t(key: str, lang: str, **params: Any) -> str:
    en, zh = _T[key]
    return (zh if lang == "zh" else en).format(**params)


def store_option(f: Any) -> Any:
    return click.option(
        "--store",
        "store_target",
        default=None,
        envvar="PROCRULES_STORE",
        metavar="PATH|URL",
        help="The case store: a SQLite file, or a postgresql:// URL "
        "(default: $PROCRULES_STORE, else procrules-cases.db here).",
    )(f)


def _open(target: str | None, lang: str) -> Store:
    from .store import open_store

    try:
        store = open_store(target)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    click.get_current_context().call_on_close(store.close)
    return store


def _checker(processes: Path | None, calendar_file: Path | None, lang: str) -> Checker:
    from .api import Checker

    try:
        return Checker.load(processes, calendar_file)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)


@click.group(name="cases")
def cases() -> None:
    """The case store: an event log per case, and each case's state computed from it.

    Needs the server extra: pip install 'procrules[server]'.
    """


@cases.command(name="import")
@click.argument("paths", nargs=-1, required=True, metavar="FILE|DIR|JSONL...")
@store_option
@as_of_option
@lang_option
@processes_option
@calendar_option
def import_cases(
    paths: tuple[str, ...],
    store_target: str | None,
    as_of: str | None,
    lang: str | None,
    processes: Path | None,
    calendar_file: Path | None,
) -> None:
    """Import cases (application JSON) into the store: data as a new version when it changed,
    each event once (importing the same file again changes nothing).

    Exit 2 when a case could not be read (the others are still imported), else 0.
    """
    from .api import resolve_as_of, validate_case

    lang = lang or default_lang()
    checker = _checker(processes, calendar_file, lang)
    try:
        when = resolve_as_of(as_of)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    store = _open(store_target, lang)
    from .store.eventlog import split_case

    counts = dict(cases=0, versions=0, appended=0, duplicates=0, noted=0, unreadable=0)
    touched: list[str] = []
    for where, data in _iter_cases(paths):
        try:
            if isinstance(data, ProcrulesError):
                raise data
            case = validate_case(data, where)
            case_id = case.get("case_id")
            if not case_id:
                raise CaseError.at(where, _t("no_case_id", "en"), path="$.case_id", code="case_id")
            record, events = split_case(case)
            put = store.put_case(case_id, record, source=where)
            results = store.append(case_id, events, checker=checker, source=where, file=where)
        except ProcrulesError as exc:
            fail(exc, lang)
            counts["unreadable"] += 1
            continue
        counts["cases"] += 1
        counts["versions"] += int(put.created)
        for r in results:
            counts["duplicates" if r.duplicate else "appended"] += 1
            if r.notes:
                counts["noted"] += 1
                click.echo(f"{where}: $.events[{r.index}]: {', '.join(r.notes)}", err=True)
        touched.append(case_id)
    store.refresh(checker, when, touched)
    click.echo(_t("imported", lang, **counts))
    sys.exit(EXIT_CANNOT_JUDGE if counts["unreadable"] else EXIT_OK)


@cases.command()
@click.argument("case_id", metavar="ID")
@store_option
@as_of_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the case, its log and the report of CONTRACT.md under `result`.",
)
@lang_option
@processes_option
@calendar_option
def show(
    case_id: str,
    store_target: str | None,
    as_of: str | None,
    fmt: str,
    lang: str | None,
    processes: Path | None,
    calendar_file: Path | None,
) -> None:
    """Show a case: its report at --as-of (default now), computed from the whole log, and the log.

    Exit 0 when no finding is an error, 1 when one is, 2 when the case is not in the store or
    cannot be judged.
    """
    from .api import resolve_as_of
    from .report import render_text, to_json

    lang = lang or default_lang()
    checker = _checker(processes, calendar_file, lang)
    store = _open(store_target, lang)
    try:
        when = resolve_as_of(as_of)
        case = store.assemble(case_id)
        if case is None:
            raise CaseError.at(case_id, _t("unknown_case", "en", id=case_id), code="unknown_case")
        data = store.case_data(case_id)
        events = store.events(case_id)
        report = checker.check(case, when, file=f"case {case_id}") if data else None
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    if fmt == "json":
        out: dict[str, Any] = {
            "case_id": case_id,
            "data_version": data.version if data else 0,
            "events": [e.to_dict() for e in events],
            "result": report.to_dict(lang) if report else None,
            "spec": {"revision": checker.revision},
        }
        click.echo(to_json(out))
    else:
        if report is not None:
            click.echo(render_text(report, lang, click.style))
        else:
            click.echo(f"{case_id}: {_t('no_data', lang)}")
        click.echo("")
        click.echo(click.style(_t("events", lang), bold=True))
        for e in events:
            notes = f"  [{_t('notes', lang)}: {', '.join(e.notes)}]" if e.notes else ""
            click.echo(f"  #{e.seq:<6} {e.at:<26} {e.event}{notes}")
    if report is None:
        sys.exit(EXIT_CANNOT_JUDGE)
    sys.exit(EXIT_OK if report.ok else EXIT_FINDINGS)


@cases.command(name="list")
@click.option(
    "--status",
    type=click.Choice(
        ["breached", "at_risk", "running", "open", "closed", "invalid", "incomplete"]
    ),
    default=None,
    help="Only cases in this state (open = breached, at_risk or running).",
)
@click.option("--process", default=None, help="Only cases of this process.")
@click.option("--role", default=None, help="Only cases whose next step falls to this role.")
@click.option("--limit", type=click.IntRange(1, 100000), default=1000, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@store_option
@lang_option
def list_cases(
    status: str | None,
    process: str | None,
    role: str | None,
    limit: int,
    fmt: str,
    store_target: str | None,
    lang: str | None,
) -> None:
    """The worklist: cases by urgency (earliest due first), from the stored projections
    (refresh them with `procrules cases rebuild`)."""
    from .calendar import SHANGHAI
    from .report import to_json

    lang = lang or default_lang()
    store = _open(store_target, lang)
    try:
        page = store.worklist(status=status, process=process, role=role, limit=limit)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    if fmt == "json":
        click.echo(to_json([s.to_dict() for s in page.items]))
    else:
        if not page.items:
            click.echo(_t("none", lang))
        for s in page.items:
            due = s.next_due
            due_text = due.astimezone(SHANGHAI).isoformat(timespec="seconds") if due else "-"
            click.echo(
                f"{s.status:<11} {due_text:<26} {s.process or '-':<26} {s.case_id}"
                f"  {','.join(s.roles)}"
            )


@cases.command()
@store_option
@as_of_option
@click.option("--process", default=None, help="Only cases of this process.")
@click.option("--open-only", is_flag=True, help="Only cases whose last state had a running clock.")
@lang_option
@processes_option
@calendar_option
def rebuild(
    store_target: str | None,
    as_of: str | None,
    process: str | None,
    open_only: bool,
    lang: str | None,
    processes: Path | None,
    calendar_file: Path | None,
) -> None:
    """Recompute every case's state from its log (after a spec or calendar change)."""
    from .api import resolve_as_of

    lang = lang or default_lang()
    checker = _checker(processes, calendar_file, lang)
    try:
        when = resolve_as_of(as_of)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    store = _open(store_target, lang)
    summary = store.rebuild(checker, when, process=process, open_only=open_only)
    click.echo(
        _t(
            "rebuilt",
            lang,
            cases=summary.cases,
            seconds=summary.seconds,
            as_of=when.isoformat(timespec="seconds"),
        )
    )
    for status, n in sorted(summary.by_status.items()):
        click.echo(f"  {status}: {n}")
    click.echo(f"  spec revision: {checker.revision}")


@cases.command()
@store_option
@lang_option
def migrate(store_target: str | None, lang: str | None) -> None:
    """Create or upgrade the store's tables to the newest schema; prints its revision."""
    lang = lang or default_lang()
    store = _open(store_target, lang)
    click.echo(store.schema_revision())
