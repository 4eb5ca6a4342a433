"""Render a Report as the contract's JSON or as text for a person at the counter.

Formats only: everything decided here was decided by the engine.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from .wording import clock_left, due_text, moment_text

if TYPE_CHECKING:
    from .engine import FindingResult, Report
    from .flow import Position
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
    if clock.start_inferred:
        out["start_inferred"] = True
    if clock.done_inferred:
        out["done_inferred"] = True
    if clock.inferred_from:
        out["inferred_from"] = clock.inferred_from
    return out


# What the clerk at the counter is told first: can the application go ahead?
_REFUSALS = {
    "arrears_outstanding": ("欠费", "arrears outstanding"),
    "not_eligible": ("不符合条件", "not eligible"),
    "reconnect_forbidden": ("已销户，不能复接", "a closed account cannot be reconnected"),
    "treat_as_new_connection": ("须按新装接水办理", "apply as a new connection"),
}
_OWED = ("missing_document", "missing_fact")


def verdict(report: Report, lang: str = "en") -> dict[str, Any]:
    """The two questions apart: may the application proceed (customer side and the record of the
    flow), and is the centre on time (its own deadlines)?"""
    errors = [f for f in report.findings if f.severity == "error" and f.kind != "sla"]
    refusals = [f for f in errors if f.kind == "application" and f.code not in _OWED]
    message: str | None = None
    if refusals:
        status, reason = "refused", refusals[0].code
        message = refusals[0].message.get(lang)
    elif any(f.code in _OWED for f in errors):
        status, reason = "incomplete", next(f.code for f in errors if f.code in _OWED)
    elif errors:
        status, reason = "check_record", errors[0].code
    else:
        status, reason = "proceed", None
    breached = sum(1 for c in report.deadlines if c.status == "breached")
    at_risk = sum(1 for c in report.deadlines if c.status == "at_risk")
    sla = "breached" if breached else "at_risk" if at_risk else "on_track"
    return {
        "application": {
            "status": status,
            "reason": reason,
            "ok": status == "proceed",
            **({"message": message} if message else {}),
        },
        "sla": {"status": sla, "breached": breached, "at_risk": at_risk, "ok": not breached},
    }


def position_to_dict(position: Position, lang: str) -> dict[str, Any]:
    roles = position.roles
    return {
        "done": [
            {
                "step": d.step.id,
                "name": d.step.label.get(lang),
                "event": d.step.event,
                "at": _iso(d.at),
                "roles": list(roles.get(d.step.id, d.step.roles)),
                **({"count": d.count} if d.count > 1 else {}),
            }
            for d in position.done
        ],
        "missing": [
            {
                "step": m.step.id,
                "name": m.step.label.get(lang),
                "event": m.step.event,
                "proven_by": m.by.event,
                "at": _iso(m.at),
            }
            for m in position.missing
        ],
        "open": [
            {
                "step": o.step.id,
                "name": o.step.label.get(lang),
                "event": o.step.event,
                "roles": list(o.roles),
                "since": _iso(o.since),
                "due": _iso(o.due),
                "rule": o.rule,
            }
            for o in position.open
        ],
        "ended": position.ended,
        "ended_at": _iso(position.ended_at),
    }


def finding_to_dict(f: FindingResult, lang: str) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "rule": f.rule,
        "kind": f.kind,
        "message": f.message.get(lang),
        **f.extra,
    }


def report_to_dict(report: Report, lang: str = "en") -> dict[str, Any]:
    p = report.process
    return {
        "case_id": report.case_id,
        "process": p.id,
        "process_version": p.version,
        "as_of": _iso(report.as_of),
        "ok": report.ok,
        "missing_documents": list(report.missing_documents),
        "findings": [finding_to_dict(f, lang) for f in report.findings],
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
        **verdict(report, lang),
        **(
            {"position": position_to_dict(report.position, lang)}
            if report.position is not None
            else {}
        ),
        "policy_folder": report.policy_folder,
        "policy_revision": report.policy_revision,
    }


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


_T = {
    "ok": {"zh": "可以办理", "en": "OK to proceed"},
    "blocked": {"zh": "不能办理", "en": "Cannot proceed"},
    "proceed": {"zh": "可以办理", "en": "OK to proceed"},
    "incomplete": {"zh": "需补齐资料", "en": "Documents or information needed"},
    "refused": {"zh": "不予办理：{reason}", "en": "Refused: {reason}"},
    "check_record": {"zh": "需核查办理记录", "en": "Check the case record"},
    "sla_line": {"zh": "本中心时限：{text}", "en": "Our deadlines: {text}"},
    "sla_breached_n": {"zh": "{n}项已超期", "en": "{n} breached"},
    "sla_at_risk_n": {"zh": "{n}项即将超期", "en": "{n} at risk"},
    "sla_on_track": {"zh": "均在期限内", "en": "on track"},
    "position": {"zh": "办理进度", "en": "Where the case stands"},
    "not_recorded": {
        "zh": "未记录（由其后步骤推定已办）",
        "en": "not recorded (later steps prove it)",
    },
    "todo": {"zh": "待办", "en": "to do"},
    "since": {"zh": "自", "en": "since"},
    "ended_completed": {"zh": "已办结", "en": "completed"},
    "ended_rejected": {"zh": "已终止（不予办理）", "en": "ended: rejected"},
    "ended_closed": {"zh": "已销户，流程结束", "en": "ended: closed"},
    "inferred": {"zh": "推定", "en": "inferred"},
    "missing": {
        "zh": "缺少资料（请一次性告知用户）",
        "en": "Missing documents (tell the customer all at once)",
    },
    "blockers": {"zh": "阻止办理", "en": "Blocking"},
    "sla_late": {"zh": "本中心超期", "en": "Our deadlines breached"},
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
    if lang == "zh":
        return zh.format(n=duration.amount, t=cutoff)
    return _singular(en.format(n=duration.amount, t=cutoff), duration)


def _singular(text: str, duration: Duration) -> str:
    """within 1 month, not within 1 months."""
    if duration.amount != 1:
        return text
    for plural in ("working days", "working hours", "days", "weeks", "months", "hours"):
        text = text.replace(f"1 {plural}", f"1 {plural[:-1]}")
    return text


def render_text(report: Report, lang: str, style: Any = None) -> str:
    """The verdict first, then everything missing in one list, blockers, approvals, money, time."""
    paint = style or (lambda text, **_: text)
    p = report.process
    lines = []
    v = verdict(report, lang)
    app, sla = v["application"], v["sla"]
    head = f"{report.case_id or '-'}  {p.label.get(lang)} ({p.id} {p.version})"
    go = app["status"] == "proceed"
    lines.append(
        paint(
            f"{'✔' if go else '✘'} {_headline(app, lang)}", fg="green" if go else "red", bold=True
        )
        + f"  {head}"
    )
    if report.deadlines:  # the centre's own lateness, on its own line
        parts = [
            t(key, lang).format(n=sla[name])
            for key, name in (("sla_breached_n", "breached"), ("sla_at_risk_n", "at_risk"))
            if sla[name]
        ]
        text = ("，" if lang == "zh" else ", ").join(parts) or t("sla_on_track", lang)
        colour = {"breached": "red", "at_risk": "yellow"}.get(sla["status"])
        lines.append("  " + paint(t("sla_line", lang).format(text=text), fg=colour))
    lines.append(f"  {t('as_of', lang)}: {moment_text(report.as_of, lang)}")
    errors = [
        f
        for f in report.findings
        if f.severity == "error" and f.code != "missing_document" and f.kind != "sla"
    ]
    late = [f for f in report.findings if f.severity == "error" and f.kind == "sla"]
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
    sections = (
        ("blockers", errors, "red"),
        ("sla_late", late, "red"),
        ("warnings", warns, "yellow"),
    )
    for title, items, colour in sections:
        if items:
            lines.append("")
            lines.append(paint(t(title, lang), bold=True))
            for f in items:
                rule = f"  [{f.rule}]" if f.rule else ""
                lines.append(f"  - {paint(f.code, fg=colour)}: {f.message.get(lang)}{rule}")
    lines.append("")
    if report.position is not None:
        lines.extend(_timeline(report.position, lang, paint, report.as_of))
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
                left = clock_left(c, lang)
                due = due_text(c.due, lang, report.as_of)
                if left:
                    due += f"（{left}）" if lang == "zh" else f" ({left})"
                parts.append(f"{t('due', lang)} {due}")
            if c.done:
                parts.append(f"{t('done', lang)} {moment_text(c.done, lang, report.as_of)}")
            if (c.start_inferred or c.done_inferred) and c.inferred_from:
                source = p.events.get(c.inferred_from)
                name = source.get(lang) if source else c.inferred_from
                parts.append(f"{t('inferred', lang)} ← {name}")
            lines.append(", ".join(parts) + f"  [{c.deadline.rule}]")
    lines.append("")
    lines.append(f"  {t('calendar', lang)}: {report.calendar_version}")
    return "\n".join(lines)


def _headline(app: dict[str, Any], lang: str) -> str:
    status = app["status"]
    if status != "refused":
        return t(status, lang)
    # a known refusal in a word (欠费); else the spec's own message for it
    said = _REFUSALS.get(app["reason"])
    reason = (said[0] if lang == "zh" else said[1]) if said else app.get("message", app["reason"])
    return t("refused", lang).format(reason=reason)


def _short(time: dt.datetime | None, lang: str, reference: dt.datetime) -> str:
    """A step's time in the timeline, as people write it (9月21日（周一）09:00)."""
    return "-" if time is None else moment_text(time, lang, reference)


def _timeline(position: Position, lang: str, paint: Any, ref: dt.datetime) -> list[str]:
    """Steps done, steps proven but not recorded, whose turn it is, and whether it has ended."""
    sep = "、" if lang == "zh" else ", "

    def who(roles: tuple[str, ...] | list[str]) -> str:
        labels = position.role_labels
        return sep.join(labels[r].get(lang) if r in labels else r for r in roles)

    lines = [paint(t("position", lang), bold=True)]
    # a step proven but not recorded stands just before the step that proves it
    walked: list[tuple[dt.datetime, int, str]] = []
    for i, m in enumerate(position.missing):
        text = f"  ? {'-':<16}  {m.step.label.get(lang)} — {t('not_recorded', lang)}"
        walked.append((m.at, i, text))
    for d in position.done:
        times = f" ×{d.count}" if d.count > 1 else ""
        roles = position.roles.get(d.step.id, d.step.roles)
        text = f"  ✔ {_short(d.at, lang, ref)}  {d.step.label.get(lang)}{times} — {who(roles)}"
        walked.append((d.at, len(position.missing), text))
    lines.extend(text for _, _, text in sorted(walked, key=lambda w: (w[0], w[1])))
    for o in position.open:
        parts = [f"{t('todo', lang)}: {o.step.label.get(lang)} — {who(o.roles)}"]
        if o.since:
            parts.append(f"{t('since', lang)} {_short(o.since, lang, ref)}")
        if o.due:
            parts.append(f"{t('due', lang)} {'-' if o.due is None else due_text(o.due, lang, ref)}")
        rule = f"  [{o.rule}]" if o.rule else ""
        lines.append("  " + paint("▶", fg="yellow") + " " + ", ".join(parts) + rule)
    if position.ended:
        lines.append(
            f"  ■ {_short(position.ended_at, lang, ref)}  {t('ended_' + position.ended, lang)}"
        )
    return lines
