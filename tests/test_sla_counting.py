"""Counting fixes of issue 7 item 6, on real dates of the 2026 calendar.

(a) an end-of-month due never falls before its start; (b) a pause once the time is used up
does not revive a clock; (c) at_risk starts exactly at the warning share; (d) count_start_day.
"""

from __future__ import annotations

import datetime as dt

import pytest

from procrules.calendar import SHANGHAI, load_calendar
from procrules.sla import due_time, judge
from procrules.spec.compile import parse_duration
from procrules.spec.model import Counting, Deadline, Label

CAL = load_calendar()
D = dt.date


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def deadline(within: str, roll: str = "forward", counting: Counting | None = None) -> Deadline:
    duration = parse_duration(within)
    assert duration is not None
    return Deadline(
        "NC-SURVEY",
        "x",
        Label("x", "x"),
        ("start",),
        ("stop",),
        duration,
        pause=("pause",),
        resume=("resume",),
        roll=roll,
        counting=counting or Counting(),
    )


# -- (a) end of month ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,roll,expected",
    [
        # Sunday 2026-05-31: the month's last working day (Fri 05-29) is before the receipt
        ("2026-05-31T10:00", "backward", at("2026-06-01T23:59:59.999999")),
        ("2026-05-31T10:00", "forward", at("2026-06-01T23:59:59.999999")),
        ("2026-05-31T10:00", "none", at("2026-05-31T23:59:59.999999")),
        # Saturday 2026-10-31
        ("2026-10-31T09:00", "backward", at("2026-11-02T23:59:59.999999")),
        ("2026-10-31T09:00", "forward", at("2026-11-02T23:59:59.999999")),
        # Friday 2026-05-29 is itself the last working day: the same day, not the next
        ("2026-05-29T10:00", "backward", at("2026-05-29T23:59:59.999999")),
    ],
)
def test_end_of_month_never_before_its_start(start: str, roll: str, expected: dt.datetime) -> None:
    d = deadline("end of month", roll)
    assert due_time(d.duration, at(start), CAL, roll=roll) == expected


def test_end_of_month_received_sunday_is_running_an_hour_later() -> None:
    d = deadline("end of month", "backward")
    [clock] = judge(d, [(at("2026-05-31T10:00"), "start")], at("2026-05-31T11:00"), CAL)
    assert clock.status == "running"


def test_end_of_month_after_the_close_gives_the_next_working_days_close() -> None:
    # Wednesday 2026-09-30 18:00, after business hours; 10-01..10-07 are National Day
    got = due_time(
        deadline("end of month").duration,
        at("2026-09-30T18:00"),
        CAL,
        roll="none",
        counting=Counting(ends="close"),
    )
    assert got.date() == D(2026, 10, 8) and got > at("2026-09-30T18:00")


def test_end_of_month_rolls_forward_by_default() -> None:
    # RULES.md: a rest-day last day moves to the next working day (10-31 is a Saturday)
    assert deadline("end of month").roll == "forward"
    got = due_time(deadline("end of month").duration, at("2026-10-15T10:00"), CAL, roll="forward")
    assert got.date() == D(2026, 11, 2)


# -- (b) a pause after the due time -------------------------------------------------------------

START = (at("2026-03-02T09:00"), "start")  # Monday; 2 working days: due Wed 03-04


@pytest.mark.parametrize("pause_at", ["2026-03-05T10:00", "2026-03-04T10:00"])
def test_a_pause_on_or_after_the_due_day_keeps_the_clock_breached(pause_at: str) -> None:
    d = deadline("2 working days")
    events = [START, (at(pause_at), "pause")]
    [clock] = judge(d, events, at("2026-03-06T09:00"), CAL)
    assert clock.due and clock.due.date() == D(2026, 3, 4)
    assert clock.status == "breached" and not clock.paused_now
    events += [(at("2026-03-09T09:00"), "resume"), (at("2026-03-09T15:00"), "stop")]
    [clock] = judge(d, events, at("2026-03-10T09:00"), CAL)
    assert (clock.status, clock.due and clock.due.date()) == ("late", D(2026, 3, 4))


def test_a_pause_before_the_due_day_still_extends_it() -> None:
    d = deadline("2 working days")
    events = [
        START,
        (at("2026-03-03T10:00"), "pause"),
        (at("2026-03-09T10:00"), "resume"),
        (at("2026-03-10T10:00"), "stop"),
    ]
    [clock] = judge(d, events, at("2026-03-11T09:00"), CAL)
    assert clock.status == "met" and clock.due and clock.due.date() == D(2026, 3, 10)


# -- (c) the warning share ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of,status",
    [
        ("2026-03-05T23:59:59", "running"),  # 1.00001 working days left of 4: share < 75%
        ("2026-03-06T00:00:00", "at_risk"),  # exactly 1 of 4 left: 75%
    ],
)
def test_at_risk_starts_exactly_at_the_warning_share(as_of: str, status: str) -> None:
    # Monday 2026-03-02 10:00 + 4 working days: due Friday 03-06 24:00
    [clock] = judge(deadline("4 working days"), [START], at(as_of), CAL)
    assert clock.status == status


# -- (d) count_start_day ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,within,count,expected",
    [
        ("2026-03-02T10:00", "7 working days", False, D(2026, 3, 11)),
        ("2026-03-02T10:00", "7 working days", True, D(2026, 3, 10)),  # 含受理当日
        ("2026-03-01T10:00", "7 working days", True, D(2026, 3, 10)),  # a Sunday is no day
        ("2026-03-02T10:00", "5 days", False, D(2026, 3, 9)),  # Sat 03-07 rolls to Monday
        ("2026-03-02T10:00", "5 days", True, D(2026, 3, 6)),
    ],
)
def test_count_start_day(start: str, within: str, count: bool, expected: dt.date) -> None:
    d = deadline(within, counting=Counting(count_start_day=count))
    assert due_time(d.duration, at(start), CAL, counting=d.counting).date() == expected
