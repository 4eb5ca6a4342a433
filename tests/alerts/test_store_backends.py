"""The same watcher passes on SQLite and on a real PostgreSQL (the store's fixture)."""

from __future__ import annotations

from pathlib import Path

from procrules.alerts.delivery import build_channels
from procrules.alerts.policy import load_alert_policy
from procrules.alerts.store import AlertStore
from procrules.alerts.watcher import Watcher
from procrules.api import Checker

from ..store_fixtures import pg_server, pg_url, store_url  # noqa: F401
from .conftest import at, water_type_case


def test_passes_on_both_databases(
    checker: Checker,
    policy_folder: Path,
    store_url: str,  # noqa: F811
) -> None:
    policy = load_alert_policy(checker.specs)
    store = AlertStore.open(store_url)
    w = Watcher(checker, policy, store, build_channels(policy.channels, base_dir=policy_folder))
    cases = [water_type_case("WT-1"), water_type_case("WT-2")]
    first = w.run_once(cases, at("2026-10-12T10:00"))
    again = w.run_once(cases, at("2026-10-12T10:00"))
    assert len(first.recorded) == 3 and again.recorded == []
    assert {r["status"] for r in store.outbox_rows()} == {"sent"}
    assert len(store.query_alerts(state="active")) == 4
    store.engine.dispose()
