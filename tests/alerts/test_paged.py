"""A pass holds a page, not the cases or the cards: judged and written a page at a time, each
message's alerts recorded in rows of their own and read by a channel only as far as it shows
them, the outbox delivered a page at a time. Small pages here must give what large ones give."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import procrules.alerts.channels.base as channel_base
import procrules.alerts.store as alert_store
import procrules.alerts.watcher as watcher
from procrules.alerts.channels.base import PagedAlerts
from procrules.alerts.channels.text import markdown
from procrules.alerts.delivery import build_channels, deliver
from procrules.alerts.policy import load_alert_policy
from procrules.alerts.store import AlertStore, alert_events, alerts, nflog, outbox, outbox_alerts
from procrules.alerts.watcher import Watcher
from procrules.api import Checker

from .conftest import at, water_type_case

STARTS = ["2026-10-12T09:00", "2026-10-09T10:00", "2026-10-08T10:00", "2026-09-29T10:00"]


def many_cases(n: int) -> list[dict[str, Any]]:
    return [
        water_type_case(f"WT-{i:03d}", [("order_received", f"{STARTS[i % 4]}:00+08:00")])
        for i in range(n)
    ]


def make_watcher(checker: Checker, folder: Path, db: Path) -> Watcher:
    policy = load_alert_policy(checker.specs)
    channels = build_channels(policy.channels, base_dir=folder)
    return Watcher(checker, policy, AlertStore.open(str(db)), channels)


def tables(w: Watcher) -> list[list[tuple[Any, ...]]]:
    with w.store.engine.connect() as conn:
        return [
            [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key))]
            for t in (alerts, alert_events, nflog, outbox, outbox_alerts)
        ]


def passes(w: Watcher, cases: list[dict[str, Any]]) -> None:
    for when, open_cases in (
        ("2026-10-12T10:00", cases),
        ("2026-10-13T10:00", cases),
        ("2026-10-14T10:00", cases[5:]),  # five cases left the open set: stopped
    ):
        w.run_once(open_cases, at(when))


def test_small_pages_record_and_deliver_what_large_ones_do(
    checker: Checker, policy_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = many_cases(23)
    seen = []
    for small in (False, True):
        if small:  # every page, batch and outbox page a few rows, so that each is crossed
            monkeypatch.setattr(watcher, "PAGE", 3)
            monkeypatch.setattr(watcher, "BATCH", 2)
            monkeypatch.setattr(channel_base, "PAGE", 2)
            monkeypatch.setattr(alert_store, "OUTBOX_PAGE_ROWS", 2)
            monkeypatch.setattr(alert_store, "OUTBOX_PAGE_ALERTS", 3)
        desk = policy_folder / "desk.jsonl"
        desk.unlink(missing_ok=True)
        w = make_watcher(checker, policy_folder, tmp_path / f"{small}.db")
        passes(w, cases)
        lines = [json.loads(line) for line in desk.read_text("utf-8").splitlines()]
        for line in lines:
            line.pop("written_at")
        seen.append((tables(w), lines))
    assert seen[0] == seen[1]
    rows, lines = seen[0]
    assert len(rows[4]) > 20  # the messages' alerts are rows of their own
    assert all(json.loads(r[4])["alerts"] == [] for r in rows[3])  # not in the outbox row
    longest = max(lines, key=lambda d: len(d["alerts"]))
    ids = [a["labels"]["case_id"] for a in longest["alerts"]]
    assert len(ids) > 5 and ids == sorted(ids)  # in case order, as before
    assert {r[6] for r in rows[3]} == {"sent"}  # every message left


def test_a_channel_reads_a_long_message_only_as_far_as_it_fits(
    checker: Checker, policy_folder: Path, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    w.run_once(many_cases(400), at("2026-10-12T10:00"), send=False)
    row = max(
        (r for page in w.store.due_pages(at("2026-10-12T10:00"), "desk") for r in page),
        key=lambda r: r.alert_count,
    )
    assert row.alert_count == 100  # the red cards of the supervisor's group
    read: list[tuple[int, int]] = []

    def counted(start: int, stop: int) -> list[dict[str, Any]]:
        read.append((start, stop))
        return w.store.outbox_alerts(row.id, start, stop)

    note = row.notification()
    assert isinstance(note.alerts, PagedAlerts) and len(note.alerts) == 100
    paged = type(note)(**{**note.__dict__, "alerts": PagedAlerts(100, counted)})
    text, left_out = markdown(paged, 1024)
    assert 0 < left_out < 100 and text.endswith(f"另有 {left_out} 项未列出")
    assert max(stop for _, stop in read) <= 100 - left_out + channel_base.PAGE
    # the whole message, when a channel wants it (JSON Lines), in the recorded order
    whole = json.loads(b"".join(note.json_chunks()))
    assert len(whole["alerts"]) == 100 and whole["alerts"] == list(note.alerts)


def test_a_store_of_the_previous_version_migrates_and_delivers_its_outbox(
    checker: Checker, policy_folder: Path, tmp_path: Path
) -> None:
    """Rows recorded by 0002 keep their alerts in the payload; after 0003 they still leave."""
    from alembic import command
    from alembic.config import Config

    from procrules.store import open_store

    db = tmp_path / "old.db"
    store = open_store(str(db), migrate=False)
    config = Config()
    config.set_main_option(
        "script_location", str(Path(alert_store.__file__).parent.parent / "store" / "migrations")
    )
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002_alerts")
    assert store.schema_revision() == "0002_alerts"
    alert = {
        "status": "firing",
        "labels": {"case_id": "WT-OLD", "level": "red", "rule": "WT-APPROVER"},
        "annotations": {"summary_zh": "旧的消息"},
        "fingerprint": "f" * 16,
    }
    payload = {
        "receiver": "deputy_gm",
        "group_key": "g" * 16,
        "status": "firing",
        "level": "red",
        "lang": "zh",
        "reason": "first notification",
        "created_at": "2026-10-12T10:00:00+08:00",
        "group_labels": {"recipient": "deputy_gm", "level": "red"},
        "external_url": "",
        "digest_of": [],
        "alerts": [alert],
    }
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(outbox).values(
                channel="desk",
                group_key="g" * 16,
                reason="first notification",
                payload=json.dumps(payload, ensure_ascii=False),
                recorded_at="2026-10-12T02:00:00.000000+00:00",
                status="pending",
                attempts=0,
                next_attempt_at="2026-10-12T02:00:00.000000+00:00",
            )
        )
    store.close()
    w = make_watcher(checker, policy_folder, db)  # opens the store: migrates to 0003
    assert open_store(str(db)).schema_revision() == "0003_outbox_alerts"
    stats = deliver(w.store, w.channels, at("2026-10-12T10:05"))
    assert stats.sent == {"desk": 1}
    line = json.loads((policy_folder / "desk.jsonl").read_text("utf-8"))
    assert line["alerts"] == [alert] and line["id"] == "1"


def test_a_burst_over_several_outbox_pages_loses_nothing(
    checker: Checker, policy_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve messages, outbox pages of five, a channel allowing four a minute: the first
    page becomes four digests, the rest wait for the limiter, and all arrive."""
    monkeypatch.setattr(alert_store, "OUTBOX_PAGE_ROWS", 5)
    text = (policy_folder / "alerts.yaml").read_text("utf-8")
    text = text.replace("group_by: [recipient, level]", "group_by: [case_id, level]")
    text = text.replace(
        "desk: {type: jsonl, path: desk.jsonl}",
        "desk: {type: jsonl, path: desk.jsonl, rate_limit: '4/min'}",
    )
    text = text.replace(
        "  - match: {recipient: supervision_office}\n    channels: [hook]\n    continue: true\n", ""
    )
    (policy_folder / "alerts.yaml").write_text(text, "utf-8")
    checker = Checker.load(policy_folder)
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    cases = [water_type_case(f"WT-{i:02d}") for i in range(12)]
    start = at("2026-10-12T10:00")  # every case red: one message per case
    first = w.run_once(cases, start)
    assert len(first.recorded) == 12 and first.delivery.digests == {"desk": 4}
    for minute in range(1, 10):
        if not w.store.outbox_rows("pending"):
            break
        w.run_once(cases, start + dt.timedelta(minutes=minute))
    lines = [json.loads(x) for x in (policy_folder / "desk.jsonl").read_text("utf-8").splitlines()]
    by_minute: dict[str, int] = {}
    for line in lines:
        by_minute[line["written_at"][:16]] = by_minute.get(line["written_at"][:16], 0) + 1
    assert max(by_minute.values()) <= 4
    told = {a["labels"]["case_id"] for line in lines for a in line["alerts"]}
    assert told == {c["case_id"] for c in cases}
    assert {r["status"] for r in w.store.outbox_rows()} == {"sent"}


def test_inhibition_across_pages(
    checker: Checker, policy_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule whose `equal` is not the case (a red card of a process inhibits every yellow and
    blue of that process) reaches across pages: pages of one case give what one page gives."""
    text = (policy_folder / "alerts.yaml").read_text("utf-8")
    (policy_folder / "alerts.yaml").write_text(
        text.replace("equal: [case_id]", "equal: [process]"), "utf-8"
    )
    checker = Checker.load(policy_folder)
    cases = many_cases(8)
    seen = []
    for page in (500, 1):
        monkeypatch.setattr(watcher, "PAGE", page)
        w = make_watcher(checker, policy_folder, tmp_path / f"p{page}.db")
        w.run_once(iter(cases), at("2026-10-12T10:00"), send=False)  # read once: kept
        seen.append(tables(w)[:2])
    assert seen[0] == seen[1]
    cards = {(r[6], r[7]) for r in seen[0][0]}  # (level, state)
    assert ("red", "firing") in cards and ("yellow", "inhibited") in cards
    assert {state for level, state in cards if level != "red"} == {"inhibited"}


def test_outbox_pages_hold_few_alerts_unless_one_message_holds_more(
    checker: Checker, policy_folder: Path, tmp_path: Path
) -> None:
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    w.run_once(many_cases(30), at("2026-10-12T10:00"), send=False)
    now = at("2026-10-12T10:05")
    pages = list(w.store.due_pages(now, "desk", rows=2, alerts=4))
    counts = [[r.alert_count for r in page] for page in pages]
    assert all(len(page) <= 2 for page in counts)
    assert all(sum(page) <= 4 for page in counts if len(page) > 1)
    assert any(page[0] > 4 for page in counts)  # a long message comes alone
    ids = [r.id for page in pages for r in page]
    everything = [r["id"] for r in w.store.outbox_rows("pending") if r["channel"] == "desk"]
    assert ids == sorted(ids) == everything  # every due row once, oldest first


def test_a_long_webhook_message_is_streamed_signed_and_whole(
    checker: Checker, policy_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over `STREAM_FROM_ALERTS` alerts, the webhook signs the body in a first reading and
    sends it in a second, with its length: the receiver gets the same bytes `render` makes,
    and the signature holds."""
    import httpx

    import procrules.alerts.channels.webhook as webhook
    from procrules.alerts.channels import build_channel, verify_signature

    from ..channels.receiver import Receiver as WireReceiver

    monkeypatch.setattr(webhook, "STREAM_FROM_ALERTS", 3)
    w = make_watcher(checker, policy_folder, tmp_path / "a.db")
    w.run_once(many_cases(40), at("2026-10-12T10:00"), send=False)
    row = max(
        (r for page in w.store.due_pages(at("2026-10-12T10:00"), "desk") for r in page),
        key=lambda r: r.alert_count,
    )
    note = row.notification()
    assert isinstance(note.alerts, PagedAlerts) and len(note.alerts) > 3
    receiver = WireReceiver(responder=lambda _: (200, {}, b"ok")).start()
    try:
        channel = build_channel(
            {"type": "webhook", "url": receiver.url + "/hook", "secret_env": "HOOK_SECRET"},
            env={"HOOK_SECRET": "s3cret"},
        )
        now = at("2026-10-12T10:05")
        with httpx.Client() as client:
            result = channel.send(note, client=client, now=now)
        assert result.outcome == "sent", result
        got = receiver.received[0]
        assert got.body == channel.render(note, now=now).body
        assert "chunked" not in got.headers.get("Transfer-Encoding", "")
        assert verify_signature("s3cret", got.body, got.headers, now=now)
        assert len(json.loads(got.body)["alerts"]) == len(note.alerts)
    finally:
        receiver.stop()
