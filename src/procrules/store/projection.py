"""A case's state, projected from its log: the report of the core, summed up for worklists.

Pure: takes the assembled case, a Checker and as_of; never touches the database or the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ProcrulesError

if TYPE_CHECKING:
    from ..api import Checker
    from ..engine import Report

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICRO = dt.timedelta(microseconds=1)
OPEN = ("breached", "at_risk", "running")
# The status of a case is the most urgent status of its deadlines, in this order.
URGENCY = ("breached", "at_risk", "running")
STATUSES = ("breached", "at_risk", "running", "closed", "invalid", "incomplete")


@dataclass(frozen=True)
class CaseState:
    """One case's projected state.

    status: breached | at_risk | running (the most urgent running deadline), closed (no deadline
    running), invalid (the case does not validate: see summary.problems), incomplete (events but
    no case data yet).
    """

    case_id: str
    process: str | None
    status: str
    ok: bool | None
    open: bool
    next_due_us: int | None
    roles: tuple[str, ...]
    data_version: int
    last_seq: int
    as_of_us: int
    spec_revision: str
    calendar_version: str
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def next_due(self) -> dt.datetime | None:
        return None if self.next_due_us is None else EPOCH + self.next_due_us * MICRO

    @property
    def as_of(self) -> dt.datetime:
        return EPOCH + self.as_of_us * MICRO

    def row(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "process": self.process,
            "status": self.status,
            "ok": self.ok,
            "open": self.open,
            "next_due_us": self.next_due_us,
            "roles": "," + ",".join(self.roles) + "," if self.roles else "",
            "data_version": self.data_version,
            "last_seq": self.last_seq,
            "as_of_us": self.as_of_us,
            "spec_revision": self.spec_revision,
            "calendar_version": self.calendar_version,
            "summary": self.summary,
        }

    def to_dict(self) -> dict[str, Any]:
        due = self.next_due
        return {
            "case_id": self.case_id,
            "process": self.process,
            "status": self.status,
            "ok": self.ok,
            "next_due": due.isoformat(timespec="seconds") if due else None,
            "roles": list(self.roles),
            "data_version": self.data_version,
            "last_seq": self.last_seq,
            "projected_as_of": self.as_of.isoformat(timespec="seconds"),
            "spec_revision": self.spec_revision,
            "calendar_version": self.calendar_version,
            **self.summary,
        }


def _us(t: dt.datetime) -> int:
    return (t - EPOCH) // MICRO


def status_of(report: Report) -> str:
    statuses = {c.status for c in report.deadlines}
    for status in URGENCY:
        if status in statuses:
            return status
    return "closed"


def roles_owing(report: Report) -> tuple[str, ...]:
    """The roles of the steps that stop a running deadline: who has the next move."""
    stops = {e for c in report.deadlines if c.status in OPEN for e in c.deadline.stop}
    roles: dict[str, None] = {}
    for step in report.process.steps:
        if step.event in stops:
            roles.update(dict.fromkeys(step.roles))
    return tuple(roles)


def project(
    case_id: str,
    case: dict[str, Any] | None,
    data_version: int,
    last_seq: int,
    process: str | None,
    checker: Checker,
    as_of: dt.datetime,
) -> CaseState:
    """The state of one case at as_of; a case that cannot be judged is kept, as invalid."""
    base = {
        "case_id": case_id,
        "data_version": data_version,
        "last_seq": last_seq,
        "as_of_us": _us(as_of),
        "spec_revision": checker.revision,
        "calendar_version": checker.calendar.version,
    }
    if case is None:
        return CaseState(
            process=process,
            status="incomplete",
            ok=None,
            open=False,
            next_due_us=None,
            roles=(),
            summary={"problems": [{"code": "no_case_data", "path": "$"}]},
            **base,  # type: ignore[arg-type]
        )
    try:
        report = checker.check(case, as_of, file=f"case {case_id}")
    except ProcrulesError as exc:
        return CaseState(
            process=process,
            status="invalid",
            ok=None,
            open=False,
            next_due_us=None,
            roles=(),
            summary={
                "problems": [
                    {"code": p.code, "path": p.path, "message": p.message}
                    for p in exc.problems[:20]
                ]
            },
            **base,  # type: ignore[arg-type]
        )
    status = status_of(report)
    running = [c.due for c in report.deadlines if c.status in OPEN and c.due is not None]
    return CaseState(
        process=report.process.id,
        status=status,
        ok=report.ok,
        open=status in OPEN,
        next_due_us=_us(min(running)) if running else None,
        roles=roles_owing(report),
        summary={
            "process_version": report.process.version,
            "findings": sorted({f.code for f in report.findings}),
            "deadlines": [
                {
                    "rule": c.deadline.rule,
                    "id": c.deadline.id,
                    "status": c.status,
                    "due": c.due.isoformat(timespec="seconds") if c.due else None,
                }
                for c in report.deadlines
                if c.status != "not_started"
            ],
        },
        **base,  # type: ignore[arg-type]
    )
