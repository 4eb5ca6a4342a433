"""Render a Report as the contract's JSON or as text for a person at the counter.

Formats only: everything decided here was decided by the engine.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Report
    from .sla import Clock
    from .spec.model import Duration


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t else None


def clock_to_dict(clock: Clock, lang: str) -> dict[str, Any]:
    d = clock.deadline
    out: dict[str, Any] = {
        "rule": d.rule,
        "id": d.id,
        "name": d.label.get(lang),
        "within": d.duration.text,
        "start": _iso(clock.start),
        "due": _iso(clock.due),
        "done": _iso(clock.done),
        "status": clock.status,
        "cycle": clock.cycle,
    }
    if clock.working_days_left is not None:
        out["working_days_left"] = clock.working_days_left
        out["hours_left"] = clock.hours_left
    if clock.paused:
        out["paused"] = [[_iso(a), _iso(b)] for a, b in clock.paused]
    if clock.paused_now:
        out["paused_now"] = True
    if clock.due is not None:
        out["provisional"] = clock.provisional
    return out


def report_to_dict(report: Report, lang: str = "en") -> dict[str, Any]:
    p = report.process
    return {
        "case_id": report.case_id,
        "process": p.id,
        "process_version": p.version,
        "as_of": _iso(report.as_of),
        "ok": report.ok,
        "missing_documents": list(report.missing_documents),
        "findings": [
            {
                "code": f.code,
                "severity": f.severity,
                "rule": f.rule,
                "message": f.message.get(lang),
                **f.extra,
            }
            for f in report.findings
        ],
        "approvals": [
            {"rule": a.rule, "approver": a.approver, "name": a.label.get(lang)}
            for a in report.approvals
        ],
        "amounts": [
            {
                "rule": a.rule,
                "name": a.name,
                "label": a.label.get(lang),
                "amount": str(a.amount),
                "currency": a.currency,
            }
            for a in report.amounts
        ],
        "deadlines": [clock_to_dict(c, lang) for c in report.deadlines],
        "calendar_version": report.calendar_version,
        "policy_folder": report.policy_folder,
        "policy_revision": report.policy_revision,
    }


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


_T = {
    "ok": {"zh": "可以办理", "en": "OK to proceed"},
    "blocked": {"zh": "不能办理", "en": "Cannot proceed"},
    "missing": {
        "zh": "缺少资料（请一次性告知用户）",
        "en": "Missing documents (tell the customer all at once)",
    },
    "blockers": {"zh": "阻止办理", "en": "Blocking"},
    "warnings": {"zh": "提醒", "en": "Warnings"},
    "approvals": {"zh": "审批", "en": "Approvals"},
    "amounts": {"zh": "应缴金额", "en": "Amounts owed"},
    "deadlines": {"zh": "时限", "en": "Deadlines"},
    "none": {"zh": "无", "en": "none"},
    "due": {"zh": "期限", "en": "due"},
    "done": {"zh": "完成", "en": "done"},
    "calendar": {"zh": "日历", "en": "calendar"},
    "as_of": {"zh": "判定时间", "en": "as of"},
    "not_started": {"zh": "未开始", "en": "not started"},
    "running": {"zh": "进行中", "en": "running"},
    "at_risk": {"zh": "即将超期", "en": "at risk"},
    "breached": {"zh": "已超期", "en": "breached"},
    "met": {"zh": "按时完成", "en": "met"},
    "late": {"zh": "逾期完成", "en": "late"},
}
_STATUS_COLOUR = {"breached": "red", "at_risk": "yellow", "late": "yellow", "met": "green"}


def t(key: str, lang: str) -> str:
    return _T[key][lang]


_DURATIONS = {
    "working_days": ("within {n} working days", "{n}个工作日内"),
    "working_hours": ("within {n} working hours", "{n}个工作小时内"),
    "calendar_days": ("within {n} days", "{n}日内"),
    "weeks": ("within {n} weeks", "{n}周内"),
    "months": ("within {n} months", "{n}个月内"),
    "hours": ("within {n} hours", "{n}小时内"),
    "end_of_month": ("by the end of the month", "当月月底前"),
    "same_day": ("the same day", "当天"),
    "same_day_cutoff": (
        "the same day before {t} (after it, the next working day)",
        "当天{t}前（之后为次一工作日{t}前）",
    ),
}


def duration_text(duration: Duration, lang: str) -> str:
    """A spec's `within`, said in the reader's language: 7个工作日内 / within 7 working days."""
    en, zh = _DURATIONS[duration.kind]
    cutoff = duration.cutoff.strftime("%H:%M") if duration.cutoff else ""
    return (zh if lang == "zh" else en).format(n=duration.amount, t=cutoff)


def render_text(report: Report, lang: str, style: Any = None) -> str:
    """The verdict first, then everything missing in one list, blockers, approvals, money, time."""
    paint = style or (lambda text, **_: text)
    p = report.process
    lines = []
    verdict = t("ok", lang) if report.ok else t("blocked", lang)
    head = f"{report.case_id or '-'}  {p.label.get(lang)} ({p.id} {p.version})"
    lines.append(
        paint(
            f"{'✔' if report.ok else '✘'} {verdict}", fg="green" if report.ok else "red", bold=True
        )
        + f"  {head}"
    )
    lines.append(f"  {t('as_of', lang)}: {_iso(report.as_of)}")
    errors = [f for f in report.findings if f.severity == "error" and f.code != "missing_document"]
    warns = [f for f in report.findings if f.severity != "error"]
    missing = [f for f in report.findings if f.code == "missing_document"]
    if missing:
        lines.append("")
        lines.append(paint(t("missing", lang), bold=True))
        for i, f in enumerate(missing, 1):
            lines.append(
                f"  {i}. {f.message.get(lang).split('：' if lang == 'zh' else ': ', 1)[-1]}"
                f"  [{f.rule}]"
            )
    for title, items, colour in (("blockers", errors, "red"), ("warnings", warns, "yellow")):
        if items:
            lines.append("")
            lines.append(paint(t(title, lang), bold=True))
            for f in items:
                rule = f"  [{f.rule}]" if f.rule else ""
                lines.append(f"  - {paint(f.code, fg=colour)}: {f.message.get(lang)}{rule}")
    lines.append("")
    lines.append(paint(t("approvals", lang), bold=True))
    if not report.approvals:
        lines.append(f"  {t('none', lang)}")
    for a in report.approvals:
        lines.append(f"  - {a.label.get(lang)} ({a.approver})  [{a.rule}]")
    if report.amounts:
        lines.append("")
        lines.append(paint(t("amounts", lang), bold=True))
        for m in report.amounts:
            lines.append(f"  - {m.label.get(lang)}: {m.amount} {m.currency}  [{m.rule}]")
    if report.deadlines:
        lines.append("")
        lines.append(paint(t("deadlines", lang), bold=True))
        for c in report.deadlines:
            status = paint(t(c.status, lang), fg=_STATUS_COLOUR.get(c.status))
            within = duration_text(c.deadline.duration, lang)
            parts = [f"  - {c.deadline.label.get(lang)} ({within}): {status}"]
            if c.due:
                parts.append(f"{t('due', lang)} {_iso(c.due)}")
            if c.done:
                parts.append(f"{t('done', lang)} {_iso(c.done)}")
            lines.append(", ".join(parts) + f"  [{c.deadline.rule}]")
    lines.append("")
    lines.append(f"  {t('calendar', lang)}: {report.calendar_version}")
    return "\n".join(lines)
