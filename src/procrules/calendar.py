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

from .errors import UsageError

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_BUSINESS_HOURS = ((dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 0)))
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
        estimates: dict[int, dict[dt.date, str]] | None = None,
        estimate_origin: str = "",
        sources: dict[int, YearSource] | None = None,
    ) -> None:
        if not official:
            raise ValueError("a calendar needs at least one official year")
        self.name = name
        self.source = source
        self.business_hours = business_hours
        self.first_year = min(official)
        self.last_official_year = max(official)
        self.official_years = frozenset(official)
        # Provisional years: every year of the range not declared official, estimated from the
        # table's precomputed guess (rest days only, no 调休). Declaring one year never changes
        # another's status.
        self._estimates = dict(estimates or {})
        self.estimate_origin = estimate_origin
        self.last_year = max(self.last_official_year, max(self._estimates, default=0))
        self.provisional_years = frozenset(
            y for y in range(self.first_year, self.last_year + 1) if y not in official
        )
        self._sources = dict(sources or {})
        self._official = {y: dict(v) for y, v in official.items()}
        self._closures = dict(closures or {})
        self._rest: dict[dt.date, str] = {}
        self._makeup: set[dt.date] = set()
        for entry in official.values():
            for day, label in entry.get("rest_days", {}).items():
                self._rest[dt.date.fromisoformat(day)] = label
            for day in entry.get("makeup_working_days", []):
                self._makeup.add(dt.date.fromisoformat(day))
        for year in self.provisional_years:
            if year < self.last_official_year:  # a gap between official years: built now
                for day, label in self._estimates.get(year, {}).items():
                    self._rest.setdefault(day, label)
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
            if first <= self.last_year:
                for year in range(first, self.last_year + 1):
                    for day, label in self._estimates.get(year, {}).items():
                        self._rest.setdefault(day, label)
                self._rest.update(self._closures)
                last = dt.date(self.last_year, 12, 31)
                self._ords = self._ords + self._build(dt.date(first, 1, 1), last)
                self.last_day = last
            self._extended = True

    def year_days(self, year: int) -> tuple[dict[str, str], list[str]]:
        """A year's rest days (date -> name) and make-up working days as declared: official
        data, else the estimate (which has no make-up days). Closures are not included."""
        if year in self._official:
            entry = self._official[year]
            return dict(entry.get("rest_days", {})), list(entry.get("makeup_working_days", []))
        guess = self._estimates.get(year, {})
        return {d.isoformat(): label for d, label in guess.items()}, []

    def year_sources(self) -> list[YearSource]:
        """Every year of the calendar: official ones with their source, provisional ones with
        the estimate's origin."""
        out = []
        for year in range(self.first_year, self.last_year + 1):
            if year in self._sources:
                out.append(self._sources[year])
            elif year in self.official_years:
                out.append(YearSource(year, True, "table", self.source))
            else:
                origin = self.estimate_origin if year in self._estimates else "weekends only"
                out.append(YearSource(year, False, "estimate", origin))
        return out

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
                f"{day.isoformat()} is outside the calendar "
                f"({self.first_day}..{dt.date(self.last_year, 12, 31)})",
                code="calendar_range",
            )

    def check_range(self, day: dt.date) -> None:
        """Raise calendar_range (exit 2) unless the calendar can count on `day`."""
        self._check(day)

    def covers(self, day: dt.date) -> bool:
        """Whether the calendar can count on this day (official years and the guessed ones)."""
        return self.first_day <= day <= dt.date(self.last_year, 12, 31)

    def is_provisional(self, day: dt.date) -> bool:
        return day.year not in self.official_years

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


@dataclass(frozen=True)
class YearSource:
    """Where an official year comes from (the shipped table, or a line of an override file),
    or, for a provisional year, the estimate's origin."""

    year: int
    official: bool
    origin: str  # "table", "override" or "estimate"
    detail: str  # the table's source, the override's file:line (and notice), the estimate's
    file: str = ""
    line: int = 0


def _shipped_table() -> dict[str, Any]:
    # beside this module (package data); importlib.resources would cost a cold start ~3 ms
    text = (Path(__file__).parent / "data" / "cn_mainland.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_calendar(override: Path | None = None, text: str | None = None) -> Calendar:
    """The shipped official table, with an override file's years, closures and hours on top
    (`text`: the override's text when already read, so it is not read again).

    Years the table and the override do not declare are provisional: their holidays come from
    the estimate precomputed into the table (no `holidays` import at run time)."""
    table = _shipped_table()
    official = {int(y): v for y, v in table["years"].items()}
    estimates = table.get("estimates", {})
    guessed = {
        int(y): {dt.date.fromisoformat(d): label for d, label in v["rest_days"].items()}
        for y, v in estimates.get("years", {}).items()
    }
    sources = {y: YearSource(y, True, "table", str(table["source"])) for y in official}
    fingerprint = json.dumps(table, sort_keys=True, ensure_ascii=False)
    closures: dict[dt.date, str] = {}
    hours: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_BUSINESS_HOURS
    name = str(table["name"])
    source = str(table["source"])
    if override is not None:
        from .calendar_file import read_override

        found = read_override(override, official, text)
        fingerprint += json.dumps(found.data, sort_keys=True, ensure_ascii=False, default=str)
        for year, declared in found.years.items():
            official[year] = {
                "rest_days": declared.rest_days,
                "makeup_working_days": declared.makeup_working_days,
            }
            where = f"{override}:{declared.line}"
            detail = f"{where} ({declared.source})" if declared.source else where
            sources[year] = YearSource(year, True, "override", detail, str(override), declared.line)
        closures = found.closures
        name = found.name or name
        hours = found.business_hours or hours
        source += f"; overrides {override}"
    return Calendar(
        name=name,
        official=official,
        closures=closures,
        business_hours=hours,
        source=source,
        fingerprint=fingerprint,
        estimates=guessed,
        estimate_origin=str(estimates.get("origin", "")),
        sources=sources,
    )
