"""Regenerate src/procrules/data/cn_mainland.json from the `holidays` package.

The engine reads this table instead of importing `holidays` at start-up (about 200 ms of import
and construction). Run it when a new State Council notice is in a `holidays` release; the test
suite cross-checks the table against `holidays` and `chinese_calendar` for every day.

Usage: python scripts/build_calendar_data.py [LAST_OFFICIAL_YEAR]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import holidays

FIRST_YEAR = 2010
OUT = Path(__file__).resolve().parent.parent / "src" / "procrules" / "data" / "cn_mainland.json"


def block_names(cn: holidays.HolidayBase, year: int) -> dict[str, str]:
    """Every day of a holiday block (weekends inside it included), with the holiday's name.

    A run of rest days that holds a named holiday is one block; its swapped days (休息日（由 …
    调休）) and its weekends carry the block's name, so that an explanation can say 10-01..10-07
    国庆节. Ordinary weekends are left out: they need no name.
    """
    names: dict[str, str] = {}
    day = dt.date(year - 1, 12, 20)
    end = dt.date(year + 1, 1, 10)
    run: list[dt.date] = []
    while day <= end:
        if not cn.is_working_day(day):
            run.append(day)
        elif run:
            _name_run(cn, run, names, year)
            run = []
        day += dt.timedelta(days=1)
    return names


def _name_run(
    cn: holidays.HolidayBase, run: list[dt.date], names: dict[str, str], year: int
) -> None:
    labels = [str(cn.get(d)) for d in run if cn.get(d) is not None]
    named = [n for n in labels if "休息日" not in n]
    if not named:
        return
    block = named[0].replace("（补假）", "").replace("农历除夕", "春节")
    for d in run:
        if d.year == year:
            names[d.isoformat()] = block


def main() -> None:
    last = int(sys.argv[1]) if len(sys.argv) > 1 else 2026
    cn = holidays.China(years=range(FIRST_YEAR, last + 1), language="zh_CN")
    years = {}
    for year in range(FIRST_YEAR, last + 1):
        off = block_names(cn, year)
        makeup = sorted(d.isoformat() for d in cn.weekend_workdays if d.year == year)
        years[str(year)] = {"rest_days": off, "makeup_working_days": makeup}
    data = {
        "name": "cn-mainland",
        "source": f"holidays {holidays.__version__} (China), State Council notices",
        "official_years": [FIRST_YEAR, last],
        "years": years,
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {OUT} ({FIRST_YEAR}-{last})")


if __name__ == "__main__":
    main()
