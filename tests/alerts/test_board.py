"""The board in a real headless Chromium against a real server on loopback: a store with a case
in each light; what a person sees, the filters, a case's timeline, the monthly review."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from procrules.alerts.delivery import build_channels
from procrules.alerts.policy import load_alert_policy
from procrules.alerts.store import AlertStore
from procrules.alerts.watcher import Watcher
from procrules.api import Checker
from procrules.spec.compile import shipped_processes_dir
from procrules.store import open_store

from .conftest import at, serving, water_type_case

uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

NOW = at("2026-10-12T14:00")


def _new_connection(case_id: str, forwarded: str) -> dict[str, Any]:
    case = json.loads((shipped_processes_dir() / "examples" / "new_connection.json").read_text())
    case["case_id"] = case_id
    case["events"] = [
        {"event": "application_received", "at": "2026-09-28T09:00:00+08:00"},
        {"event": "arrears_checked", "at": "2026-09-28T10:00:00+08:00"},
        {"event": "forwarded_to_design", "at": forwarded},
    ]
    return case


CASES = [
    water_type_case("WT-RED", [("order_received", "2026-09-29T10:00:00+08:00")]),
    water_type_case("WT-YELLOW", [("order_received", "2026-10-09T10:00:00+08:00")]),
    _new_connection("NC-BLUE", "2026-09-28T11:00:00+08:00"),
    _new_connection("NC-GREEN", "2026-10-12T11:00:00+08:00"),
    water_type_case(  # closed in time: not on the board, counted in the monthly review
        "WT-MET",
        [
            ("order_received", "2026-10-08T10:00:00+08:00"),
            ("site_verified", "2026-10-09T10:00:00+08:00"),
            ("change_approved", "2026-10-09T15:00:00+08:00"),
        ],
    ),
]


@pytest.fixture
def board_url(tmp_path: Path, policy_folder: Path, checker: Checker) -> Iterator[str]:
    from procrules.service.board import board_app

    db = str(tmp_path / "cases.db")
    store = open_store(db, clock=lambda: NOW)
    for case in CASES:
        data = {k: v for k, v in case.items() if k != "events"}
        store.put_case(case["case_id"], data)
        store.append(case["case_id"], case["events"], checker=checker)
    store.refresh(checker, NOW, [c["case_id"] for c in CASES])
    policy = load_alert_policy(checker.specs)
    w = Watcher(
        checker,
        policy,
        AlertStore(store.engine),
        build_channels(policy.channels, base_dir=policy_folder),
    )
    w.run_once(CASES, at("2026-10-12T10:00"))
    w.run_once(CASES, NOW)
    store.close()
    with serving(board_app(db, checker, policy, clock=lambda: NOW)) as url:
        yield url


def _dom(url: str, profile: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed (.ci/run installs it)")
    out = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=390,844",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _rows(dom: str) -> dict[str, str]:
    return dict(
        (case, light)
        for light, case in (
            (m.group(2), m.group(1))
            for m in re.finditer(r'data-case="([^"]+)" data-light="(\w+)"', dom)
        )
    )


def test_the_board_in_chromium(board_url: str, tmp_path: Path) -> None:
    dom = _dom(f"{board_url}/board", tmp_path / "p1")
    assert _rows(dom) == {
        "WT-RED": "red",
        "WT-YELLOW": "yellow",
        "NC-BLUE": "blue",
        "NC-GREEN": "green",
    }
    assert "在办案件" in dom and "Open cases" in dom and 'name="viewport"' in dom
    for light in ("red", "yellow", "blue", "green"):
        assert re.search(rf'data-count="{light}">.*?<b>1</b>', dom)
    red = _dom(f"{board_url}/board?light=red", tmp_path / "p2")
    assert _rows(red) == {"WT-RED": "red"}
    by_process = _dom(f"{board_url}/board?process=new_connection", tmp_path / "p3")
    assert set(_rows(by_process)) == {"NC-BLUE", "NC-GREEN"}
    # the other filters by plain HTTP: the same server-rendered page
    by_role = httpx.get(f"{board_url}/board", params={"role": "design_office"}).text
    assert set(_rows(by_role)) == {"NC-BLUE", "NC-GREEN"}
    by_office = httpx.get(f"{board_url}/board", params={"office": "business_office"}).text
    assert set(_rows(by_office)) == {"WT-RED", "WT-YELLOW"}  # WT-RED: its muted step card
    nothing = httpx.get(f"{board_url}/board?light=red&process=new_connection").text
    assert 'id="empty"' in nothing


def test_a_case_timeline_and_the_monthly_review(board_url: str, tmp_path: Path) -> None:
    dom = _dom(f"{board_url}/board/cases/WT-RED", tmp_path / "p1")
    timeline = re.search(r'<pre id="timeline" lang="zh">(.*?)</pre>', dom, re.S)
    assert timeline and "第1个工作日" in timeline.group(1) and "国庆" in timeline.group(1)
    assert 'data-card="WT-APPROVER"' in dom and "红牌" in dom
    assert re.search(r"<td>raised</td><td>red</td>", dom)
    report = _dom(f"{board_url}/board/report?month=2026-10", tmp_path / "p2")
    assert '<svg id="rate-process"' in report and '<svg id="cards-per-week"' in report
    # due in 10-2026: WT-RED's verification (10-08) and approval (10-10), both breached;
    # WT-MET's, both met; the open cases' clocks are still running
    rates = re.findall(r'<svg id="rate-(\w+)"(.*?)</svg>', report, re.S)
    found = {
        chart: re.findall(r'data-label="([^"]+)" data-rate="([0-9.]+)"', body)
        for chart, body in rates
    }
    assert found == {
        "process": [("用水性质变更", "0.500")],
        "office": [("营业所", "0.500"), ("分管副总经理", "0.500")],
        "role": [("营业所", "0.500"), ("分管副总经理", "0.500")],
    }
    week = re.search(r'<svg id="cards-per-week"(.*?)</svg>', report, re.S)
    assert week is not None
    # week 42 (10-12): raised red 1 (WT-RED), yellow 1 (WT-RED's step), blue 2 (WT-YELLOW,
    # NC-BLUE); WT-YELLOW escalated to yellow at 14:00
    assert re.findall(r'data-level="(\w+)" data-n="(\d+)"', week.group(1)) == [
        ("blue", "2"),
        ("yellow", "2"),
        ("red", "1"),
    ]
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", week.group(1))
    assert labels[labels.index("W42") + 1] == "5"


def test_silences_api(board_url: str) -> None:
    made = httpx.post(
        f"{board_url}/v1/silences",
        json={
            "matchers": {"case_id": "WT-RED"},
            "ends_at": "2026-10-13T18:00",
            "created_by": "王科长",
            "comment": "已上报分管领导",
        },
    )
    assert made.status_code == 201
    listed = httpx.get(f"{board_url}/v1/silences").json()["silences"]
    assert [s["created_by"] for s in listed] == ["王科长"]
    bad = httpx.post(f"{board_url}/v1/silences", json={"matchers": {"case_id": "X"}})
    assert bad.status_code == 422 and "ends_at" in bad.text
    alerts = httpx.get(f"{board_url}/v1/alerts").json()["alerts"]
    assert {a["case_id"] for a in alerts} == {"WT-RED", "WT-YELLOW", "NC-BLUE"}
    assert httpx.delete(f"{board_url}/v1/silences/{made.json()['id']}").status_code == 204
    assert httpx.delete(f"{board_url}/v1/silences/nope").status_code == 404
    metrics = httpx.get(f"{board_url}/metrics/alerts").text
    assert "procrules_alerts_firing" in metrics
