"""Repeats and delivery windows on the working-day calendar: National Day 2026 (10-01..10-07 off)
and its make-up Saturday 10-10."""

from __future__ import annotations

import datetime as dt

import pytest

from procrules.alerts.policy import parse_repeat
from procrules.alerts.routing import in_window, next_repeat, next_window_open
from procrules.calendar import SHANGHAI, load_calendar

CAL = load_calendar(None)
WINDOW = (dt.time(8, 30), dt.time(17, 30))


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("sent", "repeat", "due"),
    [
        ("2026-09-29T10:00", "next working day 09:00", "2026-09-30T09:00"),
        ("2026-09-30T16:00", "next working day 09:00", "2026-10-08T09:00"),  # over the holiday
        ("2026-10-09T10:00", "next working day 09:00", "2026-10-10T09:00"),  # make-up Saturday
        ("2026-10-10T10:00", "next working day 09:00", "2026-10-12T09:00"),  # Sunday is off
        ("2026-10-03T07:00", "下一个工作日 09:00", "2026-10-08T09:00"),  # a red sent on a holiday
        ("2026-09-30T10:00", "2 working days later 08:30", "2026-10-09T08:30"),
    ],
)
def test_repeats_count_working_days(sent: str, repeat: str, due: str) -> None:
    parsed = parse_repeat(repeat)
    assert parsed is not None
    assert next_repeat(t(sent), parsed, CAL) == t(due)


@pytest.mark.parametrize(
    ("now", "open_", "opens"),
    [
        ("2026-10-10T10:00", True, "2026-10-10T10:00"),  # make-up Saturday: a working day
        ("2026-10-11T10:00", False, "2026-10-12T08:30"),  # Sunday
        ("2026-10-01T10:00", False, "2026-10-08T08:30"),  # National Day
        ("2026-10-08T08:29", False, "2026-10-08T08:30"),  # before the window
        ("2026-10-09T17:30", False, "2026-10-10T08:30"),  # the window's end is excluded
        ("2026-10-09T23:00", False, "2026-10-10T08:30"),  # night
    ],
)
def test_delivery_windows(now: str, open_: bool, opens: str) -> None:
    assert in_window(t(now), CAL, WINDOW) is open_
    assert next_window_open(t(now), CAL, WINDOW) == t(opens)


@pytest.mark.parametrize("text", ["every morning", "next working day 25:00", "next week 09:00"])
def test_bad_repeats_are_refused(text: str) -> None:
    assert parse_repeat(text) is None
