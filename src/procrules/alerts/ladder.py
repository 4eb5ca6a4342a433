"""From a case's report to alert instances: one per started clock, with its level on the ladder.

Pure: a report and the policy in, alerts out; no clock, no store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..calendar import SHANGHAI
from ..engine import Report
from ..sla import Clock
from ..spec.model import Process
from .policy import AlertPolicy, Condition

IDENTITY = ("process", "case_id", "rule", "deadline", "cycle")
OPEN_STATUSES = ("running", "at_risk", "breached")


@dataclass(frozen=True)
class Alert:
    """One deadline cycle of one case as an alert. `level` None means green (no card)."""

    fingerprint: str
    labels: dict[str, str]  # identity labels, step, role, team; `level` added when carded
    level: str | None
    status: str  # the clock's status: running | at_risk | breached | met | late
    paused: bool = False
    annotations: dict[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


def fingerprint(labels: dict[str, str]) -> str:
    """A stable hash of the alert's identity: the same case, deadline and cycle, whatever level."""
    text = "\0".join(f"{k}={labels.get(k, '')}" for k in IDENTITY)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_STEPS: dict[int, tuple[Process, dict[str, tuple[str, str, Any]]]] = {}


def _step_of(process: Process) -> dict[str, tuple[str, str, Any]]:
    """deadline id -> (step id, role, step label): the step whose event stops the clock."""
    known = _STEPS.get(id(process))
    if known is not None and known[0] is process:
        return known[1]
    out: dict[str, tuple[str, str, Any]] = {}
    for deadline in process.deadlines:
        for step in process.steps:
            if step.event in deadline.stop:
                out[deadline.id] = (step.id, step.roles[0] if step.roles else "", step.label)
                break
        else:
            out[deadline.id] = (deadline.id, "", deadline.label)
    _STEPS[id(process)] = (process, out)
    return out


def _holds(cond: Condition, clock: Clock, step_limit: bool) -> bool:
    if cond.breached is not None and clock.status == "breached":
        kind = "step" if step_limit else "committed"
        if cond.breached in ("any", kind):
            return True
    left = clock.working_days_left
    if cond.working_days_left_at_most is not None and left is not None:
        if left <= cond.working_days_left_at_most:
            return True
    if cond.used_at_least is not None:
        used = 1.0 if clock.status == "breached" else (clock.elapsed_share or 0.0)
        if used >= cond.used_at_least:
            return True
    return False


def level_of(clock: Clock, policy: AlertPolicy, process_id: str) -> str | None:
    if clock.status not in OPEN_STATUSES:
        return None
    step_limit = clock.deadline.rule in policy.step_limits.get(process_id, frozenset())
    for level in policy.levels:
        if _holds(level.when, clock, step_limit):
            return level.level
    return None


def mask_name(name: str) -> str:
    """王芳 -> 王*, 欧阳娜娜 -> 欧阳**: the family name only (PIPL)."""
    if not name:
        return ""
    keep = 2 if len(name) >= 4 else 1
    return name[:keep] + "*" * (len(name) - keep)


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(SHANGHAI).isoformat(timespec="seconds") if t else None


def assess(report: Report, policy: AlertPolicy, case: dict[str, Any] | None = None) -> list[Alert]:
    """Every started clock of the case as an alert, carded or green, open or done."""
    process = report.process
    steps = _step_of(process)
    case = case or {}
    customer = case.get("customer") or {}
    facts = case.get("facts") or {}
    team_fact = facts.get("office")
    case_id = report.case_id or ""
    out: list[Alert] = []
    for clock in report.deadlines:
        if clock.status == "not_started":
            continue
        step, role, step_label = steps[clock.deadline.id]
        labels = {
            "process": process.id,
            "case_id": case_id,
            "rule": clock.deadline.rule,
            "deadline": clock.deadline.id,
            "cycle": str(clock.cycle),
            "step": step,
            "role": role,
            "team": str(team_fact) if isinstance(team_fact, str) and team_fact else role,
        }
        level = level_of(clock, policy, process.id)
        if level is not None:
            labels["level"] = level
        annotations: dict[str, Any] = {
            "process_name": {"zh": process.label.zh, "en": process.label.en},
            "step_name": {"zh": step_label.zh, "en": step_label.en},
            "deadline_name": {"zh": clock.deadline.label.zh, "en": clock.deadline.label.en},
            "within": clock.deadline.duration.text,
            "due": _iso(clock.due),
            "done": _iso(clock.done),
            "working_days_left": clock.working_days_left,
            "hours_left": clock.hours_left,
            "customer": mask_name(str(customer.get("name", ""))),
            "link": policy.link.replace("{case_id}", case_id),
        }
        out.append(
            Alert(fingerprint(labels), labels, level, clock.status, clock.paused_now, annotations)
        )
    return out
