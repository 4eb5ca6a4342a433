"""Calendar data from the `holidays` package, built on purpose and never at run time.

Used by scripts/build_calendar_data.py (the shipped table and its precomputed estimate of the
years after it) and by `procrules calendar update --from-holidays` (which prints what a newer
release would change and writes an override only when asked). Only this module imports
`holidays`, an optional extra (`pip install 'procrules[holidays]'`); no judging command does.
"""

from __future__ import annotations

import datetime as dt
from types import ModuleType
from typing import Any

from .errors import UsageError

FIRST_YEAR = 2010
ESTIMATE_SPAN = 10  # years after the last official one that the table carries an estimate for
ESTIMATE_ORIGIN = "holidays {version} rule-based estimate (statutory holidays only, no 调休 days)"


def import_holidays() -> ModuleType:
    try:
        import holidays
    except ImportError:
        raise UsageError.at(
            "holidays",
            "the holidays package is not installed: pip install 'procrules[holidays]'",
            code="missing_extra",
        ) from None
    return holidays


def version_of(holidays: ModuleType) -> str:
    return str(getattr(holidays, "__version__", "?"))


def china(holidays: ModuleType, years: range) -> Any:
    return holidays.China(years=years, language="zh_CN")


def block_names(cn: Any, year: int, *, joined: bool = False) -> dict[str, str]:
    """Every day of a holiday block (weekends inside it included), with the holiday's name.

    A run of rest days that holds a named holiday is one block; its swapped days (休息日（由 …
    调休）) and its weekends carry the block's name, so that an explanation can say 10-01..10-07
    国庆节. Ordinary weekends are left out: they need no name. `joined` names a block holding
    two holidays by both (国庆节、中秋节), as a complete override year needs."""
    names: dict[str, str] = {}
    day = dt.date(year - 1, 12, 20)
    end = dt.date(year + 1, 1, 10)
    run: list[dt.date] = []
    while day <= end:
        if not cn.is_working_day(day):
            run.append(day)
        elif run:
            _name_run(cn, run, names, year, joined)
            run = []
        day += dt.timedelta(days=1)
    return names


def _name_run(cn: Any, run: list[dt.date], names: dict[str, str], year: int, joined: bool) -> None:
    labels = [str(cn.get(d)) for d in run if cn.get(d) is not None]
    named = [n.replace("（补假）", "").replace("农历除夕", "春节") for n in labels]
    named = [n for n in named if "休息日" not in n]
    if not named:
        return
    distinct = list(dict.fromkeys(named))
    block = "、".join(distinct) if joined else distinct[0]
    for d in run:
        if d.year == year:
            names[d.isoformat()] = block


def official_year(cn: Any, year: int, *, joined: bool = False) -> dict[str, Any]:
    return {
        "rest_days": block_names(cn, year, joined=joined),
        "makeup_working_days": sorted(d.isoformat() for d in cn.weekend_workdays if d.year == year),
    }


def publishes(cn: Any, year: int) -> bool:
    """Whether a `holidays` release carries a notice for `year` (it has make-up days then)."""
    return any(d.year == year for d in cn.weekend_workdays)


def estimate(holidays: ModuleType, first: int, span: int = ESTIMATE_SPAN) -> dict[str, Any]:
    """The provisional years after the table: the rule-based guess, rest days only."""
    guess = china(holidays, range(first, first + span))
    years: dict[str, Any] = {str(y): {"rest_days": {}} for y in range(first, first + span)}
    for day, name in sorted(guess.items()):
        if day.year >= first and "休息日" not in name:
            years[str(day.year)]["rest_days"][day.isoformat()] = f"{name}（预估）"
    return {"origin": ESTIMATE_ORIGIN.format(version=version_of(holidays)), "years": years}


def build_table(holidays: ModuleType, last: int) -> dict[str, Any]:
    cn = china(holidays, range(FIRST_YEAR, last + 1))
    return {
        "name": "cn-mainland",
        "source": f"holidays {version_of(holidays)} (China), State Council notices",
        "official_years": [FIRST_YEAR, last],
        "years": {str(y): official_year(cn, y) for y in range(FIRST_YEAR, last + 1)},
        "estimates": estimate(holidays, last + 1),
    }
