"""Judging many cases: one pure, picklable entry point (`check_batch`) that every batch and every
parallel path uses (the CLI's `--jobs`, the Dask adapter, Spark's mapInPandas).

A batch is a list of records (raw JSON bytes or text, or a parsed case, each with its source); the
answer is one plain, picklable outcome per record, in order: a result, or an error record that
names the source, line and reason. One bad record never stops the others. The policy travels as a
small description (`Policy`: folder, calendar file, revision) and is loaded once per process.
Reads no clock and writes nothing; reading the policy files is its only I/O.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import CaseError, Problem, ProcrulesError

if TYPE_CHECKING:
    from .api import Checker
    from .engine import Report
    from .limits import Limits

VIEWS = ("report", "alerts", "facets")
ALERT_STATUSES = ("at_risk", "breached")
# `sla`'s order: breached first, then cases with an unknown event, then at risk
URGENCY = {"breached": 0, "unknown_event": 1}


class Record(NamedTuple):
    """One input: `raw` JSON (bytes are decoded strictly as UTF-8), or already parsed `data`, or
    the `error` met while reading it. `source` names it: a file, or file:line for JSON Lines."""

    source: str
    raw: bytes | str | None = None
    data: Any = None
    error: Problem | None = None
    line: int = 0  # the line number, for a line of a JSON Lines file (source: FILE:LINE)


@dataclass(frozen=True)
class Policy:
    """A picklable description of a policy: where its files are and the revision they had when it
    was described. Loaded once per process; a policy edited during the run is refused rather
    than mixed with the old one."""

    processes: str | None = None  # with `files`: the folder they were bundled from
    calendar: str | None = None
    revision: str | None = None
    # The policy files themselves (name, bytes), for machines that do not share the folder
    # (a cluster's workers): see `bundled`. Empty when the folder is read in place.
    files: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, processes: str | Path | None = None, calendar: str | Path | None = None) -> Policy:
        """Describe (and load, so that its revision is known) the policy of these files. The
        description names the folder in full; `checker()` in this process gives the policy as
        it was loaded here (its folder as written, and how it was found)."""
        checker = _load(cls(None if processes is None else str(processes), _text(calendar)))
        described = cls(str(checker.specs.folder.resolve()), _text(calendar), checker.revision)
        with _LOCK:
            _LOADED.setdefault((described, checker.limits), checker)
        return described

    def bundled(self) -> Policy:
        """The same policy carrying its files (every top-level *.yaml of the folder, and the
        calendar override): a worker without the folder writes them to a private temporary
        folder named by the revision, once, and loads them from there (about 100 KB)."""
        checker = _load(self)
        files = [(p.name, p.read_bytes()) for p in sorted(checker.specs.folder.glob("*.yaml"))]
        calendar = None
        if self.calendar is not None and Path(self.calendar).name not in dict(files):
            files.append((f"override-{Path(self.calendar).name}", Path(self.calendar).read_bytes()))
            calendar = files[-1][0]
        elif self.calendar is not None:
            calendar = Path(self.calendar).name
        origin = self.processes or str(checker.specs.folder.resolve())
        return Policy(origin, calendar, checker.revision, tuple(files))

    def checker(self) -> Checker:
        return _load(self)


def _text(path: str | Path | None) -> str | None:
    return None if path is None else str(Path(path).resolve())


# Loaded policies, by description and the limits of this process's environment
# (PROCRULES_MAX_*, which workers inherit): a checker judges with the limits it was built with.
_LOADED: dict[tuple[Policy, Limits], Checker] = {}
_LOCK = threading.Lock()


def _load(policy: Policy) -> Checker:
    from .api import Checker
    from .limits import Limits

    limits = Limits.from_env()
    with _LOCK:
        checker = _LOADED.get((policy, limits))
        if checker is None:
            if policy.files:
                folder = _unpack(policy)
                calendar = str(folder / policy.calendar) if policy.calendar else None
                loaded = Checker.load(folder, calendar, limits)
                checker = _as_from(loaded, policy.processes)
            else:
                checker = Checker.load(policy.processes, policy.calendar, limits)
            if policy.revision is not None and checker.revision != policy.revision:
                raise ProcrulesError.at(
                    policy.processes or "<policy>",
                    f"the policy changed during the run (revision {checker.revision}, "
                    f"expected {policy.revision}); run again",
                    code="policy_changed",
                )
            _LOADED[(policy, limits)] = checker
        return checker


def _as_from(checker: Checker, origin: str | None) -> Checker:
    """A checker loaded from a bundle's private copy, naming the folder the bundle was made from
    (reports give it as `policy_folder`; the revision proves the content is the same)."""
    if origin is None:
        return checker
    from dataclasses import replace

    from .api import Checker
    from .policy import PolicyFolder

    specs = replace(checker.specs, folder=Path(origin))
    return Checker(specs, checker.calendar, PolicyFolder(Path(origin), "option"), checker.limits)


def _unpack(policy: Policy) -> Path:
    """Write a bundled policy's files to a temporary folder named by its revision (once)."""
    import os
    import tempfile

    name = "".join(c if c.isalnum() else "-" for c in policy.revision or "none")
    folder = Path(tempfile.gettempdir()) / f"procrules-policy-{name}-{os.getuid()}"
    if not folder.is_dir():
        partial = Path(tempfile.mkdtemp(prefix="procrules-policy-"))
        for name, data in policy.files:
            (partial / Path(name).name).write_bytes(data)
        try:
            partial.rename(folder)
        except OSError:  # another process on this machine was first: use its copy
            import shutil

            shutil.rmtree(partial, ignore_errors=True)
    return folder


def error_record(source: str, problems: Sequence[Problem], line: int = 0) -> dict[str, Any]:
    """The outcome of an input that could not be judged: where, and why (first problem first).
    For line `line` of a JSON Lines file (`source` is then FILE:LINE), the place is that file
    and line, and the column within the line."""
    first = problems[0]
    file, row = first.file, first.line
    if line and first.file == source:
        file, row = source.rsplit(":", 1)[0], line
    return {
        "source": source,
        "error": {
            "code": first.code,
            "message": first.message,
            "file": file,
            "line": row,
            "column": first.column,
            "path": first.path,
            "problems": len(problems),
        },
    }


def check_batch(
    records: Iterable[Record | tuple[str, Any]],
    as_of: dt.datetime,
    policy: Policy,
    *,
    view: str = "report",
    lang: str = "en",
    words: bool = False,
) -> list[dict[str, Any]]:
    """Judge each record on its own; one outcome per record, in order.

    `view` chooses what a result holds: `report` (the JSON report of CONTRACT.md), `alerts` (the
    deadlines at risk or breached, with a count by status: what `procrules sla` prints) or
    `facets` (what `procrules diff` compares). Every result has `source`, `case_id`, `process`
    and `ok`; an error record has `source` and `error` instead. With `words`, each alert of a
    deadline also has `text`: its due time and time left as people write them, in `lang`.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}")
    from .api import accept_case, validate_case

    try:
        checker = policy.checker()
        engine = checker.engine
    except ProcrulesError as exc:
        return [error_record(Record(*r).source, exc.problems) for r in records]
    out: list[dict[str, Any]] = []
    for item in records:
        record = item if isinstance(item, Record) else Record(*item)
        try:
            if record.raw is None and record.error is None:  # parsed data: read in one pass
                case = accept_case(record.data, record.source, checker.limits)
            else:
                case = validate_case(
                    parse_record(record, checker.limits), record.source, checker.limits
                )
            report = engine.check(case, as_of, record.source)
        except ProcrulesError as exc:
            out.append(error_record(record.source, exc.problems, record.line))
            continue
        except Exception as exc:  # noqa: BLE001 - one input's crash must not lose the others
            message = f"could not judge: {type(exc).__name__}: {exc}"[:300]
            out.append(
                error_record(
                    record.source, [Problem(record.source, 0, 0, "crash", message)], record.line
                )
            )
            continue
        out.append(_view(report, record.source, view, lang, checker, words))
    return out


def parse_record(record: Record, limits: Limits | None = None) -> Any:
    """A record's case: its parsed `data` (checked against `limits`), or its raw JSON parsed
    strictly and within `limits` (bytes strictly as UTF-8); raises CaseError for the error met
    while reading it, or for bad bytes or JSON. `limits`: default Limits.from_env()."""
    from .limits import Limits

    limits = limits or Limits.from_env()
    if record.error is not None:
        raise CaseError([record.error])
    if record.raw is None:
        from .source import check_json_value

        check_json_value(record.data, record.source, limits)
        return record.data
    return _parse(record, limits)


def _parse(record: Record, limits: Limits) -> Any:
    from .source import parse_json

    raw = record.raw
    if isinstance(raw, bytes):
        raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte order mark, as parse_json allows
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CaseError.at(
                record.source,
                f"not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} of the line",
                code="bad_bytes",
            ) from None
    # a line is bounded when read (limits.line_bytes), a file by limits.case_bytes
    bound = max(limits.case_bytes, limits.line_bytes + 1)
    return parse_json(raw or "", record.source, limits, max_bytes=bound)


def _view(
    report: Report, source: str, view: str, lang: str, checker: Checker, words: bool = False
) -> dict[str, Any]:
    head: dict[str, Any] = {
        "source": source,
        "case_id": report.case_id,
        "process": report.process.id,
        "ok": report.ok,
    }
    if view == "report":
        from .report import report_to_dict

        head["report"] = report_to_dict(report, lang)
    elif view == "alerts":
        statuses: dict[str, int] = {}
        alerts: list[dict[str, Any]] = []
        for finding in report.findings:  # its deadlines may sit unseen at not_started
            if finding.code != "unknown_event":
                continue
            statuses["unknown_event"] = statuses.get("unknown_event", 0) + 1
            alerts.append(
                {
                    "case_id": report.case_id,
                    "source": source,
                    "process": report.process.id,
                    "rule": None,
                    "deadline": None,
                    "name": finding.message.get(lang),
                    "status": "unknown_event",
                    "event": finding.extra.get("event"),
                    "suggestion": finding.extra.get("suggestion"),
                    "due": None,
                    "working_days_left": None,
                    "hours_left": None,
                }
            )
        for clock in report.deadlines:
            statuses[clock.status] = statuses.get(clock.status, 0) + 1
            if clock.status in ALERT_STATUSES:
                alerts.append(
                    {
                        "case_id": report.case_id,
                        "source": source,
                        "process": report.process.id,
                        "rule": clock.deadline.rule,
                        "deadline": clock.deadline.id,
                        "name": clock.deadline.label.get(lang),
                        "status": clock.status,
                        "due": clock.due.isoformat(timespec="seconds") if clock.due else None,
                        "working_days_left": clock.working_days_left,
                        "hours_left": clock.hours_left,
                    }
                )
                if words and clock.due is not None:
                    alerts[-1]["text"] = _due_words(clock, lang, report.as_of)
        head["statuses"] = statuses
        head["alerts"] = alerts
    else:
        from .diff import facets

        head["version"] = report.process.version
        head["facets"] = facets(report, checker.specs.catalog.documents)
    return head


def _due_words(clock: Any, lang: str, as_of: dt.datetime) -> str:
    """A clock's due time and time left, for people: 10月13日（周二）17:00（剩余1个工作日）."""
    from .wording import clock_left, due_text

    left = clock_left(clock, lang)
    return due_text(clock.due, lang, as_of) + (f"（{left}）" if lang == "zh" else f"  ({left})")


def outcome_row(outcome: dict[str, Any]) -> dict[str, Any]:
    """An outcome as one flat row of scalars (for a data frame: Dask, pandas, Spark): source,
    case_id, process, ok, error_code, error (the message) and result (the rest, as JSON text)."""
    import json

    error = outcome.get("error")
    rest = {k: v for k, v in outcome.items() if k not in ("source", "case_id", "process", "ok")}
    return {
        "source": outcome["source"],
        "case_id": outcome.get("case_id"),
        "process": outcome.get("process"),
        "ok": outcome.get("ok"),
        "error_code": error["code"] if error else None,
        "error": error["message"] if error else None,
        "result": None if error else json.dumps(rest, ensure_ascii=False, default=str),
    }


ROW_COLUMNS = ("source", "case_id", "process", "ok", "error_code", "error", "result")


def diff_batch(
    records: Sequence[Record | tuple[str, Any]],
    as_of: dt.datetime,
    old: Policy,
    new: Policy,
    lang: str = "en",
) -> list[dict[str, Any]]:
    """Judge each record under two policies (`check_batch` twice) and compare: one outcome per
    record, with `changes` (empty when nothing moves) and `described` (the same changes in
    words, in `lang`), or the error record of either side."""
    from .diff import compare_facets, describe_facets

    out: list[dict[str, Any]] = []
    before = check_batch(records, as_of, old, view="facets")
    after = check_batch(records, as_of, new, view="facets")
    for a, b in zip(before, after, strict=True):
        if "error" in a or "error" in b:
            out.append(a if "error" in a else b)
            continue
        facets = (a["facets"], b["facets"], a["version"], b["version"])
        changes = compare_facets(*facets)
        out.append(
            {
                "source": a["source"],
                "case_id": a["case_id"],
                "process": a["process"],
                "ok": b["ok"],
                "changes": changes,
                "described": describe_facets(*facets, lang) if changes else [],
            }
        )
    return out
