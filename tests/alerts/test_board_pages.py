"""The board a page at a time: counts per light, filters and pages computed by the database
(SQLite and a real PostgreSQL), agreeing with the board's own rule case by case; in a real
headless Chromium, following the page links keeps the filters and shows every case once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from procrules.alerts.delivery import build_channels
from procrules.alerts.policy import load_alert_policy
from procrules.alerts.store import AlertStore
from procrules.alerts.watcher import Watcher
from procrules.api import Checker
from procrules.store import open_store, schema

from ..store_fixtures import pg_server, pg_url, store_url  # noqa: F401
from .conftest import at, serving, water_type_case
from .test_board import _dom, _new_connection, _rows

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

NOW = at("2026-10-12T14:00")
STARTS = [
    "2026-09-29T10:00",  # red
    "2026-10-08T10:00",  # a step limit past due
    "2026-10-09T10:00",
    "2026-10-12T09:00",  # green
]


def _cases() -> list[dict[str, Any]]:
    out = [
        water_type_case(f"WT-{i:02d}", [("order_received", f"{STARTS[i % 4]}:00+08:00")])
        for i in range(14)
    ]
    out += [
        _new_connection("NC-01", "2026-09-28T11:00:00+08:00"),
        _new_connection("NC-02", "2026-10-12T11:00:00+08:00"),
    ]
    return out


def _fill(target: str, checker: Checker, policy_folder: Path) -> list[dict[str, Any]]:
    """Sixteen open cases; half of them watched (cards), half known only by their projection
    (made on 10-10, before some limits passed: the board must light those by itself)."""
    cases = _cases()
    store = open_store(target, clock=lambda: NOW)
    for case in cases:
        store.put_case(case["case_id"], {k: v for k, v in case.items() if k != "events"})
        store.append(case["case_id"], case["events"], checker=checker)
    late = {"WT-03", "WT-07", "WT-11", "NC-02"}  # begun on 10-12: projected now
    store.refresh(
        checker, at("2026-10-10T20:00"), [c["case_id"] for c in cases if c["case_id"] not in late]
    )
    store.refresh(checker, NOW, sorted(late))
    policy = load_alert_policy(checker.specs)
    Watcher(
        checker,
        policy,
        AlertStore(store.engine),
        build_channels(policy.channels, base_dir=policy_folder),
    ).run_once(cases[::2], NOW, send=False)
    store.close()
    return cases


def test_lights_counts_and_filters_in_sql_agree_with_the_board_rule(
    store_url: str,  # noqa: F811
    checker: Checker,
    policy_folder: Path,
) -> None:
    from procrules.service import board_lights as lights
    from procrules.service.board import Board

    cases = _fill(store_url, checker, policy_folder)
    policy = load_alert_policy(checker.specs)
    store = open_store(store_url)
    board = Board(store.engine, lambda: (checker, policy), lambda: NOW)
    expected = {c.case_id: c for c in board.open_cases(checker, policy)}
    assert len(expected) == len(cases)
    with store.engine.connect() as conn:
        everything, total = lights.page(conn, policy, NOW, lights.Filters(), after=None, size=500)
        counts = lights.counts(conn, policy, NOW)
        assert total == len(cases)
        assert {x.case_id: x.light for x in everything} == {k: c.light for k, c in expected.items()}
        assert counts == Counter(c.light for c in expected.values())
        assert len(counts) >= 3  # several lights, from cards and from projections
        # the roles the rules chose as approver, named by no card yet: the board's rows show
        # them (it asks the rules for the rows it shows); the database knows them by the card
        owing = {
            r.case_id
            for r in conn.execute(sa.select(schema.case_state.c.case_id, schema.case_state.c.roles))
            if ",approver," in r.roles
        }
        for field, values in (
            ("light", set(lights.RANKS)),
            ("process", {c.process for c in expected.values()}),
            ("role", {r for c in expected.values() for r in c.roles}),
            ("office", {o for c in expected.values() for o in c.offices}),
        ):
            for value in values:
                want = {k for k, c in expected.items() if _has(c, field, value)}
                got, n = lights.page(
                    conn, policy, NOW, lights.Filters(**{field: value}), after=None, size=500
                )
                ids = {x.case_id for x in got}
                assert n == len(ids), (field, value)
                if field in ("role", "office"):  # an approver no card names yet: "approver"
                    assert ids <= want and want - ids <= owing, value
                else:
                    assert ids == want, (field, value)
        # keyset pages of three: every case once, in due order
        seen: list[str] = []
        after = None
        while True:
            got, _ = lights.page(conn, policy, NOW, lights.Filters(), after=after, size=3)
            if not got:
                break
            seen += [x.case_id for x in got]
            after = (got[-1].due_key, got[-1].case_id)
        assert seen == [x.case_id for x in everything]
    store.close()


def _has(case: Any, field: str, value: str) -> bool:
    if field == "light":
        return bool(case.light == value)
    if field == "process":
        return bool(case.process == value)
    return value in (case.roles if field == "role" else case.offices)


@pytest.fixture
def paged_url(tmp_path: Path, checker: Checker, policy_folder: Path) -> Iterator[str]:
    from procrules.service.board import board_app

    db = str(tmp_path / "cases.db")
    _fill(db, checker, policy_folder)
    policy = load_alert_policy(checker.specs)
    with serving(board_app(db, checker, policy, clock=lambda: NOW)) as url:
        yield url


def _next(dom: str) -> str | None:
    found = re.search(r'<a id="next-page" href="([^"]+)"', dom)
    return found.group(1).replace("&amp;", "&") if found else None


def test_paging_in_chromium_keeps_the_filters(paged_url: str, tmp_path: Path) -> None:
    everything = _rows(httpx.get(f"{paged_url}/board").text)
    assert len(everything) == 16  # one page when the page is large enough
    counts = {
        light: int(n)
        for light, n in re.findall(
            r'data-count="(\w+)">.*?<b>(\d+)</b>', httpx.get(f"{paged_url}/board").text
        )
    }
    assert counts == Counter(everything.values())
    # pages of five, filtered to water-type changes: followed by their links in Chromium
    href: str | None = "/board?process=water_type_change&size=5"
    pages: list[dict[str, str]] = []
    while href is not None:
        dom = _dom(paged_url + href, tmp_path / f"p{len(pages)}")
        pages.append(_rows(dom))
        assert 'id="shown" data-total="14"' in dom
        assert re.search(r'<option value="water_type_change" selected', dom)
        if len(pages) > 1:
            assert 'id="first-page"' in dom
        href = _next(dom)
        if href is not None:
            assert "process=water_type_change" in href and "size=5" in href
    assert [len(p) for p in pages] == [5, 5, 4]
    seen = [case for p in pages for case in p]
    assert len(seen) == len(set(seen)) == 14 and all(c.startswith("WT-") for c in seen)
    assert seen == [c for c in everything if c.startswith("WT-")]  # the same due order
    # a light and a process together, pages of two: every page only red water-type cases
    href = "/board?light=red&process=water_type_change&size=2"
    reds: list[str] = []
    while href is not None:
        page = httpx.get(paged_url + href).text
        rows = _rows(page)
        assert set(rows.values()) <= {"red"} and len(rows) <= 2
        reds += list(rows)
        href = _next(page)
        assert href is None or ("light=red" in href and "process=water_type_change" in href)
    assert reds == [c for c, light in everything.items() if c.startswith("WT-") and light == "red"]
    assert len(reds) >= 3
