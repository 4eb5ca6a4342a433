"""How times, dates and time left read for a person at the counter, in Chinese and English:
10月8日（周四）24:00前 / Thu 8 Oct, 24:00; 还剩约3小时 / about 3 hours left.

Formats only: every value here was decided by the calendar and the clocks. JSON stays ISO 8601;
these words are for text output alone. Never reads the clock: the reference year comes in.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

from .calendar import SHANGHAI

if TYPE_CHECKING:
    from .sla import Clock

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
