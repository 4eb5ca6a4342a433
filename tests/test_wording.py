"""How dates and time left read for people, on real dates of the official calendar: National
Day 2026, the make-up Saturday 10-10, a year boundary into a provisional year, in both languages.
Each row counts its due time with the real clocks (sla.due_time, sla.remaining), then words it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from procrules.calendar import SHANGHAI, load_calendar
from procrules.sla import due_time, remaining
from procrules.spec.compile import parse_duration
from procrules.wording import day_text, due_text, moment_text, span_text, time_left

CAL = load_calendar()


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


ROWS: list[dict[str, Any]] = [
    {
        "note": "WT approval: 4 working days over National Day, due on the make-up Saturday",
        "start": "2026-09-29T10:00",
        "within": "4 working days",
        "as_of": "2026-10-09T09:00",
        "due": ("10月10日（周六）24:00前", "Sat 10 Oct, 24:00"),
        "left": ("还剩约2个工作日", "about 2 working days left"),
    },
    {
        "note": "the same, on the Monday after the make-up Saturday: one working day overdue",
        "start": "2026-09-29T10:00",
        "within": "4 working days",
        "as_of": "2026-10-12T09:00",
        "due": ("10月10日（周六）24:00前", "Sat 10 Oct, 24:00"),
        "left": ("已超期1个工作日", "1 working day overdue"),
    },
    {
        "note": "7 working days from the eve of National Day, read during the holiday",
        "start": "2026-09-30T17:45",
        "within": "7 working days",
        "as_of": "2026-10-03T12:00",
        "due": ("10月15日（周四）24:00前", "Thu 15 Oct, 24:00"),
        "left": ("还剩约7个工作日", "about 7 working days left"),
    },
    {
        "note": "7 working days from the eve of National Day, three working days late",
        "start": "2026-09-30T17:45",
        "within": "7 working days",
        "as_of": "2026-10-20T10:00",
        "due": ("10月15日（周四）24:00前", "Thu 15 Oct, 24:00"),
        "left": ("已超期3个工作日", "3 working days overdue"),
    },
    {
        "note": "over the year boundary: the due year is shown when it is not the as-of year",
        "start": "2026-12-30T10:00",
        "within": "3 working days",
        "as_of": "2026-12-31T10:00",
        "due": ("2027年1月5日（周二）24:00前", "Tue 5 Jan 2027, 24:00"),
        "left": ("还剩约3个工作日", "about 3 working days left"),
    },
    {
        "note": "over the year boundary, read in the new year: no year, hours overdue",
        "start": "2026-12-30T10:00",
        "within": "3 working days",
        "as_of": "2027-01-06T10:00",
        "due": ("1月5日（周二）24:00前", "Tue 5 Jan, 24:00"),
        "left": ("已超期约10小时", "about 10 hours overdue"),
    },
    {
        "note": "24 hours on the clock during National Day: about 3 hours left",
        "start": "2026-09-30T20:15",
        "within": "24 hours",
        "as_of": "2026-10-01T17:15",
        "due": ("10月1日（周四）20:15前", "Thu 1 Oct, 20:15"),
        "left": ("还剩约3小时", "about 3 hours left"),
    },
    {
        "note": "under an hour left",
        "start": "2026-09-30T20:15",
        "within": "24 hours",
        "as_of": "2026-10-01T19:50",
        "due": ("10月1日（周四）20:15前", "Thu 1 Oct, 20:15"),
        "left": ("还剩不到1小时", "less than an hour left"),
    },
    {
        "note": "a clock deadline ten days late says days, not working days",
        "start": "2026-09-30T20:15",
        "within": "24 hours",
        "as_of": "2026-10-12T09:00",
        "due": ("10月1日（周四）20:15前", "Thu 1 Oct, 20:15"),
        "left": ("已超期10天", "10 days overdue"),
    },
    {
        "note": "late over a weekend only: hours, since no working day has passed",
        "start": "2026-11-19T10:00",
        "within": "1 working days",
        "as_of": "2026-11-22T10:00",
        "due": ("11月20日（周五）24:00前", "Fri 20 Nov, 24:00"),
        "left": ("已超期约34小时", "about 34 hours overdue"),
    },
    {
        "note": "a month: calendar days left",
        "start": "2026-05-14T10:30",
        "within": "6 months",
        "as_of": "2026-10-12T09:00",
        "due": ("11月16日（周一）24:00前", "Mon 16 Nov, 24:00"),
        "left": ("还剩约36天", "about 36 days left"),
    },
    {
        "note": "one hour left, singular in English",
        "start": "2026-10-12T10:00",
        "within": "24 hours",
        "as_of": "2026-10-13T09:00",
        "due": ("10月13日（周二）10:00前", "Tue 13 Oct, 10:00"),
        "left": ("还剩约1小时", "about 1 hour left"),
    },
]


@pytest.mark.parametrize("row", ROWS, ids=[r["note"] for r in ROWS])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_due_and_time_left(row: dict[str, Any], lang: str) -> None:
    duration = parse_duration(row["within"])
    assert duration is not None
    as_of = at(row["as_of"])
    due = due_time(duration, at(row["start"]), CAL)
    wd_left, hours_left = remaining(duration, due, as_of, CAL)
    i = 0 if lang == "zh" else 1
    assert due_text(due, lang, as_of) == row["due"][i]
    assert time_left(duration.kind, hours_left, wd_left, lang) == row["left"][i]


@pytest.mark.parametrize(
    "day,reference,zh,en",
    [
        (dt.date(2026, 10, 10), 2026, "10月10日（周六）", "Sat 10 Oct"),
        (dt.date(2027, 2, 6), 2026, "2027年2月6日（周六）", "Sat 6 Feb 2027"),
        (dt.date(2026, 1, 1), None, "2026年1月1日（周四）", "Thu 1 Jan 2026"),
    ],
)
def test_day_text(day: dt.date, reference: int | None, zh: str, en: str) -> None:
    assert day_text(day, "zh", reference) == zh
    assert day_text(day, "en", reference) == en


def test_moment_and_span() -> None:
    t = dt.datetime(2026, 9, 29, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    assert moment_text(t, "zh", 2026) == "9月29日（周二）10:00"
    assert moment_text(t, "en") == "Tue 29 Sep 2026, 10:00"
    first, last = dt.date(2026, 10, 1), dt.date(2026, 10, 7)
    assert span_text(first, last, "zh", 2026) == "10月1日（周四）至10月7日（周三）"
    assert span_text(first, last, "en", 2026) == "Thu 1 Oct - Wed 7 Oct"
    assert span_text(first, first, "en", 2026) == "Thu 1 Oct"


def test_no_iso_stamps_or_fractions_in_text_output(checker: Any) -> None:
    """The counter's text carries no ISO stamp and no fractional day; the JSON keeps ISO."""
    import re
    from pathlib import Path

    from procrules.report import render_text, report_to_dict

    examples = Path(__file__).resolve().parent.parent / "processes" / "examples"
    for example in sorted(examples.glob("*.json")):
        report = checker.check(example, as_of="2026-10-12T09:00:00+08:00")
        for lang in ("zh", "en"):
            text = render_text(report, lang)
            assert not re.search(r"\d{4}-\d\d-\d\dT", text), (example.name, text)
            assert not re.search(r"\d\.\d+ ?(个工作日|working day)", text), text
        data = report_to_dict(report, "zh")
        for d in data["deadlines"]:
            if d["due"]:
                dt.datetime.fromisoformat(d["due"])
