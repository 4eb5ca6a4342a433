"""The watcher inside a real `procrules serve`: cases put over the API are watched in the
background, the board and the alerts API answer, /metrics carries the alert metrics."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ..service_fixtures import Server, auth, write_tokens
from .conftest import water_type_case

pytest.importorskip("uvicorn")


def test_serve_watches_in_the_background(tmp_path: Path, policy_folder: Path) -> None:
    server = Server(
        [
            "--store",
            str(tmp_path / "cases.db"),
            "--processes",
            str(policy_folder),
            "--alerts-every",
            "0.2",
            "--no-watch",
        ],
        tmp_path,
    )
    try:
        case = water_type_case("WT-SERVE")  # ordered 2026-09-29: long past its limit by now
        put = server.client.put("/v1/cases/WT-SERVE", content=json.dumps(case))
        assert put.status_code in (200, 201), put.text
        deadline = time.monotonic() + 20
        alerts: list[dict[str, object]] = []
        while time.monotonic() < deadline and not alerts:
            alerts = server.client.get("/v1/alerts").json()["alerts"]
            time.sleep(0.1)
        assert {a["level"] for a in alerts} == {"red", "yellow"}
        board = server.client.get("/board").text
        assert 'data-case="WT-SERVE" data-light="red"' in board
        metrics = ""
        while time.monotonic() < deadline and "procrules_watch_run_seconds" not in metrics:
            metrics = server.client.get("/metrics").text  # the pass ends after its sends
            time.sleep(0.1)
        assert 'procrules_alerts_firing{level="red",process="water_type_change"} 1' in metrics
        assert "procrules_watch_run_seconds" in metrics
        lines = (policy_folder / "desk.jsonl").read_text("utf-8").splitlines()
        assert any(json.loads(line)["level"] == "red" for line in lines)
    finally:
        server.stop()


def test_silences_need_the_admin_scope_when_tokens_are_set(
    tmp_path: Path, policy_folder: Path
) -> None:
    tokens = write_tokens(tmp_path / "tokens.json")
    server = Server(
        [
            "--store",
            str(tmp_path / "cases.db"),
            "--processes",
            str(policy_folder),
            "--alerts-every",
            "0",
            "--tokens",
            str(tokens),
        ],
        tmp_path,
    )
    try:
        body = {
            "matchers": {"case_id": "X"},
            "ends_at": "2030-01-01T00:00",
            "created_by": "a",
            "comment": "b",
        }
        assert server.client.post("/v1/silences", json=body).status_code == 401
        assert (
            server.client.post("/v1/silences", json=body, headers=auth("check")).status_code == 403
        )
        assert (
            server.client.post("/v1/silences", json=body, headers=auth("admin")).status_code == 201
        )
        assert server.client.get("/board", headers=auth("check")).status_code == 200
    finally:
        server.stop()


def test_the_first_pass_runs_at_start_up(tmp_path: Path, policy_folder: Path) -> None:
    """Cases already in the store get their cards at start-up, not after `--alerts-every`."""
    from procrules.api import Checker
    from procrules.store import open_store

    checker = Checker.load(policy_folder)
    store = open_store(str(tmp_path / "cases.db"))
    case = water_type_case("WT-START")  # ordered 2026-09-29: long past its limit by now
    store.put_case("WT-START", {k: v for k, v in case.items() if k != "events"})
    store.append("WT-START", case["events"], checker=checker)
    store.close()
    server = Server(
        [
            *("--store", str(tmp_path / "cases.db"), "--processes", str(policy_folder)),
            *("--alerts-every", "3600", "--no-watch"),
        ],
        tmp_path,
    )
    try:
        assert server.client.get("/health/ready").status_code == 200
        deadline = time.monotonic() + 20  # long before the first interval ends
        alerts: list[dict[str, object]] = []
        while time.monotonic() < deadline and not alerts:
            alerts = server.client.get("/v1/alerts").json()["alerts"]
            time.sleep(0.1)
        assert {a["level"] for a in alerts} == {"red", "yellow"}
    finally:
        server.stop()


def test_the_board_lights_cases_with_alerts_off(tmp_path: Path, policy_folder: Path) -> None:
    server = Server(
        [
            *("--store", str(tmp_path / "cases.db"), "--processes", str(policy_folder)),
            *("--alerts-every", "0", "--no-watch"),
        ],
        tmp_path,
    )
    try:
        case = water_type_case("WT-OFF")  # its committed limit passed in October 2026
        put = server.client.put("/v1/cases/WT-OFF", content=json.dumps(case))
        assert put.status_code in (200, 201), put.text
        assert server.client.get("/v1/alerts").json()["alerts"] == []  # no watcher: no card
        assert 'data-case="WT-OFF" data-light="red"' in server.client.get("/board").text
    finally:
        server.stop()
