"""The watcher over days of simulated time: exactly which notifications each channel received
and when, across 国庆节 2026 (Oct 1-7 off) and the make-up Saturday 2026-10-10."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from procrules.alerts.delivery import build_channels
from procrules.alerts.ladder import Alert
from procrules.alerts.policy import load_alert_policy
from procrules.alerts.routing import LogEntry, Silence, inhibited, needs_update, parse_matchers
from procrules.alerts.store import AlertStore, outbox
from procrules.alerts.watcher import Watcher
from procrules.api import Checker

from .conftest import Receiver, at, water_type_case

PASS_HOURS = (7, 9, 13, 20)


def make_watcher(checker: Checker, folder: Path, db: Path) -> Watcher:
    policy = load_alert_policy(checker.specs)
    channels = build_channels(policy.channels, base_dir=folder)
    return Watcher(checker, policy, AlertStore.open(str(db)), channels)


def run_days(
    w: Watcher, cases: list[dict[str, Any]], first: dt.date, last: dt.date
) -> list[dict[str, Any]]:
    passes = []
    day = first
    while day <= last:
        for hour in PASS_HOURS:
            passes.append(w.run_once(cases, at(f"{day}T{hour:02d}:00")))
        day += dt.timedelta(days=1)
    return passes


def desk(folder: Path) -> list[tuple[str, str, str, str, str, list[str]]]:
    out = []
    for line in (folder / "desk.jsonl").read_text("utf-8").splitlines():
        d = json.loads(line)
        rules = [f"{a['labels']['rule']}:{a['status']}" for a in d["alerts"]]
        out.append(
            (d["created_at"][:16], d["receiver"], d["level"], d["status"], d["reason"], rules)
        )
    return out


EXPECTED_DESK = [
    # blue raised on the holiday (10-01 07:00), held until the first working morning's window
    (
        "2026-10-08T09:00",
        "business_office",
        "blue",
        "firing",
        "first notification",
        ["WT-VERIFY:firing"],
    ),
    (
        "2026-10-08T13:00",
        "business_office",
        "yellow",
        "firing",
        "first notification",
        ["WT-VERIFY:firing"],
    ),
    (
        "2026-10-08T13:00",
        "business_office_manager",
        "yellow",
        "firing",
        "first notification",
        ["WT-VERIFY:firing"],
    ),
    (
        "2026-10-09T09:00",
        "business_office",
        "yellow",
        "firing",
        "repeat interval elapsed",
        ["WT-VERIFY:firing"],
    ),
    (
        "2026-10-09T09:00",
        "business_office_manager",
        "yellow",
        "firing",
        "repeat interval elapsed",
        ["WT-VERIFY:firing"],
    ),
    # the make-up Saturday is a working day: repeats go out, and the approval's clock runs
    (
        "2026-10-10T09:00",
        "business_office",
        "yellow",
        "firing",
        "repeat interval elapsed",
        ["WT-VERIFY:firing"],
    ),
    (
        "2026-10-10T09:00",
        "business_office_manager",
        "yellow",
        "firing",
        "repeat interval elapsed",
        ["WT-VERIFY:firing"],
    ),
    (
        "2026-10-10T09:00",
        "deputy_gm",
        "blue",
        "firing",
        "first notification",
        ["WT-APPROVER:firing"],
    ),
    (
        "2026-10-10T13:00",
        "supervision_office",
        "yellow",
        "firing",
        "first notification",
        ["WT-APPROVER:firing"],
    ),
    (
        "2026-10-10T13:00",
        "deputy_gm",
        "yellow",
        "firing",
        "first notification",
        ["WT-APPROVER:firing"],
    ),
    # red goes out at any time, even on Sunday morning; it inhibits the step's yellow card
    (
        "2026-10-11T07:00",
        "deputy_gm",
        "red",
        "firing",
        "first notification",
        ["WT-APPROVER:firing"],
    ),
    (
        "2026-10-11T07:00",
        "supervision_office",
        "red",
        "firing",
        "first notification",
        ["WT-APPROVER:firing"],
    ),
    (
        "2026-10-12T09:00",
        "deputy_gm",
        "red",
        "firing",
        "repeat interval elapsed",
        ["WT-APPROVER:firing"],
    ),
    (
        "2026-10-12T09:00",
        "supervision_office",
        "red",
        "firing",
        "repeat interval elapsed",
        ["WT-APPROVER:firing"],
    ),
    (
        "2026-10-13T09:00",
        "deputy_gm",
        "red",
        "firing",
        "repeat interval elapsed",
        ["WT-APPROVER:firing"],
    ),
    (
        "2026-10-13T09:00",
        "supervision_office",
        "red",
        "firing",
        "repeat interval elapsed",
        ["WT-APPROVER:firing"],
    ),
    # approved late on 10-13: the red card is resolved (met late) and both are told
    (
        "2026-10-13T20:00",
        "deputy_gm",
        "red",
        "resolved",
        "all alerts resolved",
        ["WT-APPROVER:resolved"],
    ),
    (
        "2026-10-13T20:00",
        "supervision_office",
        "red",
        "resolved",
        "all alerts resolved",
        ["WT-APPROVER:resolved"],
    ),
    # the step's yellow card, muted by the red one, resolved at night: told in the next window;
    # the blue reminder it escalated from is not resolved a second time
    (
        "2026-10-14T09:00",
        "business_office",
        "yellow",
        "resolved",
        "all alerts resolved",
        ["WT-VERIFY:resolved"],
    ),
    (
        "2026-10-14T09:00",
        "business_office_manager",
        "yellow",
        "resolved",
        "all alerts resolved",
        ["WT-VERIFY:resolved"],
    ),
]


def test_national_day_and_the_make_up_saturday(
    checker: Checker, policy_folder: Path, receiver: Receiver, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    case = water_type_case()
    run_days(w, [case], dt.date(2026, 9, 29), dt.date(2026, 10, 12))
    for hour in (7, 9, 13):
        w.run_once([case], at(f"2026-10-13T{hour:02d}:00"))
    case["events"] += [
        {"event": "site_verified", "at": "2026-10-13T14:00:00+08:00"},
        {"event": "change_approved", "at": "2026-10-13T15:00:00+08:00"},
    ]
    w.run_once([case], at("2026-10-13T20:00"))
    w.run_once([case], at("2026-10-14T09:00"))
    assert desk(policy_folder) == EXPECTED_DESK
    hook = [(b["groupLabels"]["level"], b["status"]) for b in receiver.received]
    assert hook == [
        ("yellow", "firing"),
        ("red", "firing"),
        ("red", "firing"),
        ("red", "firing"),
        ("red", "resolved"),
    ]
    sent = [
        (r["recorded_at"][:16], r["reason"])
        for r in w.store.outbox_rows()
        if r["channel"] == "hook"
    ]
    assert sent == [
        ("2026-10-10T05:00", "first notification"),  # 13:00 in Shanghai, the make-up Saturday
        ("2026-10-10T23:00", "first notification"),  # Sunday 07:00: red goes out at any time
        ("2026-10-12T01:00", "repeat interval elapsed"),
        ("2026-10-13T01:00", "repeat interval elapsed"),
        ("2026-10-13T12:00", "all alerts resolved"),
    ]
    assert all(b["version"] == "4" for b in receiver.received)
    history = [(e["kind"], e["level"], e["detail"]) for e in w.store.history("WT-1")]
    assert history == [
        ("raised", "blue", ""),
        ("escalated", "yellow", "blue->yellow"),
        ("raised", "blue", ""),
        ("escalated", "yellow", "blue->yellow"),
        ("inhibited", "yellow", "firing->inhibited"),
        ("escalated", "red", "yellow->red"),
        ("resolved", "yellow", "late"),
        ("resolved", "red", "late"),
    ]


def test_rerunning_a_pass_tells_nobody_twice(
    checker: Checker, policy_folder: Path, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    cases = [water_type_case("WT-1"), water_type_case("WT-2")]
    first = w.run_once(cases, at("2026-10-12T10:00"))
    assert [r["group"] for r in first.recorded] == [
        {"recipient": "deputy_gm", "level": "red"},
        {"recipient": "supervision_office", "level": "red"},
        {"recipient": "supervision_office", "level": "red"},
    ] or len(first.recorded) == 3
    again = w.run_once(cases, at("2026-10-12T10:00"))
    later = w.run_once(cases, at("2026-10-12T16:00"))
    assert again.recorded == [] and later.recorded == []
    assert again.transitions == {} and later.transitions == {}
    one = json.loads((policy_folder / "desk.jsonl").read_text("utf-8").splitlines()[0])
    assert sorted(a["labels"]["case_id"] for a in one["alerts"]) == ["WT-1", "WT-2"]


class Crash(BaseException):
    """The process dies: not an error a channel could catch."""


def test_a_crash_between_record_and_send_loses_nothing(
    checker: Checker, policy_folder: Path, receiver: Receiver, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    cases = [water_type_case()]
    recorded = w.run_once(cases, at("2026-10-12T10:00"), send=False)  # crash after the record
    assert len(recorded.recorded) == 3 and receiver.received == []
    # restart: the next pass sends what was recorded, exactly once
    w.run_once(cases, at("2026-10-12T10:05"))
    assert len(receiver.received) == 1
    rows = w.store.outbox_rows()
    assert [(r["status"], r["maybe_duplicate"]) for r in rows] == [("sent", False)] * 3


def test_a_crash_after_the_send_repeats_one_message_and_says_so(
    checker: Checker, policy_folder: Path, receiver: Receiver, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    hook = w.channels["hook"]

    class DiesAfterSending:
        def __getattr__(self, name: str) -> Any:
            return getattr(hook, name)

        def send(self, notification: Any, **kw: Any) -> Any:
            hook.send(notification, **kw)
            raise Crash

    w.channels = {**w.channels, "hook": DiesAfterSending()}  # type: ignore[dict-item]
    with pytest.raises(Crash):
        w.run_once([water_type_case()], at("2026-10-12T10:00"))
    w.channels = {**w.channels, "hook": hook}
    w.run_once([water_type_case()], at("2026-10-12T10:05"))
    assert len(receiver.received) == 2  # at least once: one message twice, no more
    assert receiver.received[0]["alerts"] == receiver.received[1]["alerts"]
    hook_rows = [r for r in w.store.outbox_rows() if r["channel"] == "hook"]
    assert [(r["status"], r["maybe_duplicate"], r["attempts"]) for r in hook_rows] == [
        ("sent", True, 2)
    ]


def test_temporary_errors_retry_with_backoff_permanent_ones_stop(
    checker: Checker, policy_folder: Path, receiver: Receiver, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    receiver.statuses = [503, 503]
    w.run_once([water_type_case()], at("2026-10-12T10:00"))
    row = next(r for r in w.store.outbox_rows() if r["channel"] == "hook")
    assert (row["status"], row["attempts"]) == ("pending", 1) and "503" in row["error"]
    assert row["next_attempt_at"] == "2026-10-12T02:00:30.000000+00:00"  # 30 s later
    w.run_once([water_type_case()], at("2026-10-12T10:00:40"))
    row = next(r for r in w.store.outbox_rows() if r["channel"] == "hook")
    assert (row["status"], row["attempts"]) == ("pending", 2)
    assert row["next_attempt_at"] == "2026-10-12T02:01:40.000000+00:00"  # then 60 s
    w.run_once([water_type_case()], at("2026-10-12T10:02"))
    assert len(receiver.received) == 1
    receiver.statuses = [400]
    w.run_once([water_type_case()], at("2026-10-13T09:00"))  # the repeat: refused for good
    failed = [r for r in w.store.outbox_rows() if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"].startswith("http_4")
    w.run_once([water_type_case()], at("2026-10-13T09:05"))
    assert len(receiver.received) == 1  # a permanent failure is not retried


def test_silences_mute_and_expiring_one_tells(
    checker: Checker, policy_folder: Path, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    silence = Silence(
        "s1",
        parse_matchers(["case_id=WT-1", "level=red|yellow"]),
        at("2026-10-12T00:00"),
        at("2026-10-13T00:00"),
        "张科长",
        "客户已同意延期",
    )
    w.store.add_silence(silence, at("2026-10-12T00:00"))
    muted = w.run_once([water_type_case()], at("2026-10-12T10:00"))
    assert muted.recorded == [] and muted.transitions == {
        "raised": 2,
        "silenced": 1,
        "inhibited": 1,
    }
    told = w.run_once([water_type_case()], at("2026-10-13T10:00"))  # the silence has ended
    assert {r["group"]["level"] for r in told.recorded} == {"red"}
    assert w.store.silences()[0].created_by == "张科长"


def test_inhibition_and_paused_clocks() -> None:
    from procrules.alerts.policy import Inhibit, Matchers

    def alert(fp: str, case: str, level: str, paused: bool = False) -> Alert:
        return Alert(fp, {"case_id": case, "level": level}, level, "running", paused)

    class P:
        inhibit = (
            Inhibit(
                Matchers((("level", frozenset({"red"})),)),
                Matchers((("level", frozenset({"yellow", "blue"})),)),
                ("case_id",),
            ),
        )

    alerts = [
        alert("a", "C1", "red"),
        alert("b", "C1", "yellow"),
        alert("c", "C2", "blue"),
        alert("d", "C3", "red", paused=True),
        alert("e", "C3", "blue"),
    ]
    assert inhibited(alerts, P()) == {"b", "d"}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entry", "firing", "resolved", "send_resolved", "repeat", "reason"),
    [
        (None, {"a"}, set(), True, False, "first notification"),
        (None, set(), {"a"}, True, False, None),
        (({"a"}, set()), {"a", "b"}, set(), True, False, "new alerts added"),
        (({"a"}, set()), set(), {"a"}, True, False, "all alerts resolved"),
        (({"a"}, set()), set(), {"a"}, False, False, "all alerts resolved"),
        (({"a", "b"}, set()), {"a"}, {"b"}, True, False, "some alerts resolved"),
        (({"a", "b"}, set()), {"a"}, {"b"}, False, False, None),
        (({"a"}, set()), {"a"}, set(), True, False, None),
        (({"a"}, set()), {"a"}, set(), True, True, "repeat interval elapsed"),
        (({"a"}, set()), set(), set(), True, True, None),  # muted, not resolved: say nothing
    ],
)
def test_needs_update_is_alertmanagers_table(
    entry: tuple[set[str], set[str]] | None,
    firing: set[str],
    resolved: set[str],
    send_resolved: bool,
    repeat: bool,
    reason: str | None,
) -> None:
    log = (
        LogEntry(frozenset(entry[0]), frozenset(entry[1]), at("2026-10-12T09:00"))
        if entry
        else None
    )
    assert (
        needs_update(log, frozenset(firing), frozenset(resolved), send_resolved, repeat) == reason
    )


def test_outbox_table_is_the_log(checker: Checker, policy_folder: Path, tmp_path: Path) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    w.run_once([water_type_case()], at("2026-10-12T10:00"))
    with w.store.engine.connect() as conn:
        reasons = conn.execute(sa.select(outbox.c.reason).distinct()).scalars().all()
    assert reasons == ["first notification"]


def test_metrics(checker: Checker, policy_folder: Path, receiver: Receiver, tmp_path: Path) -> None:
    from procrules.alerts.metrics import render_metrics

    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    receiver.statuses = [503]
    w.run_once([water_type_case("WT-1"), water_type_case("WT-2")], at("2026-10-12T10:00"))
    text = render_metrics(w.store)
    assert 'procrules_alerts_firing{level="red",process="water_type_change"} 2' in text
    assert 'procrules_notifications_total{channel="desk",result="sent"} 2' in text
    assert "procrules_outbox_depth 1" in text  # the webhook's message waits for its retry
    assert "procrules_watch_cases 2" in text


def test_worker_processes_judge_the_same(
    checker: Checker, policy_folder: Path, tmp_path: Path
) -> None:
    cases = [water_type_case(f"WT-{i}") for i in range(3)]
    results = []
    for jobs in (1, 2):
        w = make_watcher(checker, policy_folder, tmp_path / f"{jobs}.db")
        w.jobs, w.source = jobs, (str(policy_folder), None)
        r = w.run_once(cases, at("2026-10-12T10:00"), send=False)
        results.append((r.cases, r.firing, r.transitions, r.recorded))
    assert results[0] == results[1] and results[0][0] == 3


def test_a_paused_clock_mutes_its_card_until_it_resumes(
    policy_folder: Path, tmp_path: Path
) -> None:
    """补正: the design office asks for papers; the survey's clock pauses, its card is muted."""
    spec = policy_folder / "new_connection.yaml"
    text = spec.read_text("utf-8")
    text = text.replace(
        "  site_surveyed: {zh: 现场勘查完毕, en: Site surveyed}\n",
        "  site_surveyed: {zh: 现场勘查完毕, en: Site surveyed}\n"
        "  papers_requested: {zh: 通知补正, en: Papers requested}\n"
        "  papers_received: {zh: 补正材料收到, en: Papers received}\n",
    )
    text = text.replace(
        "    stop: site_surveyed\n    within: 7 working days\n",
        "    stop: site_surveyed\n    within: 7 working days\n"
        "    pause: papers_requested\n    resume: papers_received\n",
    )
    spec.write_text(text, "utf-8")
    checker = Checker.load(policy_folder)
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    case = json.loads((policy_folder / "examples" / "new_connection.json").read_text("utf-8"))
    case["events"] = [
        {"event": "application_received", "at": "2026-09-28T09:00:00+08:00"},
        {"event": "arrears_checked", "at": "2026-09-28T10:00:00+08:00"},
        {"event": "forwarded_to_design", "at": "2026-09-28T11:00:00+08:00"},
    ]
    case_id = case["case_id"]
    blue = w.run_once([case], at("2026-10-12T10:00"))  # 77% of 7 working days used: blue
    assert blue.transitions == {"raised": 1} and len(blue.recorded) == 1
    case["events"].append({"event": "papers_requested", "at": "2026-10-12T11:00:00+08:00"})
    paused = w.run_once([case], at("2026-10-13T10:00"))
    assert paused.transitions == {"inhibited": 1} and paused.recorded == []
    case["events"].append({"event": "papers_received", "at": "2026-10-14T09:00:00+08:00"})
    back = w.run_once([case], at("2026-10-14T10:00"))  # W18: one working day after the resume
    # the card comes back; its group was told two days ago, so this is the working-day repeat
    assert back.transitions == {"unmuted": 1}
    assert [(r["group"]["recipient"], r["reason"]) for r in back.recorded] == [
        ("design_office", "repeat interval elapsed"),
    ]
    history = [(e["kind"], e["level"]) for e in w.store.history(case_id)]
    assert history == [("raised", "blue"), ("inhibited", "blue"), ("unmuted", "blue")]


def test_a_retry_waits_for_the_window_unless_the_level_goes_out_any_time(
    checker: Checker, policy_folder: Path, receiver: Receiver, tmp_path: Path
) -> None:
    text = (policy_folder / "alerts.yaml").read_text("utf-8")
    (policy_folder / "alerts.yaml").write_text(
        text.replace("  - match: {recipient: supervision_office}", "  - match: {}"), "utf-8"
    )
    checker = Checker.load(policy_folder)
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    receiver.statuses = [503, 503]
    case = water_type_case("WT-1", [("order_received", "2026-10-12T10:00:00+08:00")])
    w.run_once([case], at("2026-10-14T17:29"))  # blue, recorded in the window; the send fails
    row = next(r for r in w.store.outbox_rows() if r["channel"] == "hook")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    w.run_once([case], at("2026-10-14T17:31"))  # after the window: held, not sent, not retried
    row = next(r for r in w.store.outbox_rows() if r["channel"] == "hook")
    assert row["attempts"] == 1 and row["next_attempt_at"] == "2026-10-15T00:30:00.000000+00:00"
    assert "503" in row["error"]
    w.run_once([case], at("2026-10-15T08:31"))  # the next morning's window
    row = next(r for r in w.store.outbox_rows() if r["channel"] == "hook")
    assert row["attempts"] == 2


def test_writing_in_batches_stores_the_same_as_one_batch(
    checker: Checker, policy_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass writes its cards and events a batch at a time, so that its memory does not grow
    with the cards it raises: batches of two store exactly what one batch stores."""
    import procrules.alerts.watcher as watcher
    from procrules.alerts.store import alert_events, alerts

    starts = ["2026-10-12T09:00", "2026-10-09T10:00", "2026-10-08T10:00", "2026-09-29T10:00"]
    cases = [
        water_type_case(f"WT-{i}", [("order_received", f"{starts[i % 4]}:00+08:00")])
        for i in range(9)
    ]
    tables = []
    for batch in (500, 2):
        monkeypatch.setattr(watcher, "BATCH", batch)
        w = make_watcher(checker, policy_folder, tmp_path / f"b{batch}.db")
        for when, open_cases in (
            ("2026-10-12T10:00", cases),
            ("2026-10-13T10:00", cases),
            ("2026-10-14T10:00", cases[3:]),  # three cases left the open set: stopped
        ):
            w.run_once(open_cases, at(when), send=False)
        with w.store.engine.connect() as conn:
            tables.append(
                [
                    [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key))]
                    for t in (alerts, alert_events, outbox)
                ]
            )
    assert tables[0] == tables[1]
    assert len(tables[0][0]) > 4 and len(tables[0][1]) > 8  # enough rows to span batches
