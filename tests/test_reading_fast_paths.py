"""The fast paths of reading a case give what the general ones give: numbers (`case_number`),
facts (`read_facts` beside `coerce`), times (`parse_time` at +08:00), the calendar's span
(beside `Calendar.covers` of the day in Shanghai) and events read out of order."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest

from procrules import Checker
from procrules.calendar import SHANGHAI
from procrules.engine import PLUS_EIGHT, calendar_span, case_number, in_shanghai
from procrules.errors import CaseError
from procrules.expressions import to_decimal
from procrules.limits import MAX_NUMBER, excerpt
from procrules.sla import local_date

AS_OF = dt.datetime(2026, 10, 12, 9, tzinfo=SHANGHAI)


def original_case_number(
    value: Any, file: str, path: str, what: str, low: Decimal | None, high: Decimal | None
) -> Decimal:
    """case_number as it was before its fast paths, word for word."""
    try:
        number = to_decimal(value)
    except TypeError:
        raise CaseError.at(
            file, f"{what} must be a number, not {excerpt(value)}", path=path, code="case_value"
        ) from None
    low = -MAX_NUMBER if low is None else max(low, -MAX_NUMBER)
    high = MAX_NUMBER if high is None else min(high, MAX_NUMBER)
    if number < low:
        message = f"{what} must be at least {low:f}" if low != -MAX_NUMBER else ""
        raise CaseError.at(
            file,
            message or f"{what} must be between {low:f} and {high:f}",
            path=path,
            code="case_value",
        )
    if number > high:
        raise CaseError.at(file, f"{what} must be at most {high:f}", path=path, code="case_value")
    return number


def outcome(read: Any, *args: Any) -> tuple[Any, ...]:
    try:
        value = read(*args)
    except CaseError as exc:
        return ("error", [repr(p) for p in exc.problems])
    return ("ok", type(value), str(value))


NUMBERS: tuple[Any, ...] = (
    0,
    1,
    -1,
    48,
    10**15,
    10**15 + 1,
    -(10**15),
    -(10**15) - 1,
    10**40,
    "0",
    "0.00",
    "1236.50",
    ".5",
    "5.",
    ".",
    "",
    " 12 ",
    "1e3",
    "-3",
    "+3",
    "1" * 16,
    "1" * 60,
    "1" * 61,
    "１２",
    "1.2.3",
    "NaN",
    1.5,
    float("nan"),
    True,
    None,
    Decimal("2.5"),
    Decimal("-0"),
)
BOUNDS = (None, Decimal(0), Decimal("-5"), Decimal("2.5"), Decimal("1e20"), Decimal("-1e20"))


@pytest.mark.parametrize("low", BOUNDS)
@pytest.mark.parametrize("high", BOUNDS)
def test_case_number_as_before(low: Decimal | None, high: Decimal | None) -> None:
    from procrules.engine import ZERO

    for bound in (low, ZERO if low == 0 and low is not None else low):  # ZERO: the fast bound
        for value in NUMBERS:
            args = (value, "case.json", "$.x", "x", bound, high)
            assert outcome(case_number, *args) == outcome(original_case_number, *args), args


def test_facts_read_as_coerce_reads_them(checker: Checker) -> None:
    values: tuple[Any, ...] = (*NUMBERS, "residential", "居民生活用水", "x", False, [], {})
    for versions in checker.specs.versions.values():
        process = versions[0]
        reading = checker.engine.readings[id(process)]
        for name in process.facts:
            for value in values:
                judgement = checker.engine.judge(
                    {"process": process.id, "customer": {"type": "unit"}, "facts": {name: value}},
                    AS_OF,
                )
                try:
                    judgement.read_facts()
                    got: Any = ("ok", judgement.ctx.get(f"facts.{name}"))
                except CaseError as exc:
                    got = ("error", exc.problems)
                other = checker.engine.judge({"process": process.id}, AS_OF)
                try:
                    want: Any = ("ok", other.coerce(reading.facts[name], value))
                    if want[1] is None and process.facts[name].default is not None:
                        want = ("ok", process.facts[name].default)
                except CaseError as exc:
                    want = ("error", exc.problems)
                assert got == want and type(got[1]) is type(want[1]), (process.id, name, value)
                if isinstance(got[1], Decimal):
                    assert str(got[1]) == str(want[1])


TIMES = (
    "2026-05-06T09:00:00+08:00",
    "2026-05-06 09:00:00+08:00",
    "2026-05-06T09:00:00.250+08:00",
    "2026-05-06T09:00+08:00",
    "2026-05-06T09:00:00+0800",
    "1985-07-01T00:00:00+08:00",
    "1900-01-01T00:00:00+08:00",
    "1899-12-31T23:00:00+08:00",
    "2200-12-31T23:59:59+08:00",
    "2201-01-01T00:00:00+08:00",
    "2026-05-06T09:00:00Z",
    "2026-05-06T09:00:00-05:00",
    "2026-05-06T09:00:00",
    "2026-05-06",
    "2026-02-30T09:00:00+08:00",
    "not a time",
)


def reference_time(value: str) -> dt.datetime | str:
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return "not a time"
    if not 1900 <= t.year <= 2200:
        return "out of range"
    return t.replace(tzinfo=SHANGHAI) if t.tzinfo is None else t


def test_parse_time_as_before() -> None:
    from procrules.engine import parse_time

    for value in TIMES:
        want = reference_time(value)
        try:
            got: Any = parse_time(value, ("events", 0, "at"), "case.json")
        except CaseError as exc:
            message = exc.problems[0].message
            got = "not a time" if "not a date" in message else "out of range"
        assert got == want, value
        if isinstance(want, dt.datetime):
            assert got.isoformat() == want.isoformat() and got.utcoffset() == want.utcoffset()
            assert local_date(got) == local_date(want)
            if want.utcoffset() == dt.timedelta(hours=8) and want.year > 1991:
                assert got.tzinfo is SHANGHAI  # the zone object as_of and due times carry


def test_the_calendar_span_is_the_days_it_covers(checker: Checker) -> None:
    calendar = checker.calendar
    span = calendar_span(calendar)
    assert span is not None
    first, last = calendar.first_day, dt.date(calendar.last_year, 12, 31)
    rng = random.Random(5)
    zones = [PLUS_EIGHT, SHANGHAI, dt.UTC, dt.timezone(dt.timedelta(hours=-11))]
    instants = []
    for day in (first, last):
        for minutes in (-1, 0, 1, 60 * 24 - 1, 60 * 24):
            edge = dt.datetime.combine(day, dt.time(), SHANGHAI) + dt.timedelta(minutes=minutes)
            instants += [edge.astimezone(z) for z in zones]
    for _ in range(500):
        day = first + dt.timedelta(days=rng.randint(-400, (last - first).days + 400))
        moment = dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59)))
        instants.append(moment.replace(tzinfo=rng.choice(zones)))
    for at in instants:
        assert (span[0] <= at < span[1]) == calendar.covers(local_date(at)), at
        assert (span[0] <= in_shanghai(at) < span[1]) == calendar.covers(local_date(at)), at


def test_events_out_of_order_are_sorted(checker: Checker) -> None:
    events = [
        {"event": "site_verified", "at": "2026-05-08T10:00:00+08:00"},
        {"event": "application_received", "at": "2026-05-06T09:00:00+08:00"},
        {"event": "order_received", "at": "2026-05-06T09:00:00+08:00"},
        {"event": "order_received", "at": "2026-05-06T00:00:00-01:00"},
    ]
    case = {"process": "account_closure", "customer": {"type": "unit"}, "events": events}
    judgement = checker.engine.judge(case, AS_OF)
    judgement.read_events()
    times = [at for at, _ in judgement.events]
    assert times == sorted(times)
    assert [e for _, e in judgement.events] == [
        "application_received",
        "order_received",
        "order_received",
        "site_verified",
    ]


@pytest.mark.parametrize("edge", ["start", "end"])
def test_the_calendar_edges_in_a_check(checker: Checker, edge: str) -> None:
    """An event, or as_of, on the first or last day the calendar covers is read; a second
    outside it is refused, at +08:00 and at another offset."""
    calendar = checker.calendar
    if edge == "start":
        inside = dt.datetime.combine(calendar.first_day, dt.time(), PLUS_EIGHT)
        outside = inside - dt.timedelta(seconds=1)
    else:
        outside = dt.datetime(calendar.last_year + 1, 1, 1, tzinfo=PLUS_EIGHT)
        inside = outside - dt.timedelta(seconds=1)
    for zone in (PLUS_EIGHT, dt.timezone(dt.timedelta(hours=-5))):
        for at, covered in ((inside, True), (outside, False)):
            text = at.astimezone(zone).isoformat()
            case = {
                "process": "account_closure",
                "customer": {"type": "unit"},
                "events": [{"event": "application_received", "at": text}],
            }
            judgement = checker.engine.judge(case, AS_OF)
            try:
                judgement.read_events()
                read = True
            except CaseError as exc:
                assert exc.problems[0].message == f"{text} is outside the calendar"
                read = False
            assert read is covered, text
            try:
                checker.engine.judge(case, at.astimezone(zone))
                judged = True
            except CaseError:
                judged = False
            assert judged is covered, text


def test_number_text_is_read_once_and_only_under_the_bounds_it_was_read_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """case_number keeps text it read within [0, MAX_NUMBER] (a customer's arrears are mostly
    "0.00"): read again, it is the same value; under other bounds it is checked afresh; the
    memo starts afresh when full."""
    import procrules.engine as engine

    first = case_number("12.50", "a.json", "$.x", "x", engine.ZERO)
    assert case_number("12.50", "b.json", "$.y", "y", None) is first
    assert str(first) == "12.50"
    with pytest.raises(CaseError, match="at most 3"):
        case_number("12.50", "c.json", "$.z", "z", engine.ZERO, Decimal(3))
    assert outcome(case_number, "12.50", "d.json", "$.w", "w", Decimal(20), None)[0] == "error"
    monkeypatch.setattr(engine, "MEMO_LIMIT", 4)
    monkeypatch.setattr(engine, "_TEXT_NUMBERS", {})
    for n in range(10):
        case_number(f"{n}.25", "e.json", "$.v", "v", engine.ZERO)
        assert len(engine._TEXT_NUMBERS) <= 4


@pytest.mark.parametrize("arrears", [*NUMBERS[:24], "12.50", "12.50"])
@pytest.mark.parametrize("months", [0, 3, 10**15, 10**15 + 1, -1, "2", True, 2.0])
def test_the_customer_numbers_read_as_case_number_reads_them(
    checker: Checker, arrears: Any, months: Any
) -> None:
    """read_customer's inline readings (a whole number within bounds, text read before) give
    what case_number gives, and with both numbers wrong the first in the case's order is said."""
    from procrules.engine import ZERO

    for customer in (
        {"type": "unit", "arrears": arrears, "arrears_months": months},
        {"type": "unit", "arrears_months": months, "arrears": arrears},
    ):
        judgement = checker.engine.judge(
            {"process": "household_meter", "customer": customer}, AS_OF
        )
        try:
            judgement.read_customer()
            got: Any = ("ok", [(k, type(v), str(v)) for k, v in judgement.ctx.items()])
        except CaseError as exc:
            got = ("error", [repr(p) for p in exc.problems])
        want: Any = None
        ctx = {}
        for key, value in customer.items():
            if key != "type" and value is not None:
                result = outcome(case_number, value, "<case>", f"$.customer.{key}", key, ZERO)
                if result[0] == "error":
                    want = result
                    break
                value = case_number(value, "<case>", f"$.customer.{key}", key, ZERO)
            ctx[f"customer.{key}"] = value
        if want is None:
            want = (
                "ok",
                [(k, type(v), str(v)) for k, v in {**judgement_base(checker), **ctx}.items()],
            )
        assert got == want, customer


def judgement_base(checker: Checker) -> dict[str, Any]:
    """The context a judgement starts with, before the case is read."""
    return dict(checker.engine.judge({"process": "household_meter"}, AS_OF).ctx)


def test_approval_results_are_made_once_and_shared(checker: Checker) -> None:
    """An approval's result is the same read-only object in every report that names it."""
    import json
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "processes/examples/household_meter.json"
    case = json.loads(example.read_text("utf-8"))
    first, second = checker.check(case, AS_OF), checker.check(dict(case), AS_OF)
    assert first.approvals and first.approvals[0] is second.approvals[0]
    assert first.to_dict() == second.to_dict()
