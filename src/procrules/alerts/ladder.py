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
from ..wording import clock_left, due_text
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
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


def fingerprint(labels: dict[str, str]) -> str:
    """A stable hash of the alert's identity: the same case, deadline and cycle, whatever level."""
    text = "\0".join(f"{k}={labels.get(k, '')}" for k in IDENTITY)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_STEPS: dict[int, tuple[Process, dict[str, tuple[str, str, Any]]]] = {}


def step_of(process: Process) -> dict[str, tuple[str, str, Any]]:
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
    limit = cond.working_days_left_at_most
    if limit is not None and left is not None and left <= limit:
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


def _iso(t: dt.datetime | None) -> str:
    return t.astimezone(SHANGHAI).isoformat(timespec="seconds") if t else ""


def _annotations(
    report: Report,
    clock: Clock,
    labels: dict[str, str],
    policy: AlertPolicy,
    step_label: Any,
    customer: dict[str, Any],
) -> dict[str, str]:
    """Plain strings, the keys the channels read (summary, due, overdue_by, ...), in Chinese;
    English twins where a person may read either."""
    process = report.process
    role = policy.recipient_names.get(labels["role"])
    left = clock.working_days_left
    reference = report.as_of
    said_zh = clock_left(clock, "zh") or ""
    said_en = clock_left(clock, "en") or ""
    breached = clock.status == "breached"
    over_zh, over_en = (said_zh, said_en) if breached else ("", "")
    left_zh, left_en = ("", "") if breached else (said_zh, said_en)
    due_zh = due_text(clock.due, "zh", reference) if clock.due else ""
    due_en = due_text(clock.due, "en", reference) if clock.due else ""
    who_zh = role.zh if role else labels["role"]
    who_en = role.en if role else labels["role"]
    case_id = labels["case_id"]
    tail_zh = f"，{said_zh}" if said_zh else ""
    tail_en = f", {said_en}" if said_en else ""
    return {
        "summary_zh": (
            f"{case_id} {process.label.zh}·{step_label.zh}（{who_zh}）期限 {due_zh}{tail_zh}"
        ),
        "summary_en": (
            f"{case_id} {process.label.en}: {step_label.en} ({who_en}) due {due_en}{tail_en}"
        ),
        "due": due_zh,
        "due_en": due_en,
        "due_at": _iso(clock.due),
        "done_at": _iso(clock.done),
        "overdue_by": over_zh,
        "overdue_by_en": over_en,
        "time_left": left_zh,
        "time_left_en": left_en,
        "working_days_left": "" if left is None else f"{left:g}",
        "customer": mask_name(str(customer.get("name", ""))),
        "link": policy.link.replace("{case_id}", case_id),
        "step_name": step_label.zh,
        "step_name_en": step_label.en,
        "role_name": who_zh,
        "role_name_en": who_en,
        "process_name": process.label.zh,
        "process_name_en": process.label.en,
        "deadline_name": clock.deadline.label.zh,
        "within": clock.deadline.duration.text,
    }


def assess(report: Report, policy: AlertPolicy, case: dict[str, Any] | None = None) -> list[Alert]:
    """Every started clock of the case as an alert, carded or green, open or done."""
    process = report.process
    steps = step_of(process)
    case = case or {}
    customer = case.get("customer") or {}
    if not isinstance(customer, dict):
        customer = {}
    facts = case.get("facts") or {}
    team_fact = facts.get("office")
    case_id = report.case_id or ""
    out: list[Alert] = []
    for clock in report.deadlines:
        if clock.status == "not_started":
            continue
        step, role, step_label = steps[clock.deadline.id]
        if role == "approver" and report.approvals:  # the step's approver, decided by the rules
            role = report.approvals[-1].approver
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
        annotations = _annotations(report, clock, labels, policy, step_label, customer)
        out.append(
            Alert(fingerprint(labels), labels, level, clock.status, clock.paused_now, annotations)
        )
    return out
