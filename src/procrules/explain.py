"""Explain a verdict rule by rule: each rule's inputs and outcome, and each deadline's count
day by day with what it skipped and why. Reads a finished judgement; decides nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .calendar import SHANGHAI, Calendar
from .engine import Report, _Judgement
from .expressions import EVENTS_KEY, Expression, Missing, Unknown
from .report import duration_text, t
from .sla import Clock
from .spec.model import Process
from .wording import (
    Words,
    clock_left,
    condition_text,
    day_text,
    due_text,
    moment_text,
    span_text,
)

_W = {
    "title": {"zh": "判定说明", "en": "Why"},
    "documents": {"zh": "资料", "en": "Documents"},
    "gates": {"zh": "前置条件与检查", "en": "Gates and checks"},
    "order": {"zh": "先后顺序", "en": "Order of events"},
    "approvals": {"zh": "审批", "en": "Approvals"},
    "amounts": {"zh": "金额", "en": "Amounts"},
    "deadlines": {"zh": "时限", "en": "Deadlines"},
    "not_for": {"zh": "不适用于", "en": "not for"},
    "given": {"zh": "已提交", "en": "given"},
    "missing": {"zh": "缺少", "en": "missing"},
    "yes": {"zh": "成立", "en": "holds"},
    "no": {"zh": "不成立", "en": "does not hold"},
    "unknown": {"zh": "无法判断，缺少", "en": "cannot tell, missing"},
    "approves": {"zh": "审批", "en": "approves"},
    "skipped": {"zh": "跳过", "en": "skipped"},
    "counted": {"zh": "计入", "en": "counted"},
    "day": {"zh": "第{n}个工作日", "en": "working day {n}"},
    "start_day": {"zh": "起算日（不计入）", "en": "start day (not counted)"},
    "weekend": {"zh": "周末", "en": "weekend"},
    "rolled": {
        "zh": "对应日 {d} 为休息日，顺延至 {r}",
        "en": "the corresponding day {d} is a rest day; rolled to {r}",
    },
    "corresponding": {"zh": "对应日 {d}", "en": "corresponding day {d}"},
    "not_started": {"zh": "尚未开始（未发生 {e}）", "en": "not started ({e} has not happened)"},
    "exact": {
        "zh": "按自然时间计算，不扣除节假日",
        "en": "counted on the clock, holidays included",
    },
    "when": {"zh": "条件", "en": "when"},
    "start": {"zh": "起算", "en": "start"},
    "due": {"zh": "期限", "en": "due"},
    "done": {"zh": "完成", "en": "done"},
    "paused": {"zh": "暂停", "en": "paused"},
    "effective": {"zh": "自", "en": "in force from"},
    "as_of": {"zh": "判定时间", "en": "as of"},
}


def w(key: str, lang: str, **kw: Any) -> str:
    return _W[key][lang].format(**kw)


def _value(name: str, ctx: dict[str, Any], j: _Judgement) -> str:
    value = ctx.get(name)
    if value is None or isinstance(value, Unknown):
        return "?"
    text = str(value)
    prices = j.engine.specs.tariff.prices
    if isinstance(value, str) and value in prices:
        text += f" {prices[value]}"
    return text


def _inputs(expr: Expression | None, j: _Judgement, lang: str = "en") -> str:
    """The values a condition or formula read: in English as the spec names them (for the
    people who edit specs), in Chinese by their labels, never as expression text."""
    if expr is None:
        return ""
    names = sorted(expr.names)
    derived = dict(j.process.derive)
    if lang == "zh":
        words = Words(j.process, j.engine.specs)

        def say(n: str) -> str:
            value = j.ctx.get(n)
            shown = (
                "?" if value is None or isinstance(value, Unknown) else words.value(n, value, lang)
            )
            prices = j.engine.specs.tariff.prices
            if isinstance(value, str) and value in prices:  # WT-APPROVER reads the prices
                shown += f"（{prices[value]}元）"
            return f"{words.name(n, lang)}：{shown}"

        parts = []
        for name in names:
            inner = (
                "，".join(say(n) for n in sorted(derived[name].names)) if name in derived else ""
            )
            parts.append(say(name) + (f"（{inner}）" if inner else ""))
        for e in sorted(expr.events):
            happened = "是" if j.ctx[EVENTS_KEY].get(e) else "否"
            parts.append(f"“{words.event(e, lang)}”已发生：{happened}")
        return "；".join(parts)
    shown = []
    for name in names:
        if name in derived:
            inner = ", ".join(f"{n} = {_value(n, j.ctx, j)}" for n in sorted(derived[name].names))
            shown.append(f"{name} = {_value(name, j.ctx, j)} ({inner})")
        else:
            shown.append(f"{name} = {_value(name, j.ctx, j)}")
    events = [f'happened("{e}") = {bool(j.ctx[EVENTS_KEY].get(e))}' for e in sorted(expr.events)]
    return "; ".join(shown + events)


def _said(expr: Expression, j: _Judgement, lang: str) -> str:
    """A condition or formula: its words in Chinese, its spec text in English."""
    return (
        condition_text(expr, lang, Words(j.process, j.engine.specs))
        if lang == "zh"
        else expr.source
    )


def _holds(expr: Expression | None, j: _Judgement, lang: str) -> tuple[bool | None, str]:
    if expr is None:
        return True, w("yes", lang)
    try:
        result = bool(expr(j.ctx))
    except Missing as exc:
        return None, f"{w('unknown', lang)} {exc.name}"
    return result, w("yes" if result else "no", lang)


def explain(j: _Judgement, report: Report, lang: str) -> str:
    p, catalog = j.process, j.engine.specs.catalog
    lines = [
        f"{w('title', lang)}: {report.case_id or '-'}  {p.label.get(lang)} ({p.id} {p.version}, "
        f"{w('effective', lang)} {day_text(p.effective_from, lang, weekday=False)})",
        f"  {w('as_of', lang)} {moment_text(report.as_of, lang)}",
    ]
    customer_type = j.ctx.get("customer.type")

    lines += ["", w("documents", lang)]
    given = j.given
    for req in p.documents:
        label = catalog.customer_types.get(str(customer_type))
        if customer_type not in req.customer_types:
            lines.append(
                f"  {req.rule}: {w('not_for', lang)} {label.get(lang) if label else customer_type}"
            )
            continue
        holds, text = _holds(req.when, j, lang)
        if req.when is not None and not holds:
            lines.append(
                f"  {req.rule}: {w('when', lang)} {_said(req.when, j, lang)} -> {text} "
                f"[{_inputs(req.when, j, lang)}]"
            )
            continue
        for alternatives in req.items:
            names = " / ".join(f"{a} {catalog.documents[a].get(lang)}" for a in alternatives)
            ok = given.intersection(alternatives)
            mark = f"✔ {w('given', lang)}" if ok else f"✘ {w('missing', lang)}"
            lines.append(f"  {req.rule}: {names}: {mark}")

    if p.gates or p.checks:
        lines += ["", w("gates", lang)]
    for check in (*p.gates, *p.checks):
        _, text = _holds(check.when, j, lang)
        lines.append(
            f"  {check.rule} {check.code}: {_said(check.when, j, lang)} -> {text} "
            f"[{_inputs(check.when, j, lang)}]"
        )

    order = [(s, r) for s in p.steps for r in s.requires]
    if order:
        lines += ["", w("order", lang)]
        times = j.ctx[EVENTS_KEY]

        def when(at: list[dt.datetime]) -> str:
            return moment_text(min(at), lang, report.as_of)

        for step, precedence in order:
            a = when(times[step.event]) if step.event in times else "-"
            b = when(times[precedence.event]) if precedence.event in times else "-"
            first, then = _event(precedence.event, p, lang), _event(step.event, p, lang)
            lines.append(f"  {precedence.rule}: {first} ({b}) -> {then} ({a})")

    lines += ["", w("approvals", lang)]
    for approval in p.approvals:
        holds, text = _holds(approval.when, j, lang)
        parts = [f"  {approval.rule}:"]
        if approval.when:
            parts.append(
                f"{w('when', lang)} {_said(approval.when, j, lang)} -> {text} "
                f"[{_inputs(approval.when, j, lang)}]"
            )
        if holds:
            parts.append(f"=> {catalog.roles[approval.approver].get(lang)} {w('approves', lang)}")
        lines.append(" ".join(parts))

    if p.amounts:
        lines += ["", w("amounts", lang)]
    results = {(a.rule, a.name): a.amount for a in report.amounts}
    for amount in p.amounts:
        holds, text = _holds(amount.when, j, lang)
        head = f"  {amount.rule} {amount.label.get(lang)}"
        if amount.when is not None and not holds:
            lines.append(f"{head}: {w('when', lang)} {_said(amount.when, j, lang)} -> {text}")
            continue
        value = results.get((amount.rule, amount.name))
        lines.append(
            f"{head}: {_said(amount.formula, j, lang)} [{_inputs(amount.formula, j, lang)}] = "
            f"{value if value is not None else '?'}"
        )
        if amount.explain:
            lines.append(f"    {amount.explain.get(lang)}")

    if report.deadlines:
        lines += ["", w("deadlines", lang)]
    for clock in report.deadlines:
        lines.extend(_deadline(clock, j.engine.calendar, lang, report.as_of, p))
    return "\n".join(lines)


def _event(event: str, process: Process, lang: str) -> str:
    """An event by its id in English (as a case names it), by its name in Chinese."""
    label = process.events.get(event)
    return f"“{label.zh}”" if lang == "zh" and label else event


def _deadline(
    clock: Clock, cal: Calendar, lang: str, as_of: dt.datetime, process: Process
) -> list[str]:
    d = clock.deadline
    within = duration_text(d.duration, lang)
    head = f"  {d.rule} {d.label.get(lang)} ({within}): {t(clock.status, lang)}"
    if clock.start is None or clock.due is None:
        events = " / ".join(_event(e, process, lang) for e in d.start)
        return [head + f" - {w('not_started', lang, e=events)}"]
    left = clock_left(clock, lang)
    lines = [
        head,
        f"    {w('start', lang)} {moment_text(clock.start, lang, as_of)} -> "
        f"{w('due', lang)} {due_text(clock.due, lang, as_of)}"
        + (f", {w('done', lang)} {moment_text(clock.done, lang, as_of)}" if clock.done else "")
        + (f" ({left})" if left and lang != "zh" else f"（{left}）" if left else ""),
    ]
    start = clock.start.astimezone(SHANGHAI).date()
    last = clock.due.astimezone(SHANGHAI).date()
    kind = d.duration.kind
    if kind in ("hours",):
        lines.append(f"    {w('exact', lang)}")
    elif kind == "working_days" and not clock.paused:
        lines.extend(_count_days(start, last, cal, lang, as_of))
    elif kind in ("months", "weeks", "calendar_days"):
        from .sla import add_months

        n = d.duration.amount
        corresponding = (
            add_months(start, n)
            if kind == "months"
            else start + dt.timedelta(days=n * (7 if kind == "weeks" else 1))
        )
        if corresponding != last and not clock.paused:
            lines.append(
                "    "
                + w(
                    "rolled",
                    lang,
                    d=_day(corresponding, cal, lang, as_of),
                    r=_day(last, cal, lang, as_of),
                )
            )
        else:
            lines.append("    " + w("corresponding", lang, d=_day(corresponding, cal, lang, as_of)))
    for a, b in clock.paused:
        since, until = moment_text(a, lang, as_of), moment_text(b, lang, as_of)
        lines.append(f"    {w('paused', lang)} {since} -> {until}")
    return lines


def _day(day: dt.date, cal: Calendar, lang: str, as_of: dt.datetime) -> str:
    info = cal.info(day)
    note = f" {info.note}" if info.note else ""
    return f"{day_text(day, lang, as_of)}{note}"


def _count_days(
    start: dt.date, last: dt.date, cal: Calendar, lang: str, as_of: dt.datetime
) -> list[str]:
    """One line per counted day or run of skipped days with the same reason."""
    out = [f"    {day_text(start, lang, as_of)} {w('start_day', lang)}"]
    run: list[dt.date] = []
    run_note = ""
    n = 0

    def flush() -> None:
        if run:
            span = span_text(run[0], run[-1], lang, as_of)
            out.append(f"    {span} {run_note} {w('skipped', lang)}")
            run.clear()

    for info in cal.days(start + dt.timedelta(days=1), last):
        if info.working:
            flush()
            n += 1
            note = f" {info.note}" if info.note else ""
            out.append(f"    {day_text(info.day, lang, as_of)} {w('day', lang, n=n)}{note}")
        else:
            reason = info.note or w("weekend", lang)
            if run and reason != run_note:
                flush()
            run_note = reason
            run.append(info.day)
    flush()
    return out
