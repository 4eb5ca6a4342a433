"""Regenerate src/procrules/data/cn_mainland.json from the `holidays` package.

The engine reads this table instead of importing `holidays` (about 200 ms of import and
construction): the official years, and an estimate of the ten years after them (rule-based
statutory holidays, no 调休 days) for deadlines that fall in a year not yet published. Run it on
purpose when a new State Council notice is in a `holidays` release, and review the diff; the test
suite cross-checks the table against `holidays` and `chinese_calendar` for every day. Staff who
cannot wait for a release add the year to calendar.yaml (`procrules calendar update`).

Usage: python scripts/build_calendar_data.py [LAST_OFFICIAL_YEAR]   (needs procrules[holidays])
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from procrules.calendar_build import build_table, import_holidays

OUT = Path(__file__).resolve().parent.parent / "src" / "procrules" / "data" / "cn_mainland.json"


def main() -> None:
    last = int(sys.argv[1]) if len(sys.argv) > 1 else 2026
    data = build_table(import_holidays(), last)
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
    first, last = data["official_years"]
    print(f"wrote {OUT} (official {first}-{last}, estimated {last + 1}-{last + 10})")


if __name__ == "__main__":
    main()
