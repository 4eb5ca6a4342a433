"""The same watcher passes, and the board's pages, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx

from procrules.alerts.cases import StoreCases
from procrules.alerts.delivery import build_channels
from procrules.alerts.policy import load_alert_policy
from procrules.alerts.store import AlertStore
from procrules.alerts.watcher import Watcher
from procrules.api import Checker
from procrules.service.board import board_app
from procrules.store import open_store

from ..store_fixtures import pg_server, pg_url, store_url  # noqa: F401
from .conftest import at, serving, water_type_case


def test_passes_and_the_board_on_both_databases(
    checker: Checker,
    policy_folder: Path,
    store_url: str,  # noqa: F811
) -> None:
    cases = [water_type_case("WT-1"), water_type_case("WT-2")]
    store = open_store(store_url, clock=lambda: at("2026-10-12T10:00"))
    for case in cases:
        store.put_case(case["case_id"], {k: v for k, v in case.items() if k != "events"})
        store.append(case["case_id"], case["events"], checker=checker)
    store.refresh(checker, at("2026-10-12T10:00"), ["WT-1", "WT-2"])
    policy = load_alert_policy(checker.specs)
    alerts = AlertStore(store.engine)
    w = Watcher(checker, policy, alerts, build_channels(policy.channels, base_dir=policy_folder))
    first = w.run_once(StoreCases(store.engine), at("2026-10-12T10:00"), lookup=store.assemble)
    again = w.run_once(StoreCases(store.engine), at("2026-10-12T10:00"), lookup=store.assemble)
    assert first.cases == 2 and len(first.recorded) == 3 and again.recorded == []
    assert {r["status"] for r in alerts.outbox_rows()} == {"sent"}
    assert len(alerts.query_alerts(state="active")) == 4
    # WT-1 is approved late and leaves the open set: its cards resolve as met late, not stopped
    store.append(
        "WT-1",
        [
            {"event": "site_verified", "at": "2026-10-12T11:00:00+08:00"},
            {"event": "change_approved", "at": "2026-10-12T15:00:00+08:00"},
        ],
        checker=checker,
    )
    store.refresh(checker, at("2026-10-12T16:00"), ["WT-1"])
    later = w.run_once(StoreCases(store.engine), at("2026-10-12T16:00"), lookup=store.assemble)
    assert later.cases == 1
    resolved = alerts.query_alerts(state="resolved", case_id="WT-1")
    assert sorted(r["resolution"] for r in resolved) == ["late", "late"]
    app = board_app(store_url, checker, policy, clock=lambda: at("2026-10-12T16:00"))
    with serving(app) as url:
        board = httpx.get(f"{url}/board").text
        assert 'data-case="WT-2" data-light="red"' in board and 'data-case="WT-1"' not in board
        assert "WT-APPROVER" in httpx.get(f"{url}/board/cases/WT-1").text
    store.close()
    alerts.engine.dispose()


def test_one_pass_at_a_time_on_postgresql(
    checker: Checker,
    policy_folder: Path,
    pg_url: str,  # noqa: F811
) -> None:
    import sqlalchemy as sa

    from procrules.alerts.watcher import LOCK

    store = open_store(pg_url)
    policy = load_alert_policy(checker.specs)
    alerts = AlertStore(store.engine)
    w = Watcher(checker, policy, alerts, build_channels(policy.channels, base_dir=policy_folder))
    other = sa.create_engine(store.engine.url)
    with other.connect() as conn:  # another replica's pass holds the lock
        assert conn.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK))).scalar()
        skipped = w.run_once([water_type_case()], at("2026-10-12T10:00"))
        assert skipped.skipped and skipped.recorded == []
        conn.execute(sa.select(sa.func.pg_advisory_unlock(LOCK)))
    ran = w.run_once([water_type_case()], at("2026-10-12T10:00"))
    assert not ran.skipped and len(ran.recorded) == 3
    other.dispose()
    store.close()
