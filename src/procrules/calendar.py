"""The working-day calendar: mainland China's official holidays, make-up working days (调休),
a utility's own closing days, and business hours.

Built once from data (the shipped table of State Council notices plus an optional override
file), then answers every question by bisecting a sorted array of working-day ordinals: no
day-by-day loops on the hot path. It knows which years are official and which are a guess.
It never reads the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .cache import load_policy_yaml
from .errors import SpecError, UsageError
from .source import Document

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_BUSINESS_HOURS = ((dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 0)))
PROVISIONAL_SPAN_YEARS = 10  # how far past the last official year a guessed calendar reaches
MAKEUP_NOTE = "调休上班"


@dataclass(frozen=True)
class DayInfo:
    day: dt.date
    working: bool
    note: str | None  # holiday name, 调休上班, or the utility's closure name
    provisional: bool


class Calendar:
    """Working days on one calendar version. Immutable after construction; safe across threads."""

    def __init__(
        self,
        *,
        name: str,
        official: dict[int, dict[str, Any]],
        closures: dict[dt.date, str] | None = None,
        business_hours: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_BUSINESS_HOURS,
        source: str = "",
        fingerprint: str = "",
    ) -> None:
        if not official:
            raise ValueError("a calendar needs at least one official year")
        self.name = name
        self.source = source
        self.business_hours = business_hours
        self.first_year = min(official)
        self.last_official_year = max(official)
        self.official_years = frozenset(official)
        self._closures = dict(closures or {})
        self._rest: dict[dt.date, str] = {}
        self._makeup: set[dt.date] = set()
        for year in official.values():
            for day, label in year.get("rest_days", {}).items():
                self._rest[dt.date.fromisoformat(day)] = label
            for day in year.get("makeup_working_days", []):
                self._makeup.add(dt.date.fromisoformat(day))
        self._rest.update(self._closures)
        self.first_day = dt.date(self.first_year, 1, 1)
        self.last_day = dt.date(self.last_official_year, 12, 31)
        self._ords = self._build(self.first_day, self.last_day)
        self._extended = False
        self._lock = threading.Lock()
        digest = hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:10]
        self.version = f"{name} {self.first_year}-{self.last_official_year}+{digest}"

    def _build(self, first: dt.date, last: dt.date) -> array[int]:
        return array(
            "i",
            (
                o
                for o in range(first.toordinal(), last.toordinal() + 1)
                if self._computed_working(dt.date.fromordinal(o))
            ),
        )

    def _extend(self) -> None:
        """Add the provisional years past the official range, the first time a date needs them."""
        with self._lock:
            if self._extended:
                return
            first = self.last_official_year + 1
            for day, label in self._guess_years(first, PROVISIONAL_SPAN_YEARS).items():
                self._rest.setdefault(day, label)
            last = dt.date(first + PROVISIONAL_SPAN_YEARS - 1, 12, 31)
            extra = self._build(dt.date(first, 1, 1), last)
            self._ords = self._ords + extra
            self.last_day = last
            self._extended = True

    # -- construction helpers -------------------------------------------------------------
    def _guess_years(self, first: int, span: int) -> dict[dt.date, str]:
        """Unpublished years: `holidays`' rule-based guess (no 调休 days), marked provisional."""
        import holidays  # imported here: ~200 ms, and only needed past the official range

        china = holidays.China  # type: ignore[attr-defined]
        guess = china(years=range(first, first + span), language="zh_CN")
        return {
            day: f"{name}（预估）"
            for day, name in guess.items()
            if day.year >= first and "休息日" not in name
        }

    def _computed_working(self, day: dt.date) -> bool:
        if day in self._makeup:
            return True
        if day in self._rest:
            return False
        return day.weekday() < 5

    # -- queries ---------------------------------------------------------------------------
    def _check(self, day: dt.date) -> None:
        if day > self.last_day and not self._extended:
            self._extend()
        if not self.first_day <= day <= self.last_day:
            raise UsageError.at(
                "calendar",
                f"{day.isoformat()} is outside the calendar ({self.first_day} to {self.last_day})",
                code="calendar_range",
            )

    def covers(self, day: dt.date) -> bool:
        """Whether the calendar can count on this day (official years and the guessed ones)."""
        last = dt.date(self.last_official_year + PROVISIONAL_SPAN_YEARS, 12, 31)
        return self.first_day <= day <= last

    def is_provisional(self, day: dt.date) -> bool:
        return day.year > self.last_official_year and day.year not in self.official_years

    def is_working_day(self, day: dt.date) -> bool:
        self._check(day)
        o = day.toordinal()
        i = bisect_left(self._ords, o)
        return i < len(self._ords) and self._ords[i] == o

    def info(self, day: dt.date) -> DayInfo:
        working = self.is_working_day(day)
        if day in self._makeup and day.weekday() >= 5:
            note: str | None = MAKEUP_NOTE
        else:
            note = None if working else self._rest.get(day)
        return DayInfo(day, working, note, self.is_provisional(day))

    def nth_working_day_after(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day strictly after `day` (民法典 art. 201: start day not counted).

        n = 0 gives `day` itself when it is a working day, else the next working day.
        """
        self._check(day)
        o = day.toordinal()
        i = bisect_right(self._ords, o) + n - 1 if n > 0 else bisect_left(self._ords, o)
        if i >= len(self._ords) and not self._extended:
            self._extend()
        if not 0 <= i < len(self._ords):
            raise UsageError.at(
                "calendar",
                f"{n} working days after {day} leave the calendar",
                code="calendar_range",
            )
        return dt.date.fromordinal(self._ords[i])

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        return self.nth_working_day_after(day, 0)

    def working_days_between(self, after: dt.date, upto: dt.date) -> int:
        """How many working days d satisfy after < d <= upto (negative when upto < after)."""
        self._check(after)
        self._check(upto)
        return bisect_right(self._ords, upto.toordinal()) - bisect_right(
            self._ords, after.toordinal()
        )

    def days(self, first: dt.date, last: dt.date) -> list[DayInfo]:
        out = []
        day = first
        while day <= last:
            out.append(self.info(day))
            day += dt.timedelta(days=1)
        return out

    # -- business hours --------------------------------------------------------------------
    def add_working_hours(
        self,
        start: dt.datetime,
        seconds: float,
        pauses: list[tuple[dt.datetime, dt.datetime]] | None = None,
    ) -> dt.datetime:
        """Walk business hours on working days from `start` until `seconds` have been served."""
        pauses = pauses or []
        local = start.astimezone(SHANGHAI)
        remaining = seconds
        day = local.date()
        while True:
            if self.is_working_day(day):
                for opens, closes in self.business_hours:
                    lo = dt.datetime.combine(day, opens, SHANGHAI)
                    hi = dt.datetime.combine(day, closes, SHANGHAI)
                    for a, b in _subtract(max(lo, local), hi, pauses):
                        span = (b - a).total_seconds()
                        if span >= remaining:
                            return a + dt.timedelta(seconds=remaining)
                        remaining -= span
            day += dt.timedelta(days=1)
            self._check(day)

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        total = 0.0
        local, stop = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
        day = local.date()
        while day <= stop.date():
            if self.is_working_day(day):
                for opens, closes in self.business_hours:
                    a = max(dt.datetime.combine(day, opens, SHANGHAI), local)
                    b = min(dt.datetime.combine(day, closes, SHANGHAI), stop)
                    if b > a:
                        total += (b - a).total_seconds()
            day += dt.timedelta(days=1)
        return total


def _subtract(
    a: dt.datetime, b: dt.datetime, pauses: list[tuple[dt.datetime, dt.datetime]]
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of [a, b) outside every pause interval."""
    pieces = [(a, b)] if b > a else []
    for p0, p1 in pauses:
        nxt = []
        for x, y in pieces:
            if p1 <= x or p0 >= y:
                nxt.append((x, y))
                continue
            if p0 > x:
                nxt.append((x, p0))
            if p1 < y:
                nxt.append((p1, y))
        pieces = nxt
    return pieces


# -- loading --------------------------------------------------------------------------------


def _shipped_table() -> dict[str, Any]:
    # beside this module (package data); importlib.resources would cost a cold start ~3 ms
    text = (Path(__file__).parent / "data" / "cn_mainland.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_calendar(override: Path | None = None) -> Calendar:
    """The shipped official table, with an override file's years, closures and hours on top."""
    table = _shipped_table()
    official = {int(y): v for y, v in table["years"].items()}
    fingerprint = json.dumps(table, sort_keys=True, ensure_ascii=False)
    closures: dict[dt.date, str] = {}
    hours = DEFAULT_BUSINESS_HOURS
    name = str(table["name"])
    source = str(table["source"])
    if override is not None:
        doc = load_policy_yaml(override)
        fingerprint += json.dumps(doc.data, sort_keys=True, ensure_ascii=False, default=str)
        name, hours = _apply_override(doc, official, closures, name, hours)
        source += f"; overrides {override}"
    return Calendar(
        name=name,
        official=official,
        closures=closures,
        business_hours=hours,
        source=source,
        fingerprint=fingerprint,
    )


def _apply_override(
    doc: Document,
    official: dict[int, dict[str, Any]],
    closures: dict[dt.date, str],
    name: str,
    hours: tuple[tuple[dt.time, dt.time], ...],
) -> tuple[str, Any]:
    data = doc.data or {}
    if not isinstance(data, dict):
        raise doc.problem_at(SpecError, (), "a calendar file is a mapping", code="calendar_schema")
    known = {"name", "business_hours", "years", "closures", "description"}
    for key in data:
        if key not in known:
            from .errors import did_you_mean

            raise doc.problem_at(
                SpecError,
                (key,),
                f"unknown calendar key '{key}'",
                code="calendar_schema",
                suggestion=did_you_mean(key, known),
            )
    name = str(data.get("name", name))
    if "business_hours" in data:
        hours = tuple(
            (_time(doc, ("business_hours", i, 0), a), _time(doc, ("business_hours", i, 1), b))
            for i, (a, b) in enumerate(_pairs(doc, data["business_hours"]))
        )
    for year, entry in (data.get("years") or {}).items():
        path: tuple[str | int, ...] = ("years", year)
        if not str(year).isdigit() or not isinstance(entry, dict):
            raise doc.problem_at(
                SpecError,
                path,
                "a year is a 4-digit key with rest_days and makeup_working_days",
                code="calendar_schema",
            )
        rest = {}
        for day, label in (entry.get("rest_days") or {}).items():
            rest[_date(doc, path + ("rest_days", day), day).isoformat()] = str(label)
        makeup = [
            _date(doc, path + ("makeup_working_days", i), d).isoformat()
            for i, d in enumerate(entry.get("makeup_working_days") or [])
        ]
        official[int(year)] = {"rest_days": rest, "makeup_working_days": makeup}
    for i, item in enumerate(data.get("closures") or []):
        if not isinstance(item, dict) or "date" not in item:
            raise doc.problem_at(
                SpecError, ("closures", i), "a closure is {date, name}", code="calendar_schema"
            )
        closures[_date(doc, ("closures", i, "date"), item["date"])] = str(item.get("name", "停业"))
    return name, hours


def _pairs(doc: Document, value: Any) -> list[tuple[Any, Any]]:
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise doc.problem_at(
            SpecError,
            ("business_hours",),
            'business hours are a list of ["08:30", "12:00"] pairs',
            code="calendar_schema",
        )
    return [(a, b) for a, b in value]


def _time(doc: Document, path: tuple[str | int, ...], value: Any) -> dt.time:
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise doc.problem_at(
            SpecError, path, f"'{value}' is not a time like 08:30", code="calendar_schema"
        ) from None


def _date(doc: Document, path: tuple[str | int, ...], value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise doc.problem_at(
            SpecError, path, f"'{value}' is not a date like 2027-02-06", code="calendar_schema"
        ) from None
