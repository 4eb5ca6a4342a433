"""A card told on the last working day before 国庆节 repeats at the working-time interval: not on
the seven days off (not even a red card, which may go out at any time when it is new), then on
each working morning, the make-up Saturday 2026-10-10 included and Sunday 10-11 left out."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from procrules.api import Checker

from .conftest import Receiver, at, water_type_case
from .test_watch import make_watcher


def test_a_red_card_repeats_over_national_day_and_the_make_up_saturday(
    checker: Checker, policy_folder: Path, receiver: Receiver, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    case = water_type_case("WT-1", [("order_received", "2026-09-22T10:00:00+08:00")])
    day = dt.date(2026, 9, 28)
    while day <= dt.date(2026, 10, 12):
        for hour in (7, 9, 13, 21):  # before the window, in it, and at night
            w.run_once([case], at(f"{day}T{hour:02d}:00"))
        day += dt.timedelta(days=1)
    told = [
        (d["created_at"][:16], d["level"], d["reason"])
        for d in map(json.loads, (policy_folder / "desk.jsonl").read_text("utf-8").splitlines())
        if d["receiver"] == "deputy_gm"  # the approver the rules chose (高改低)
    ]
    assert told == [
        ("2026-09-29T09:00", "blue", "first notification"),
        ("2026-09-29T13:00", "yellow", "first notification"),
        # the approval's limit passed at the end of 09-29: red goes out at once, before the
        # window opens (any time); it was told on 09-30, so it repeats on the next working day:
        # 10-01..10-07 are off, not even a red card repeats then
        ("2026-09-30T07:00", "red", "first notification"),
        ("2026-10-08T09:00", "red", "repeat interval elapsed"),
        ("2026-10-09T09:00", "red", "repeat interval elapsed"),
        ("2026-10-10T09:00", "red", "repeat interval elapsed"),  # the make-up Saturday
        ("2026-10-12T09:00", "red", "repeat interval elapsed"),  # Sunday 10-11 is off
    ]
    hook = [b["groupLabels"]["level"] for b in receiver.received]
    assert hook.count("red") == len([t for t in told if t[1] == "red"])
