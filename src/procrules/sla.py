"""SLA clocks: due times, pauses, cycles and statuses, from an event log and `as_of`.

Counting conventions (民法典 arts. 200-204, 1259; see docs/decisions/0003-counting-conventions.md):
- working days: the start day is not counted; due at 24:00 of the N-th working day after it;
  an event on a holiday or after hours counts from its calendar date.
- calendar days, weeks, months: the corresponding day (clamped to the month's end), rolled to
  the next working day when it is a rest day; a make-up working Saturday does not roll.
- hours: the exact instant, holidays ignored. working hours: business hours on working days.
- end of month: 24:00 of the month's last day (roll forward/backward on request).
- same day: 24:00 that day (the next working day's, for an event on a rest day).
- same day before HH:MM: that day, if a working day and before the cut-off, else the next one.
Pure: never reads the clock or files.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .calendar import SHANGHAI, Calendar
from .spec.model import Counting, Deadline, Duration

END_OF_DAY = dt.time(23, 59, 59, 999999)
EIGHT_HOURS = dt.timedelta(hours=8)
DEFAULT_COUNTING = Counting()
HOUR = 3600.0
# Periods whose due time is a function of the start's date alone (with calendar-date receipt
# and no pause): worked out once per deadline and start day, then looked up.
DAY_COUNTED = frozenset({"working_days", "calendar_days", "weeks", "months", "same_day"})
MEMO_LIMIT = 50_000  # entries a memo keeps before it starts afresh (memory stays bounded)
EXACT_KINDS = frozenset({"hours", "working_hours"})  # due at any instant, not a day's end


class Memo:
    """Work already done for the checks of one engine, looked up instead of done again: due
    times by deadline (by id, of a deadline that outlives the memo) and start day; time left
    by due time and as_of (a batch judges many cases at one as_of); ISO texts of due times;
    each deadline's clock before it starts; the shapes of flow walks (flow.Shape). Every entry
    is read-only and bounded in number; what it holds of the specs belongs to the engine's."""

    __slots__ = ("due", "left", "days", "iso", "walks", "idle")

    def __init__(self) -> None:
        self.idle: dict[int, Clock] = {}  # id of a deadline -> its clock before it starts
        # (due day, as_of, as_of <= due) -> working days left, of a due time at any instant
        self.days: dict[tuple[dt.date, dt.datetime, bool], float] = {}
        self.walks: dict[Any, list[Any]] = {}  # the shapes of flow walks (flow.Shape)
        self.iso: dict[dt.datetime, str] = {}  # due time -> its ISO text, to the second
        # (id of a deadline, start day[, whether before its cut-off]) -> due time, provisional
        self.due: dict[
            tuple[int, dt.date] | tuple[int, dt.date, bool], tuple[dt.datetime, bool]
        ] = {}
        # (due, as_of) -> working days and hours left, exact and rounded to two places
        self.left: dict[tuple[dt.datetime, dt.datetime], tuple[float, float, float, float]] = {}

    def __reduce__(self) -> tuple[type[Memo], tuple[()]]:
        return Memo, ()  # a copy starts empty: its keys name objects of this process by id


@dataclass(slots=True)
class Cycle:
    start: dt.datetime
    done: dt.datetime | None = None
    pauses: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    paused_since: dt.datetime | None = None


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class Clock:
    """One cycle of one deadline, judged at as_of."""

    deadline: Deadline
    cycle: int
    status: str  # not_started | running | at_risk | breached | met | late
    start: dt.datetime | None = None
    due: dt.datetime | None = None
    done: dt.datetime | None = None
    provisional: bool = False
    working_days_left: float | None = None  # negative when over
    hours_left: float | None = None
    elapsed_share: float | None = None
    paused: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    paused_now: bool = False
    # a partial record: the start (or the stop) is the earliest later step that proves it
    start_inferred: bool = False
    done_inferred: bool = False
    inferred_from: str | None = None


def iso_seconds(t: dt.datetime, memo: Memo) -> str:
    """`t.isoformat(timespec="seconds")`, looked up for a due time met before."""
    text = memo.iso.get(t)
    if text is None:
        if len(memo.iso) >= MEMO_LIMIT:
            memo.iso.clear()
        text = memo.iso[t] = t.isoformat(timespec="seconds") if t.microsecond else t.isoformat()
    return text


def local_date(t: dt.datetime) -> dt.date:
    """The day of an instant in Asia/Shanghai. Shanghai has kept UTC+8 since 1991, so a time
    written with +08:00 (as cases are) is read as it stands, without a zone conversion."""
    if t.tzinfo is SHANGHAI or (t.utcoffset() == EIGHT_HOURS and t.year > 1991):
        return t.date()
    return t.astimezone(SHANGHAI).date()


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, END_OF_DAY, SHANGHAI)


def add_months(day: dt.date, months: int) -> dt.date:
    """民法典 art. 202: the corresponding day of the final month, or that month's last day."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


def start_day(local: dt.datetime, cal: Calendar, counting: Counting) -> dt.date:
    """The (uncounted) start day of a day-counted period: the event's date in Shanghai, or, under
    `receipt: next_working_day`, the next working day for an event on a rest day or after the
    receipt cut-off (W3, W4b). With `count_start_day` (含受理当日) the day of receipt is the
    first day counted, so the uncounted start is the day before it."""
    day = local.date()
    if counting.receipt == "next_working_day":
        late = counting.receipt_cutoff is not None and local.time() >= counting.receipt_cutoff
        if late or not cal.is_working_day(day):
            day = cal.nth_working_day_after(day, 1)
    if counting.count_start_day:
        day -= dt.timedelta(days=1)
    return day


def due_time(
    duration: Duration,
    start: dt.datetime,
    cal: Calendar,
    pauses: list[tuple[dt.datetime, dt.datetime]] | None = None,
    roll: str = "none",
    counting: Counting | None = None,
) -> dt.datetime:
    """The last allowed instant of a period that starts at `start`, after the given pauses."""
    pauses = pauses or []
    counting = counting or DEFAULT_COUNTING
    local = start.astimezone(SHANGHAI)
    kind, n = duration.kind, duration.amount
    if counting.ends == "close":  # 民法典 art. 203(2): the close of business hours

        def end_of(day: dt.date) -> dt.datetime:
            return dt.datetime.combine(day, cal.business_hours[-1][1], SHANGHAI)

    else:
        end_of = end_of_day

    if kind == "hours":
        paused = sum(((b - a) for a, b in pauses), dt.timedelta())
        return local + dt.timedelta(hours=n) + paused
    if kind == "working_hours":
        return cal.add_working_hours(local, n * HOUR, list(pauses))
    if kind == "working_days":
        return end_of(_working_days_due(start_day(local, cal, counting), n, cal, pauses))
    if kind == "same_day":  # 当天: 24:00 of the event's day, or of the next working day
        return end_of(cal.working_day_on_or_after(local.date()))
    if kind == "same_day_cutoff":
        assert duration.cutoff is not None
        day = local.date()
        if not (cal.is_working_day(day) and local.time() < duration.cutoff):
            day = cal.nth_working_day_after(day, 1)
        return dt.datetime.combine(day, duration.cutoff, SHANGHAI)
    if kind == "end_of_month":
        last = add_months(local.date().replace(day=1), 1) - dt.timedelta(days=1)
        if roll == "forward":
            last = cal.working_day_on_or_after(last)
        elif roll == "backward":
            while not cal.is_working_day(last):
                last -= dt.timedelta(days=1)
        due = end_of(last)
        if due < local:  # 6a: a roll (or the close) before the start gives the next working day
            return end_of(cal.nth_working_day_after(local.date(), 1))
        return due
    # calendar days, weeks, months: only the last day rolls (art. 203); pauses extend the period
    paused_days = sum(
        ((b.astimezone(SHANGHAI).date() - a.astimezone(SHANGHAI).date()).days for a, b in pauses), 0
    )
    base = start_day(local, cal, counting)
    if kind == "months":
        last = add_months(base, n)
    else:
        last = base + dt.timedelta(days=n * (7 if kind == "weeks" else 1))
    last += dt.timedelta(days=paused_days)
    return end_of(cal.working_day_on_or_after(last))


def _working_days_due(
    start: dt.date, n: int, cal: Calendar, pauses: list[tuple[dt.datetime, dt.datetime]]
) -> dt.date:
    """W18: the day a pause begins counts as used; the resume day is a new, uncounted start day."""
    remaining, anchor = n, start
    for a, b in pauses:
        pause_day = a.astimezone(SHANGHAI).date()
        remaining -= max(0, cal.working_days_between(anchor, pause_day))
        anchor = b.astimezone(SHANGHAI).date()
    return cal.nth_working_day_after(anchor, max(remaining, 0))


def fold(deadline: Deadline, events: list[tuple[dt.datetime, str]]) -> list[Cycle]:
    """Replay the event log (sorted by time) into cycles: start, pause, resume, stop, restart."""
    cycles: list[Cycle] = []
    current: Cycle | None = None
    starts, stops = deadline.start, deadline.stop
    for at, name in events:
        if current is None:
            if name in starts:
                current = Cycle(at)
                cycles.append(current)
            continue
        if name in stops:
            if current.paused_since is not None:
                current.pauses.append((current.paused_since, at))
                current.paused_since = None
            current.done = at
            current = None
        elif name in deadline.pause and current.paused_since is None:
            current.paused_since = at
        elif name in deadline.resume and current.paused_since is not None:
            if deadline.restart_on_resume:  # 补正: the period starts again from the resume
                current.start, current.pauses = at, []
            else:
                current.pauses.append((current.paused_since, at))
            current.paused_since = None
    return cycles


def judge(
    deadline: Deadline,
    events: list[tuple[dt.datetime, str]],
    as_of: dt.datetime,
    cal: Calendar,
    memo: Memo | None = None,
) -> list[Clock]:
    """The deadline's clocks at as_of. `memo`: due times already worked out on this calendar
    (by id of a deadline that outlives the memo, and start day)."""
    if not deadline.pause and not deadline.resume:  # most deadlines: start, stop, start again
        spans = plain_cycles(deadline, [name for _, name in events])
        return plain_clocks(deadline, spans, events, as_of, cal, memo)
    cycles = fold(deadline, events)
    if not cycles:
        return [Clock(deadline, 1, "not_started")]
    return [_judge_cycle(deadline, i + 1, c, as_of, cal, memo) for i, c in enumerate(cycles)]


def plain_cycles(deadline: Deadline, names: Sequence[str]) -> tuple[tuple[int, int | None], ...]:
    """The cycles of a deadline without pauses over events in time order (their names): the
    index of the event that starts each cycle and of the one that stops it (None: running)."""
    cycles: list[tuple[int, int | None]] = []
    start: int | None = None
    for i, name in enumerate(names):
        if start is None:
            if name in deadline.start:
                start = i
        elif name in deadline.stop:
            cycles.append((start, i))
            start = None
    if start is not None:
        cycles.append((start, None))
    return tuple(cycles)


def plain_clocks(
    deadline: Deadline,
    cycles: tuple[tuple[int, int | None], ...],
    events: list[tuple[dt.datetime, str]],
    as_of: dt.datetime,
    cal: Calendar,
    memo: Memo | None,
) -> list[Clock]:
    """The clocks of a deadline without pauses, from its cycles (plain_cycles) over `events`."""
    if not cycles:
        return [Clock(deadline, 1, "not_started")]
    return [
        plain_clock(
            deadline, n, events[s][0], None if e is None else events[e][0], as_of, cal, memo
        )
        for n, (s, e) in enumerate(cycles, 1)
    ]


def _judge_cycle(
    deadline: Deadline,
    number: int,
    cycle: Cycle,
    as_of: dt.datetime,
    cal: Calendar,
    memo: Memo | None = None,
) -> Clock:
    """One cycle's clock, built once: the due time (after live pauses), then the status."""
    start, paused_since = cycle.start, cycle.paused_since
    if not cycle.pauses and paused_since is None:
        return plain_clock(deadline, number, start, cycle.done, as_of, cal, memo)
    pauses = list(cycle.pauses)
    if paused_since is not None:  # still paused: the pause runs until as_of
        pauses.append((paused_since, max(as_of, paused_since)))
    pauses, due = _live_pauses(deadline, start, pauses, cal)
    if paused_since is not None and (paused_since, max(as_of, paused_since)) not in pauses:
        paused_since = None  # a pause after the due time pauses nothing
    paused = tuple(pauses)
    provisional = cal.is_provisional(due.astimezone(SHANGHAI).date())
    done = cycle.done
    if done is not None:
        status = "met" if done <= due else "late"
        return Clock(deadline, number, status, start, due, done, provisional, paused=paused)
    exact_left, hours = remaining(deadline.duration, due, as_of, cal, exact=True)
    left = (exact_left, hours, round(exact_left, 2), round(hours, 2))
    return _counting(deadline, number, start, due, provisional, as_of, cal, left, pauses,
                     paused_since is not None)  # fmt: skip


def _counting(
    deadline: Deadline,
    number: int,
    start: dt.datetime,
    due: dt.datetime,
    provisional: bool,
    as_of: dt.datetime,
    cal: Calendar,
    left: tuple[float, float, float, float],  # working days and hours, exact then rounded
    pauses: list[tuple[dt.datetime, dt.datetime]],
    paused_now: bool = False,
) -> Clock:
    """The clock of a cycle not done: breached, at risk or running. 6c: the share comes from
    the unrounded time left, so at_risk starts exactly at warn_at."""
    exact_left, _, wd_left, hours_left = left
    paused = tuple(pauses) if pauses else ()
    if as_of > due:
        return Clock(deadline, number, "breached", start, due, None, provisional, wd_left,
                     hours_left, None, paused)  # fmt: skip
    duration = deadline.duration
    if duration.kind == "working_days" and duration.amount > 0:  # elapsed_share's first case
        share = 1 - exact_left / duration.amount
        share = 0.0 if share < 0.0 else 1.0 if share > 1.0 else share
    else:
        share = elapsed_share(duration, start, due, as_of, cal, pauses, exact_left)
    return Clock(
        deadline,
        number,
        "at_risk" if share >= deadline.warn_at else "running",
        start,
        due,
        None,
        provisional,
        wd_left,
        hours_left,
        round(share, 4),
        paused,
        paused_now,
    )


def plain_clock(
    deadline: Deadline,
    number: int,
    start: dt.datetime,
    done: dt.datetime | None,
    as_of: dt.datetime,
    cal: Calendar,
    memo: Memo | None,
) -> Clock:
    """The clock of a cycle that was never paused (most of them)."""
    if memo is None:
        due, provisional = _due_and_provisional(deadline, start, cal)
    elif start.tzinfo is SHANGHAI:  # a deadline counted from the day alone: its own key
        known = memo.due.get((id(deadline), start.date()))
        due, provisional = known if known is not None else _memo_due(deadline, start, cal, memo)
    else:
        due, provisional = _memo_due(deadline, start, cal, memo)
    if done is not None:
        return Clock(deadline, number, "met" if done <= due else "late", start, due, done,
                     provisional)  # fmt: skip
    duration = deadline.duration
    left: tuple[float, float, float, float]
    if memo is None:
        exact_left, hours = remaining(duration, due, as_of, cal, exact=True)
        left = (exact_left, hours, round(exact_left, 2), round(hours, 2))
    elif duration.kind in EXACT_KINDS:  # due at any instant: working days by its day
        last = due if due.tzinfo is SHANGHAI else due.astimezone(SHANGHAI)
        key = (last.date(), as_of, as_of <= due)
        known_days = memo.days.get(key)
        if known_days is None:
            if len(memo.days) >= MEMO_LIMIT:
                memo.days.clear()
            known_days = memo.days[key] = remaining(duration, due, as_of, cal, exact=True)[0]
        hours = (due - as_of).total_seconds() / HOUR
        left = (known_days, hours, round(known_days, 2), round(hours, 2))
    else:
        found = memo.left.get((due, as_of))
        if found is None:
            if len(memo.left) >= MEMO_LIMIT:
                memo.left.clear()
            exact_left, hours = remaining(duration, due, as_of, cal, exact=True)
            found = memo.left[(due, as_of)] = (
                exact_left, hours, round(exact_left, 2), round(hours, 2)
            )  # fmt: skip
        left = found
    return _counting(deadline, number, start, due, provisional, as_of, cal, left, [])


def _memo_due(
    deadline: Deadline, start: dt.datetime, cal: Calendar, memo: Memo
) -> tuple[dt.datetime, bool]:
    """The due time of a cycle without pauses, looked up when it depends on the start's day in
    Shanghai alone (and, with a cut-off, on whether the start is before it)."""
    duration, counting = deadline.duration, deadline.counting
    kind = duration.kind
    if kind in DAY_COUNTED:
        if counting.receipt == "calendar_date" or counting.receipt_cutoff is None:
            key: tuple[int, dt.date] | tuple[int, dt.date, bool] = (id(deadline), local_date(start))
        else:
            local = start if start.tzinfo is SHANGHAI else start.astimezone(SHANGHAI)
            key = (id(deadline), local.date(), local.time() >= counting.receipt_cutoff)
    elif kind == "same_day_cutoff":
        assert duration.cutoff is not None
        local = start if start.tzinfo is SHANGHAI else start.astimezone(SHANGHAI)
        key = (id(deadline), local.date(), local.time() < duration.cutoff)
    elif kind == "hours":  # the exact instant, holidays ignored
        local = start if start.tzinfo is SHANGHAI else start.astimezone(SHANGHAI)
        hours = _HOURS.get(duration.amount)
        if hours is None:
            hours = _HOURS[duration.amount] = dt.timedelta(hours=duration.amount)
        due = local + hours
        return due, due.year not in cal.official_years
    else:  # due at any instant (working hours) or by the month (end of month)
        return _due_and_provisional(deadline, start, cal)
    known = memo.due.get(key)
    if known is None:
        if len(memo.due) >= MEMO_LIMIT:
            memo.due.clear()
        known = memo.due[key] = _due_and_provisional(deadline, start, cal)
    return known


_HOURS: dict[int, dt.timedelta] = {}  # a deadline's hours, as a timedelta (a few per policy)


def _due_and_provisional(
    deadline: Deadline, start: dt.datetime, cal: Calendar
) -> tuple[dt.datetime, bool]:
    due = due_time(deadline.duration, start, cal, None, deadline.roll, deadline.counting)
    return due, cal.is_provisional(due.astimezone(SHANGHAI).date())


def _live_pauses(
    deadline: Deadline,
    start: dt.datetime,
    pauses: list[tuple[dt.datetime, dt.datetime]],
    cal: Calendar,
) -> tuple[list[tuple[dt.datetime, dt.datetime]], dt.datetime]:
    """6b: a pause that begins once the time is used up (on or after the due day, for a
    day-counted clock) does not revive it: it and every later pause are dropped."""
    duration, kept = deadline.duration, list[tuple[dt.datetime, dt.datetime]]()
    due = due_time(duration, start, cal, [], deadline.roll, deadline.counting)
    day_counted = duration.kind not in ("hours", "working_hours")
    for pause in pauses:
        begins = pause[0].astimezone(SHANGHAI)
        if begins >= due or (day_counted and begins.date() >= due.astimezone(SHANGHAI).date()):
            break
        kept.append(pause)
        due = due_time(duration, start, cal, kept, deadline.roll, deadline.counting)
    return kept, due


def remaining(
    duration: Duration, due: dt.datetime, as_of: dt.datetime, cal: Calendar, exact: bool = False
) -> tuple[float, float]:
    """Working days and hours from as_of to due; negative when due has passed. Rounded to two
    places for people unless `exact`."""
    hours = (due - as_of).total_seconds() / HOUR
    now = as_of if as_of.tzinfo is SHANGHAI else as_of.astimezone(SHANGHAI)
    last = due if due.tzinfo is SHANGHAI else due.astimezone(SHANGHAI)
    if now <= last:
        days = float(cal.working_days_between(now.date(), last.date()))
        if cal.is_working_day(now.date()):
            days += 1 - _day_fraction(now)
    else:
        days = -float(cal.working_days_between(last.date(), now.date()))
        if cal.is_working_day(now.date()):
            days += 1 - _day_fraction(now)
            days = min(days, 0.0)
    if exact:
        return days, hours
    return round(days, 2), round(hours, 2)


def _day_fraction(t: dt.datetime) -> float:
    midnight = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return (t - midnight).total_seconds() / 86400.0


def elapsed_share(
    duration: Duration,
    start: dt.datetime,
    due: dt.datetime,
    as_of: dt.datetime,
    cal: Calendar,
    pauses: list[tuple[dt.datetime, dt.datetime]],
    wd_left: float,
) -> float:
    """How much of the time has been used: working time for working-day deadlines, else real."""
    if duration.kind == "working_days" and duration.amount > 0:
        return max(0.0, min(1.0, 1 - wd_left / duration.amount))
    if duration.kind == "working_hours" and duration.amount > 0:
        left = cal.working_seconds_between(as_of, due)
        return max(0.0, min(1.0, 1 - left / (duration.amount * HOUR)))
    paused = sum(((b - a).total_seconds() for a, b in pauses), 0.0)
    total = (due - start).total_seconds() - paused
    if total <= 0:
        return 1.0
    return max(0.0, min(1.0, ((as_of - start).total_seconds() - paused) / total))
