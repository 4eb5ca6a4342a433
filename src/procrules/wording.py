"""How times, dates and time left read for a person at the counter, in Chinese and English:
10月8日（周四）24:00前 / Thu 8 Oct, 24:00; 还剩约3小时 / about 3 hours left.

Formats only: every value here was decided by the calendar and the clocks. JSON stays ISO 8601;
these words are for text output alone. Never reads the clock: the reference year comes in.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import unicodedata
from typing import TYPE_CHECKING

from .calendar import SHANGHAI

if TYPE_CHECKING:
    from .expressions import Expression
    from .sla import Clock
    from .spec.compile import SpecSet
    from .spec.model import Process

_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Deadlines counted in working time say what is left in working days; the others in days.
WORKING_KINDS = frozenset({"working_days", "working_hours"})


def _local(t: dt.datetime) -> dt.datetime:
    return t.astimezone(SHANGHAI) if t.tzinfo else t.replace(tzinfo=SHANGHAI)


def _year_of(reference: dt.date | dt.datetime | int | None) -> int | None:
    if reference is None or isinstance(reference, int):
        return reference
    if isinstance(reference, dt.datetime):
        return _local(reference).year
    return reference.year


def day_text(
    day: dt.date,
    lang: str,
    reference: dt.date | dt.datetime | int | None = None,
    weekday: bool = True,
) -> str:
    """10月8日（周四） / Thu 8 Oct; the year only when it is not the reference's year (none given:
    always)."""
    show_year = _year_of(reference) != day.year
    if lang == "zh":
        year = f"{day.year}年" if show_year else ""
        name = f"（周{_WEEKDAYS_ZH[day.weekday()]}）" if weekday else ""
        return f"{year}{day.month}月{day.day}日{name}"
    year = f" {day.year}" if show_year else ""
    name = f"{_WEEKDAYS_EN[day.weekday()]} " if weekday else ""
    return f"{name}{day.day} {_MONTHS_EN[day.month - 1]}{year}"


def span_text(
    first: dt.date, last: dt.date, lang: str, reference: dt.date | dt.datetime | int | None = None
) -> str:
    """A run of days: 10月1日（周四）至10月7日（周三） / Thu 1 Oct - Wed 7 Oct."""
    if first == last:
        return day_text(first, lang, reference)
    joiner = "至" if lang == "zh" else " - "
    return day_text(first, lang, reference) + joiner + day_text(last, lang, reference)


def _clock(t: dt.datetime) -> tuple[dt.date, str]:
    """The day and HH:MM of an instant; the last instant of a day reads as 24:00 of that day."""
    local = _local(t)
    if (local.hour, local.minute, local.second) == (23, 59, 59):
        return local.date(), "24:00"
    return local.date(), f"{local:%H:%M}"


def moment_text(
    t: dt.datetime, lang: str, reference: dt.date | dt.datetime | int | None = None
) -> str:
    """An instant: 9月29日（周二）10:00 / Tue 29 Sep, 10:00 (Asia/Shanghai time)."""
    day, hhmm = _clock(t)
    sep = "" if lang == "zh" else ", "
    return f"{day_text(day, lang, reference)}{sep}{hhmm}"


def due_text(
    t: dt.datetime, lang: str, reference: dt.date | dt.datetime | int | None = None
) -> str:
    """The last allowed instant: 10月8日（周四）24:00前 / Thu 8 Oct, 24:00."""
    return moment_text(t, lang, reference) + ("前" if lang == "zh" else "")


def pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns; a Chinese character takes two."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def _n(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def time_left(
    kind: str, hours_left: float | None, working_days_left: float | None, lang: str
) -> str | None:
    """Time left before a due time, or time past it, as a person says it:
    还剩约3小时 / about 3 hours left; 已超期2个工作日 / 2 working days overdue.

    Under a day either way, hours; beyond, working days for a deadline counted in working time
    (the n-th working day past the due day counts once it has begun), else calendar days.
    """
    if hours_left is None:
        return None
    zh = lang == "zh"
    working = kind in WORKING_KINDS and working_days_left is not None
    if hours_left >= 0:
        h = hours_left
        days = _round(working_days_left or 0.0) if working else _round(h / 24)
        if h < 1:
            return "还剩不到1小时" if zh else "less than an hour left"
        if h < 24 or days < 1:
            n = _round(h)
            return f"还剩约{n}小时" if zh else f"about {_n(n, 'hour', 'hours')} left"
        if working:
            en = f"about {_n(days, 'working day', 'working days')} left"
            return f"还剩约{days}个工作日" if zh else en
        return f"还剩约{days}天" if zh else f"about {_n(days, 'day', 'days')} left"
    over = -hours_left
    if over < 1:
        return "已超期不到1小时" if zh else "less than an hour overdue"
    n = math.ceil(-(working_days_left or 0.0) - 1e-9) if working else 0
    if over < 24 or (working and n < 1):  # under a day, or late over rest days only
        n = _round(over)
        return f"已超期约{n}小时" if zh else f"about {_n(n, 'hour', 'hours')} overdue"
    if working:  # the n-th working day past the due day is under way
        return f"已超期{n}个工作日" if zh else f"{_n(n, 'working day', 'working days')} overdue"
    n = math.floor(over / 24)
    return f"已超期{n}天" if zh else f"{_n(n, 'day', 'days')} overdue"


def clock_left(clock: Clock, lang: str) -> str | None:
    """What a running, at-risk or breached clock has left (or is past); None for the others."""
    if clock.status not in ("running", "at_risk", "breached"):
        return None
    text = time_left(clock.deadline.duration.kind, clock.hours_left, clock.working_days_left, lang)
    if text and clock.paused_now:
        text += "，计时暂停中" if lang == "zh" else ", clock paused"
    return text


# -- conditions in words ----------------------------------------------------------------------
# A spec's condition is shown to people by its own label (`when: {expr: ..., label: {zh, en}}`),
# else rendered into words from the names and values the specs already label: facts, customer
# fields, customer types, roles, water-use types, documents, events. Never the raw expression.

_CUSTOMER = {
    "customer.type": ("用户类型", "customer type"),
    "customer.name": ("用户名称", "customer name"),
    "customer.account": ("用户号", "account"),
    "customer.water_type": ("现用水性质", "current water-use type"),
    "customer.arrears": ("欠费金额（元）", "arrears (yuan)"),
    "customer.arrears_months": ("累计欠费月数", "months of arrears"),
}
# direction() is the engine's own function (WT-APPROVER), so its values are named here.
_BUILTIN_VALUES = {
    "upgrade": ("低改高", "upgrade (to a higher price)"),
    "downgrade": ("高改低", "downgrade (to a lower price)"),
    "same": ("同价", "same price"),
}
_BUILTIN_NAMES = {"direction": ("变更方向", "direction of the change")}
_COMPARE = {
    ast.Eq: ("为", "is"),
    ast.NotEq: ("不为", "is not"),
    ast.Gt: ("大于", "is more than"),
    ast.GtE: ("不少于", "is at least"),
    ast.Lt: ("小于", "is less than"),
    ast.LtE: ("不超过", "is at most"),
    ast.In: ("为以下之一：", "is one of"),
    ast.NotIn: ("不为以下任一：", "is none of"),
}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "×", ast.Div: "÷"}


class Words:
    """The names and values of one process, in words, for rendering its conditions."""

    def __init__(self, process: Process, specs: SpecSet) -> None:
        self.process = process
        self.specs = specs

    def name(self, dotted: str, lang: str) -> str:
        i = 0 if lang == "zh" else 1
        if dotted in _CUSTOMER:
            return _CUSTOMER[dotted][i]
        fact = self.process.facts.get(dotted.removeprefix("facts."))
        if dotted.startswith("facts.") and fact is not None:
            return fact.label.get(lang)
        if dotted in _BUILTIN_NAMES:
            return _BUILTIN_NAMES[dotted][i]
        return dotted

    def value(self, name: str, value: object, lang: str) -> str:
        zh = lang == "zh"
        if isinstance(value, bool):
            return ("是" if value else "否") if zh else ("yes" if value else "no")
        if not isinstance(value, str):
            return str(value)
        if value == "":
            return "空" if zh else "empty"
        fact = self.process.facts.get(name.removeprefix("facts."))
        if fact is not None and value in fact.value_labels:
            return fact.value_labels[value].get(lang)
        cat, tariff = self.specs.catalog, self.specs.tariff
        for table in (cat.customer_types, tariff.water_types, cat.roles, cat.documents):
            if value in table:
                return table[value].get(lang)
        if value in _BUILTIN_VALUES:
            return _BUILTIN_VALUES[value][0 if zh else 1]
        return value

    def event(self, event: str, lang: str) -> str:
        label = self.process.events.get(event)
        return label.get(lang) if label else event


def condition_text(expr: Expression, lang: str, words: Words) -> str:
    """A condition as people read it: its spec label, else a rendering into words."""
    if expr.words is not None:
        return expr.words[lang]
    try:
        tree = ast.parse(expr.source.strip(), mode="eval").body
    except SyntaxError:  # pragma: no cover - compiled expressions always parse
        return expr.source
    return _say(tree, lang, words)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _say(node: ast.AST, lang: str, w: Words, subject: str = "") -> str:
    zh = lang == "zh"
    if isinstance(node, ast.BoolOp):
        joiner = (
            ("且" if zh else " and ") if isinstance(node.op, ast.And) else ("或" if zh else " or ")
        )
        parts = []
        for value in node.values:
            text = _say(value, lang, w)
            if isinstance(value, ast.BoolOp):
                text = f"（{text}）" if zh else f"({text})"
            parts.append(text)
        return joiner.join(parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = node.operand
        if _is_happened(inner):
            return _happened(inner, lang, w, negated=True)
        text = _say(inner, lang, w)
        return f"并非{text}" if zh else f"not ({text})"
    if _is_happened(node):
        return _happened(node, lang, w)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        name = _dotted(node.left) or ""
        left = _say(node.left, lang, w)
        right = _say(node.comparators[0], lang, w, subject=name)
        op = _COMPARE.get(type(node.ops[0]), ("?", "?"))[0 if zh else 1]
        return f"{left}{op}{right}" if zh else f"{left} {op} {right}"
    if isinstance(node, ast.Compare):  # chained: a < b < c
        return " ".join(
            [_say(node.left, lang, w)]
            + [
                f"{_COMPARE.get(type(o), ('?', '?'))[0 if zh else 1]} {_say(c, lang, w, subject)}"
                for o, c in zip(node.ops, node.comparators, strict=True)
            ]
        )
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        sep = "、" if zh else ", "
        return sep.join(_say(e, lang, w, subject) for e in node.elts)
    if isinstance(node, ast.Constant):
        return w.value(subject, node.value, lang)
    dotted = _dotted(node)
    if dotted is not None:
        return w.name(dotted, lang)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        return f"{_say(node.left, lang, w)} {_ARITH[type(node.op)]} {_say(node.right, lang, w)}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_say(a, lang, w) for a in node.args]
        if node.func.id == "price" and args:
            return f"{args[0]}的水价" if zh else f"the price of {args[0]}"
        if node.func.id == "direction" and len(args) == 2:
            return f"由{args[0]}改为{args[1]}" if zh else f"from {args[0]} to {args[1]}"
        if node.func.id in ("min", "max"):
            word = {"min": ("较小者", "the lesser of"), "max": ("较大者", "the greater of")}
            pair = "、".join(args) if zh else " and ".join(args)
            return f"{pair}中的{word[node.func.id][0]}" if zh else f"{word[node.func.id][1]} {pair}"
    if isinstance(node, ast.IfExp):
        test, a, b = (_say(n, lang, w) for n in (node.test, node.body, node.orelse))
        return f"{test}时为{a}，否则为{b}" if zh else f"{a} if {test}, else {b}"
    return ast.unparse(node)


def _is_happened(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "happened"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
    )


def _happened(node: ast.AST, lang: str, w: Words, negated: bool = False) -> str:
    assert isinstance(node, ast.Call) and isinstance(node.args[0], ast.Constant)
    event = w.event(str(node.args[0].value), lang)
    if lang == "zh":
        return f"“{event}”{'未发生' if negated else '已发生'}"
    return f"'{event}' {'has not happened' if negated else 'has happened'}"
