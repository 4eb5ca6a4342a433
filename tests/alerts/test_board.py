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


@pytest.fixture
def unwatched_url(tmp_path: Path, checker: Checker) -> Iterator[str]:
    """The store's projections only: no watcher pass has run yet (or alerts are off)."""
    from procrules.service.board import board_app

    db = str(tmp_path / "cases.db")
    store = open_store(db, clock=lambda: NOW)
    for case in CASES:
        store.put_case(case["case_id"], {k: v for k, v in case.items() if k != "events"})
        store.append(case["case_id"], case["events"], checker=checker)
    # projected on 10-10 at 20:00, before WT-RED's committed limit had passed (its approval was
    # still running): at 10-12 the board must see that breach without a card
    store.refresh(checker, at("2026-10-10T20:00"), [c["case_id"] for c in CASES])
    store.close()
    with serving(
        board_app(db, checker, load_alert_policy(checker.specs), clock=lambda: NOW)
    ) as url:
        yield url


def test_lights_never_milder_than_the_projection(unwatched_url: str, tmp_path: Path) -> None:
    dom = _dom(f"{unwatched_url}/board", tmp_path / "p1")
    rows = _rows(dom)
    # no card names WT-RED's approver yet: the board asks the rules
    row = re.search(r'<tr data-case="WT-RED".*?</tr>', dom, re.S)
    assert row and "分管副总经理" in row.group(0) and "approver" not in row.group(0)
    # WT-RED's committed limit (WT-APPROVER, 10-10) has passed: red before any card exists;
    # the others have no deadline past due, so the watcher decides (green until it does)
    assert rows.pop("WT-RED") == "red"
    assert {"WT-YELLOW", "NC-BLUE"} <= set(rows) and set(rows.values()) == {"green"}


def test_a_step_limit_past_due_is_its_ladder_level_until_a_card_exists(
    tmp_path: Path, checker: Checker, policy_folder: Path
) -> None:
    from procrules.service.board import Board

    db = str(tmp_path / "cases.db")
    store = open_store(db, clock=lambda: NOW)
    # verification (2 working days, a step limit) passed on 10-10; approval (4) runs to 10-12
    case = water_type_case("WT-STEP", [("order_received", "2026-10-08T10:00:00+08:00")])
    store.put_case("WT-STEP", {k: v for k, v in case.items() if k != "events"})
    store.append("WT-STEP", case["events"], checker=checker)
    store.refresh(checker, at("2026-10-08T11:00"), ["WT-STEP"])
    policy = load_alert_policy(checker.specs)
    board = Board(store.engine, lambda: (checker, policy), lambda: at("2026-10-12T09:00"))
    assert [c.light for c in board.open_cases(checker, policy)] == ["yellow"]
    # the watcher's card for the step wins once it exists (here: the approval's red inhibits it
    # later; at 09:00 the step's yellow is what it says)
    Watcher(
        checker,
        policy,
        AlertStore(store.engine),
        build_channels(policy.channels, base_dir=policy_folder),
    ).run_once([case], at("2026-10-12T09:00"))
    cards = AlertStore(store.engine).query_alerts(case_id="WT-STEP")
    assert {c["rule"]: c["level"] for c in cards}["WT-VERIFY"] == "yellow"
    assert [c.light for c in board.open_cases(checker, policy)] == ["yellow"]
    store.close()


def test_roles_and_dates_read_as_people_write_them(board_url: str, tmp_path: Path) -> None:
    dom = _dom(f"{board_url}/board", tmp_path / "p1")
    cells = {
        m.group(1): re.findall(r"<td[^>]*>(.*?)</td>", m.group(2), re.S)
        for m in re.finditer(r'<tr data-case="([^"]+)"[^>]*>(.*?)</tr>', dom, re.S)
    }
    role, due = cells["WT-RED"][3], cells["WT-RED"][4]
    assert "approver" not in dom.split("<tbody>")[1]  # the rules chose the approver
    assert "分管副总经理" in role
    # WT-RED's next due: its verification, by the end of Thursday 8 October
    assert "10月8日（周四）24:00前" in due and "Thu 8 Oct, 24:00" in due
    assert not re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", dom)
    case = _dom(f"{board_url}/board/cases/WT-RED", tmp_path / "p2")
    history = re.search(r'<table id="history">(.*?)</table>', case, re.S)
    assert history and "10月12日（周一）10:00" in history.group(1)


_CONTRAST = """<script>
function lum(c) {
  const v = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map(x => x / 255)
    .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function bg(el) {
  for (; el; el = el.parentElement) {
    const c = getComputedStyle(el).backgroundColor;
    if (!/rgba\\(.*, 0\\)$/.test(c)) return c;
  }
  return "rgb(255, 255, 255)";
}
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll(".counts a, .counts a *, .light, .light *")) {
    const a = lum(getComputedStyle(el).color), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    el.setAttribute("data-contrast", ratio.toFixed(2));
  }
});
</script>"""


def test_light_chips_are_readable(board_url: str, tmp_path: Path) -> None:
    """Chromium computes each chip's colours (text, its English part, the number) against its
    background; WCAG AA asks for 4.5:1."""
    page = httpx.get(f"{board_url}/board").text.replace("</head>", _CONTRAST + "</head>")
    file = tmp_path / "board.html"
    file.write_text(page, encoding="utf-8")
    dom = _dom(file.as_uri(), tmp_path / "p1")
    ratios = [float(x) for x in re.findall(r'data-contrast="([0-9.]+)"', dom)]
    assert len(ratios) >= 4 * 3  # four chips: the chip, its English name, its number; and lights
    assert min(ratios) >= 4.5, sorted(ratios)[:5]
