"""`procrules watch` and `procrules alerts ...`: the SLA watcher for cron, and silences.

Thin: reads options, opens the store and the policy, calls procrules.alerts, prints a summary.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from .errors import ProcrulesError, UsageError

# Registered on every start of `procrules`: the engine and the store are imported by the
# commands that use them, so that other commands start without them.

EXIT_OK, EXIT_CANNOT_JUDGE = 0, 2

_MSG: dict[str, tuple[str, str]] = {
    "pass": (
        "{as_of}: {cases} open cases ({unreadable} unreadable), {firing} cards firing; "
        "{recorded} notifications recorded, {deferred} waiting for the delivery window; "
        "sent {sent}, retrying {retried}, failed {failed} ({seconds:.2f} s)",
        "{as_of}：在办 {cases} 件（无法读取 {unreadable} 件），亮牌 {firing} 张；"
        "记录通知 {recorded} 条，{deferred} 条等待发送时段；"
        "已发送 {sent}，待重试 {retried}，失败 {failed}（{seconds:.2f} 秒）",
    ),
    "skipped": (
        "{as_of}: skipped, another pass holds the store's lock",
        "{as_of}：跳过，另一轮检查正在进行",
    ),
    "silence_added": ("silence {id} added, until {ends}", "已添加静默 {id}，至 {ends}"),
    "silence_expired": ("silence {id} expired", "静默 {id} 已失效"),
    "silence_unknown": ("no active silence '{id}'", "没有有效的静默 '{id}'"),
    "no_silences": ("no silences", "没有静默"),
    "no_alerts": ("no alerts", "没有预警"),
}


def _t(key: str, lang: str, **kw: Any) -> str:
    en, zh = _MSG[key]
    return (zh if lang == "zh" else en).format(**kw)


def _lang(lang: str | None) -> str:
    from .cli import default_lang

    return lang or default_lang()


def _fail(exc: ProcrulesError, lang: str) -> None:
    click.echo(exc.render(lang), err=True)
    sys.exit(EXIT_CANNOT_JUDGE)


def _open_store(target: str | None, lang: str = "en") -> Any:
    """The case store with the alert tables; an unreadable store is exit 2, never a traceback."""
    try:
        return _open(target)
    except ProcrulesError as exc:
        _fail(exc, lang)


def _open(target: str | None) -> Any:
    try:
        from .alerts.store import AlertStore
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise UsageError.at(
            "--store",
            f"the alert store needs the [server] extra: pip install 'procrules[server]' ({exc})",
        ) from None
    return AlertStore.open(target or "")


def _cases(paths: tuple[str, ...], store: Any) -> Iterable[dict[str, Any]]:
    """Open cases from case files, or else from the case store."""
    if paths:
        return _file_cases(paths)
    from .alerts.cases import StoreCases

    return StoreCases(store.engine)


def _file_cases(paths: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    from .cli import _iter_cases

    for _, data in _iter_cases(paths):
        if isinstance(data, ProcrulesError):  # said, and counted by the pass as unreadable
            click.echo(data.render(_lang(None)), err=True)
            yield {"case_id": None}
        elif isinstance(data, dict):
            yield data


def _lookup(store: Any) -> Any:
    """A case by id from the case store, for alerts whose case has left the open set."""
    from .store.eventlog import Store

    return Store(store.engine).assemble


def store_option(f: Any) -> Any:
    from .cli_cases import store_option as shared

    return shared(f)


def _watch_options(f: Any) -> Any:
    from .cli_options import as_of_option, calendar_option, lang_option, processes_option

    for option in (lang_option, calendar_option, processes_option, as_of_option):
        f = option(f)
    return f


@click.command()
@click.option("--once", is_flag=True, help="One pass, then exit (for cron).")
@click.option(
    "--interval",
    type=click.IntRange(5, 86400),
    default=60,
    show_default=True,
    help="Seconds between passes when not --once.",
)
@store_option
@click.option(
    "--cases",
    "case_paths",
    multiple=True,
    metavar="PATH",
    help="Judge these case files, folders or .jsonl instead of the store's open cases.",
)
@click.option(
    "--alerts",
    "alerts_file",
    type=click.Path(path_type=Path),
    default=None,
    help="The alerts policy (default: alerts.yaml in the specs folder, else the shipped one).",
)
@click.option("--no-send", is_flag=True, help="Record notifications in the outbox; send none.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Judge the cases in this many worker processes.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@_watch_options
def watch(
    once: bool,
    interval: int,
    store_target: str | None,
    case_paths: tuple[str, ...],
    alerts_file: Path | None,
    no_send: bool,
    jobs: int,
    fmt: str,
    as_of: str | None,
    processes: Path | None,
    calendar_file: Path | None,
    lang: str | None,
) -> None:
    """Judge every open case, raise and escalate cards (blue/yellow/red), tell people once.

    Each pass follows each alert's life (raised, escalated, resolved, silenced), groups them per
    recipient and level, and records in the store's outbox only what the notification log says
    is new or due again; then sends. Re-running a pass never repeats a message. Exit 0, or 2
    when the policy or the store cannot be read or a case could not be judged (it is named).
    """
    from .api import resolve_as_of

    lang = _lang(lang)
    try:
        watcher = _watcher(processes, calendar_file, alerts_file, store_target)
        watcher.jobs = jobs
        watcher.source = (
            str(processes) if processes else None,
            str(calendar_file) if calendar_file else None,
        )
        fixed = resolve_as_of(as_of) if as_of else None
    except ProcrulesError as exc:
        _fail(exc, lang)
        return
    while True:
        now = fixed or resolve_as_of(None)
        result = watcher.run_once(
            _cases(case_paths, watcher.store), now, send=not no_send, lookup=_lookup(watcher.store)
        )
        _print_pass(result, fmt, lang)
        if once or fixed:
            sys.exit(EXIT_CANNOT_JUDGE if result.unreadable else EXIT_OK)
        time.sleep(interval)


def _watcher(
    processes: Path | None,
    calendar_file: Path | None,
    alerts_file: Path | None,
    store: str | None,
) -> Any:
    from .alerts.delivery import build_channels
    from .alerts.policy import load_alert_policy
    from .alerts.watcher import Watcher
    from .api import Checker
    from .spec.compile import shipped_processes_dir

    checker = Checker.load(processes, calendar_file)
    policy = load_alert_policy(checker.specs, alerts_file)
    shipped = Path(policy.file).parent.resolve() == shipped_processes_dir().resolve()
    base = Path.cwd() if shipped else Path(policy.file).parent
    channels = build_channels(policy.channels, base_dir=base, file=policy.file)
    return Watcher(checker, policy, _open(store), channels)


def _print_pass(result: Any, fmt: str, lang: str) -> None:
    if result.skipped:
        text = _t("skipped", lang, as_of=result.as_of.isoformat(timespec="seconds"))
        click.echo(json.dumps({"skipped": True}) if fmt == "json" else text)
        return
    d = result.delivery
    summary = {
        "as_of": result.as_of.isoformat(timespec="seconds"),
        "cases": result.cases,
        "unreadable": result.unreadable,
        "firing": result.firing,
        "transitions": result.transitions,
        "recorded": result.recorded,
        "deferred": result.deferred,
        "sent": d.sent,
        "retried": d.retried,
        "failed": d.failed,
        "rate_limited": d.rate_limited,
        "digests": d.digests,
        "seconds": round(result.seconds, 3),
    }
    if fmt == "json":
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(
        _t(
            "pass",
            lang,
            as_of=summary["as_of"],
            cases=result.cases,
            unreadable=result.unreadable,
            firing=result.firing,
            recorded=len(result.recorded),
            deferred=result.deferred,
            sent=sum(d.sent.values()),
            retried=sum(d.retried.values()),
            failed=sum(d.failed.values()),
            seconds=result.seconds,
        )
    )


# -- alerts ----------------------------------------------------------------------------------


@click.group(name="alerts")
def alerts_group() -> None:
    """Alerts in the store: list them, and set, list or expire silences."""


@alerts_group.command(name="list")
@store_option
@click.option(
    "--state",
    type=click.Choice(["active", "firing", "silenced", "inhibited", "resolved"]),
    default="active",
    show_default=True,
)
@click.option("--case", "case_id", default=None, help="Only this case.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def alerts_list(
    store_target: str | None, state: str, case_id: str | None, fmt: str, lang: str | None
) -> None:
    """The alerts in the store (default: those not resolved)."""
    lang = _lang(lang)
    rows = _open_store(store_target, lang).query_alerts(state=state, case_id=case_id)
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo(_t("no_alerts", lang))
    for r in rows:
        key = "summary_zh" if lang == "zh" else "summary_en"
        click.echo(f"{r['level'] or '-':<7}{r['state']:<10}{r['annotations'].get(key, '')}")


@alerts_group.group(name="silence")
def silence_group() -> None:
    """Silences: matchers (label=value, alternatives with |), a time span, who and why."""


@silence_group.command(name="add")
@click.argument("matchers", nargs=-1, required=True, metavar="LABEL=VALUE...")
@click.option("--by", "created_by", required=True, help="Who sets it.")
@click.option("--comment", required=True, help="Why.")
@click.option("--starts", default=None, metavar="TIME", help="Default: now (or --as-of).")
@click.option("--ends", default=None, metavar="TIME", help="End time (ISO 8601).")
@click.option("--duration", "hours", type=float, default=None, help="Or: hours from the start.")
@click.option("--as-of", "as_of", default=None, metavar="TIME", help="Take this as now.")
@store_option
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def silence_add(
    matchers: tuple[str, ...],
    created_by: str,
    comment: str,
    starts: str | None,
    ends: str | None,
    hours: float | None,
    as_of: str | None,
    store_target: str | None,
    lang: str | None,
) -> None:
    """Silence the alerts whose labels match, e.g. `case_id=NC-2026-0001 level=yellow|blue`."""
    from .alerts.routing import Silence, parse_matchers
    from .api import resolve_as_of

    lang = _lang(lang)
    try:
        now = resolve_as_of(as_of)
        start = resolve_as_of(starts) if starts else now
        try:
            parsed = parse_matchers(matchers)
        except ValueError as exc:
            raise UsageError.at("MATCHERS", str(exc)) from None
        if ends:
            end = resolve_as_of(ends)
        elif hours is not None:
            end = start + dt.timedelta(hours=hours)
        else:
            raise UsageError.at("--ends", "a silence needs --ends TIME or --duration HOURS")
        if end <= start:
            raise UsageError.at("--ends", "the silence ends before it starts")
    except ProcrulesError as exc:
        _fail(exc, lang)
        return
    import secrets

    silence = Silence(secrets.token_hex(6), parsed, start, end, created_by, comment)
    _open_store(store_target, lang).add_silence(silence, now)
    click.echo(_t("silence_added", lang, id=silence.id, ends=end.isoformat(timespec="minutes")))


@silence_group.command(name="list")
@store_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def silence_list(store_target: str | None, fmt: str, lang: str | None) -> None:
    """Every silence, active or not."""
    lang = _lang(lang)
    rows = _open_store(store_target, lang).silences()
    out = [
        {
            "id": s.id,
            "matchers": {k: sorted(v) for k, v in s.matchers.items},
            "starts_at": s.starts_at.isoformat(),
            "ends_at": s.ends_at.isoformat(),
            "created_by": s.created_by,
            "comment": s.comment,
        }
        for s in rows
    ]
    if fmt == "json":
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    if not out:
        click.echo(_t("no_silences", lang))
    for s in out:
        m = " ".join(f"{k}={'|'.join(v)}" for k, v in s["matchers"].items())
        click.echo(
            f"{s['id']}  {s['starts_at']} .. {s['ends_at']}  {m}  {s['created_by']}: {s['comment']}"
        )


@silence_group.command(name="expire")
@click.argument("silence_id")
@click.option("--as-of", "as_of", default=None, metavar="TIME", help="Take this as now.")
@store_option
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def silence_expire(
    silence_id: str, as_of: str | None, store_target: str | None, lang: str | None
) -> None:
    """End a silence now."""
    from .api import resolve_as_of

    lang = _lang(lang)
    try:
        now = resolve_as_of(as_of)
    except ProcrulesError as exc:
        _fail(exc, lang)
        return
    if not _open_store(store_target, lang).expire_silence(silence_id, now):
        click.echo(_t("silence_unknown", lang, id=silence_id), err=True)
        sys.exit(EXIT_CANNOT_JUDGE)
    click.echo(_t("silence_expired", lang, id=silence_id))
