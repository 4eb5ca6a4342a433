"""The working-day calendar and every counting convention, on real dates.

Worked examples W1-W19 are from the research (calendar-sla.md); each row names the naive answer
it catches.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procrules.calendar import SHANGHAI, load_calendar
from procrules.errors import SpecError
from procrules.sla import add_months, due_time, judge
from procrules.spec.compile import parse_duration
from procrules.spec.model import Counting, Deadline, Label

CAL = load_calendar()
D = dt.date


def at(text: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=SHANGHAI)


def due(start: str, within: str, pauses=(), roll: str = "none") -> dt.datetime:  # type: ignore[no-untyped-def]
    duration = parse_duration(within)
    assert duration is not None, within
    return due_time(duration, at(start), CAL, [(at(a), at(b)) for a, b in pauses], roll)


# -- the official table against both libraries ----------------------------------------------


def test_every_day_2010_2026_agrees_with_holidays_and_chinese_calendar() -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    cn = holidays.China(years=range(2010, 2027))
    day, mismatches = D(2010, 1, 1), []
    while day <= D(2026, 12, 31):
        ours = CAL.is_working_day(day)
        if ours != cn.is_working_day(day) or ours != chinese_calendar.is_workday(day):
            mismatches.append(day)
        day += dt.timedelta(days=1)
    assert mismatches == []


@pytest.mark.parametrize("year,working_days", [(2024, 251), (2025, 248), (2026, 248)])
def test_official_working_day_totals(year: int, working_days: int) -> None:
    assert CAL.working_days_between(D(year - 1, 12, 31), D(year, 12, 31)) == working_days


@pytest.mark.parametrize(
    "day,working,note",
    [
        (D(2026, 2, 14), True, "调休上班"),  # make-up Saturday before Spring Festival
        (D(2026, 2, 15), False, "春节"),
        (D(2026, 2, 21), False, "春节"),  # a weekend inside the block carries its name
        (D(2026, 2, 23), False, "春节"),  # Monday off, swapped for 02-28
        (D(2026, 2, 28), True, "调休上班"),
        (D(2026, 9, 20), True, "调休上班"),  # make-up Sunday before National Day
        (D(2026, 10, 1), False, "国庆节"),
        (D(2026, 10, 7), False, "国庆节"),
        (D(2026, 10, 10), True, "调休上班"),
        (D(2026, 10, 11), False, None),  # an ordinary Sunday
        (D(2025, 10, 8), False, "国庆节"),  # 2025: National Day and Mid-Autumn merged, 8 days
        (D(2026, 1, 4), True, "调休上班"),
    ],
)
def test_days_of_2026(day: dt.date, working: bool, note: str | None) -> None:
    info = CAL.info(day)
    assert (info.working, info.note) == (working, note)


# -- worked examples W1-W19 -----------------------------------------------------------------

WORKED = [
    # id, start, within, expected due (last allowed instant), naive answer it catches
    ("W1", "2026-02-10T10:00", "7 working days", "2026-02-26T23:59:59", "Mon-Fri 02-19"),
    ("W2", "2026-09-28T09:00", "7 working days", "2026-10-13T23:59:59", "no-调休 10-14"),
    ("W4a", "2026-10-03T11:00", "3 working days", "2026-10-10T23:59:59", "Mon-Fri 10-07"),
    ("W5", "2025-12-25T10:00", "15 working days", "2026-01-16T23:59:59", "expand=False 01-15"),
    ("W6", "2025-01-24T10:00", "5 working days", "2025-02-07T23:59:59", "no-调休 02-10"),
    ("W7", "2026-01-31T10:00", "1 month", "2026-02-28T23:59:59", "Saturday rolls 03-02"),
    ("W8", "2025-12-31T10:00", "1 month", "2026-02-02T23:59:59", "no roll 01-31"),
    ("W9", "2026-04-01T10:00", "6 months", "2026-10-08T23:59:59", "no roll 10-01"),
    ("W10", "2025-08-19T10:00", "6 months", "2026-02-24T23:59:59", "no roll 02-19"),
    ("W11", "2026-09-16T10:00", "15 days", "2026-10-08T23:59:59", "no roll 10-01"),
    ("W13a", "2026-02-14T10:00", "same day before 17:00", "2026-02-14T17:00:00", "Mon-Fri 02-16"),
    (
        "W13b",
        "2026-09-30T17:30",
        "same day before 17:00",
        "2026-10-08T17:00:00",
        "next weekday 10-01",
    ),
    ("W14", "2026-09-30T20:15", "24 hours", "2026-10-01T20:15:00", "working hours 10-12"),
    ("W15", "2026-02-13T16:30:00+00:00", "3 working days", "2026-02-26T23:59:59", "UTC date 02-25"),
    ("W16", "2026-02-13T15:00", "4 working hours", "2026-02-14T10:30:00", "Mon-Fri 02-16 10:30"),
]


@pytest.mark.parametrize("ident,start,within,expected,naive", WORKED, ids=[w[0] for w in WORKED])
def test_worked_example(ident: str, start: str, within: str, expected: str, naive: str) -> None:
    assert due(start, within).replace(microsecond=0) == at(expected), naive


def test_w3_after_hours_deemed_received_next_working_day_and_ends_at_close() -> None:
    """3 working days, close 17:00, receipts after 17:00 deemed received the next working day:
    Fri 2026-02-13 18:30 is deemed received on the make-up Saturday 02-14 (not counted)."""
    counting = Counting("next_working_day", dt.time(17), "close")
    got = due_time(
        parse_duration("3 working days"),
        at("2026-02-13T18:30"),
        CAL,
        None,
        "none",  # type: ignore[arg-type]
        counting,
    )
    assert got == at("2026-02-26T17:00")
    assert due("2026-02-13T18:30", "3 working days").date() == D(2026, 2, 25)  # policy (a)


def test_w4_receipt_on_a_holiday_under_both_policies() -> None:
    duration = parse_duration("3 working days")
    start = at("2026-10-03T11:00")
    calendar_date = due_time(duration, start, CAL)  # type: ignore[arg-type]
    next_working = due_time(duration, start, CAL, None, "none", Counting("next_working_day"))  # type: ignore[arg-type]
    assert (calendar_date.date(), next_working.date()) == (D(2026, 10, 10), D(2026, 10, 12))


def test_w12_end_of_month_rolls() -> None:
    assert due("2026-10-15T10:00", "end of month", roll="forward").date() == D(2026, 11, 2)
    assert due("2026-10-15T10:00", "end of month", roll="backward").date() == D(2026, 10, 30)
    assert due("2026-10-15T10:00", "end of month").date() == D(2026, 10, 31)
    for roll in ("forward", "backward"):  # 02-28 is a make-up working Saturday: no roll
        assert due("2026-02-10T10:00", "end of month", roll=roll).date() == D(2026, 2, 28)


def test_w17_working_hours_with_a_pause() -> None:
    got = due(
        "2026-09-29T16:00", "8 working hours", pauses=[("2026-09-30T09:30", "2026-10-09T16:00")]
    )
    assert got == at("2026-10-10T15:00")


def test_w18_working_days_pause_continue_and_restart() -> None:
    pauses = [("2026-02-12T11:00", "2026-02-26T15:00")]
    assert due("2026-02-10T10:00", "7 working days", pauses=pauses).date() == D(2026, 3, 4)
    deadline = _deadline("7 working days", restart=True)
    events = [
        (at("2026-02-10T10:00"), "start"),
        (at("2026-02-12T11:00"), "pause"),
        (at("2026-02-26T15:00"), "resume"),
    ]
    [clock] = judge(deadline, events, at("2026-03-01T09:00"), CAL)
    assert clock.due and clock.due.date() == D(2026, 3, 6)


def test_w19_a_start_after_a_stop_opens_a_new_cycle() -> None:
    deadline = _deadline("7 working days")
    events = [
        (at("2026-02-24T09:00"), "start"),
        (at("2026-03-03T16:00"), "stop"),
        (at("2026-03-05T09:00"), "start"),
    ]
    first, second = judge(deadline, events, at("2026-03-17T09:00"), CAL)
    assert (first.status, first.cycle) == ("met", 1)
    assert (second.status, second.cycle) == ("breached", 2)
    assert second.due and second.due.date() == D(2026, 3, 16)


def _deadline(within: str, restart: bool = False) -> Deadline:
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
        restart_on_resume=restart,
    )


# -- statuses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of,status",
    [
        ("2026-09-28T10:00", "running"),
        ("2026-10-12T09:00", "at_risk"),  # 75% of the working time has elapsed
        ("2026-10-13T23:59:59", "at_risk"),  # the last second of the last day is still in time
        ("2026-10-14T00:00:00", "breached"),
    ],
)
def test_status_over_time(as_of: str, status: str) -> None:
    [clock] = judge(
        _deadline("7 working days"), [(at("2026-09-28T09:00"), "start")], at(as_of), CAL
    )
    assert clock.status == status


def test_done_on_the_last_day_is_met_and_after_is_late() -> None:
    d = _deadline("7 working days")
    start = (at("2026-09-28T09:00"), "start")
    [met] = judge(d, [start, (at("2026-10-13T23:00"), "stop")], at("2026-10-20T09:00"), CAL)
    [late] = judge(d, [start, (at("2026-10-14T08:00"), "stop")], at("2026-10-20T09:00"), CAL)
    assert (met.status, late.status) == ("met", "late")


def test_not_started_without_its_start_event() -> None:
    [clock] = judge(
        _deadline("2 working days"), [(at("2026-03-01T09:00"), "stop")], at("2026-03-05T09:00"), CAL
    )
    assert clock.status == "not_started" and clock.due is None


# -- months and month ends ------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,months,expected",
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2026, 1, 31), 2, D(2026, 3, 31)),  # from the anchor, not 01-31 -> 02-28 -> 03-28
        (D(2025, 8, 31), 6, D(2026, 2, 28)),
        (D(2026, 12, 15), 1, D(2027, 1, 15)),
    ],
)
def test_add_months_clamps_to_the_month_end(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


# -- provisional years and overrides ----------------------------------------------------------


def test_2027_is_provisional_and_reported(checker) -> None:  # type: ignore[no-untyped-def]
    assert CAL.is_provisional(D(2027, 1, 5)) and not CAL.is_provisional(D(2026, 12, 31))
    case = {
        "process": "water_type_change",
        "customer": {"type": "individual", "water_type": "special", "arrears": 0},
        "documents": ["id_card_copy"],
        "facts": {"target_water_type": "residential"},
        "events": [{"event": "order_received", "at": "2026-12-30T10:00:00+08:00"}],
    }
    report = checker.check(case, as_of="2026-12-30T12:00:00+08:00").to_dict()
    codes = {(f["code"], f["rule"]) for f in report["findings"]}
    assert ("calendar_provisional", "WT-APPROVER") in codes
    assert all(d["provisional"] for d in report["deadlines"])


def test_an_override_year_becomes_official(tmp_path: Path) -> None:
    override = tmp_path / "calendar.yaml"
    override.write_text(
        "years:\n  2027:\n    rest_days: {2027-01-04: 元旦}\n"
        "    makeup_working_days: [2027-01-09]\n"
        "    absent_holidays: [春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节]\n"
        "closures:\n  - {date: 2026-12-31, name: 年终盘点}\n",
        encoding="utf-8",
    )
    cal = load_calendar(override)
    assert not cal.is_provisional(D(2027, 3, 1))
    assert not cal.is_working_day(D(2027, 1, 4))
    assert cal.is_working_day(D(2027, 1, 9))  # a Saturday made a working day
    assert cal.info(D(2026, 12, 31)).note == "年终盘点"
    assert cal.version != CAL.version


def test_a_bad_override_names_file_line_and_path(tmp_path: Path) -> None:
    override = tmp_path / "calendar.yaml"
    override.write_text("name: x\nclosures:\n  - {date: 2026-13-01}\n", encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_calendar(override)
    [problem] = exc.value.problems
    assert (problem.line, problem.path) == (3, "$.closures[0].date")


# -- properties -----------------------------------------------------------------------------

days = st.dates(min_value=D(2010, 1, 1), max_value=D(2026, 11, 30))


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=30))
def test_a_working_day_due_date_is_a_working_day_n_after(start: dt.date, n: int) -> None:
    last = CAL.nth_working_day_after(start, n)
    assert CAL.is_working_day(last)
    assert CAL.working_days_between(start, last) == n
    assert CAL.working_days_between(start, last - dt.timedelta(days=1)) == n - 1


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=dt.datetime(2010, 1, 1), max_value=dt.datetime(2026, 11, 1)),
    hours=st.integers(min_value=1, max_value=200),
)
def test_hour_deadlines_ignore_the_calendar(start: dt.datetime, hours: int) -> None:
    begin = start.replace(tzinfo=SHANGHAI)
    assert due_time(parse_duration(f"{hours} hours"), begin, CAL) == begin + dt.timedelta(
        hours=hours
    )  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=12))
def test_a_month_due_date_is_a_working_day_on_or_after_the_corresponding_day(
    start: dt.date, n: int
) -> None:
    got = due_time(
        parse_duration(f"{n} months"),  # type: ignore[arg-type]
        dt.datetime.combine(start, dt.time(10), SHANGHAI),
        CAL,
    ).date()
    assert got >= add_months(start, n) and CAL.is_working_day(got)
    assert CAL.working_days_between(add_months(start, n) - dt.timedelta(days=1), got) == 1
