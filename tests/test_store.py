"""The case store, run the same on a SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from click.testing import CliRunner  # noqa: E402

from procrules import Checker  # noqa: E402
from procrules.calendar import SHANGHAI  # noqa: E402
from procrules.cli import main  # noqa: E402
from procrules.errors import CaseError  # noqa: E402
from procrules.store import open_store  # noqa: E402
from procrules.store.eventlog import IdempotencyConflict, Store, StoreError, split_case  # noqa: E402

from .conftest import PROCESSES  # noqa: E402
from .store_fixtures import pg_server, pg_url, store_url  # noqa: E402, F401

AS_OF = dt.datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI)
EXAMPLES = sorted((PROCESSES / "examples").glob("*.json"))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(AS_OF)


@pytest.fixture
def store(store_url: str, clock: Clock) -> Store:  # noqa: F811
    s = open_store(store_url, clock=clock)
    yield s  # type: ignore[misc]
    s.close()


def example(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((PROCESSES / "examples" / f"{name}.json").read_text("utf-8"))


def load(store: Store, case: dict, checker: Checker) -> None:  # type: ignore[type-arg]
    data, events = split_case(case)
    store.put_case(case["case_id"], data)
    store.append(case["case_id"], events, checker=checker)


def test_migration_goes_up_from_an_empty_database(store_url: str) -> None:  # noqa: F811
    store = open_store(store_url, migrate=False)
    assert store.schema_revision() is None
    assert store.migrate() == "0003_outbox_alerts"
    assert store.migrate() == "0003_outbox_alerts"  # again: nothing to do
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    assert {"events", "case_data", "cases", "case_state", "alembic_version"} <= tables
    assert store.counts() == {"cases": 0, "events": 0}
    store.close()


def test_stores_opened_at_once_migrate_once(store_url: str) -> None:  # noqa: F811
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: open_store(store_url), range(4)))
    assert {s.schema_revision() for s in stores} == {"0003_outbox_alerts"}
    for s in stores:
        s.close()


def test_case_data_is_versioned_and_idempotent(store: Store) -> None:
    data, _ = split_case(example("water_type_change"))
    assert store.put_case("WT-1", data).version == 1
    again = store.put_case("WT-1", data)
    assert (again.version, again.created) == (1, False)
    changed = {**data, "documents": ["id_card_copy", "application_form"]}
    assert store.put_case("WT-1", changed).version == 2
    assert [v.version for v in store.data_versions("WT-1")] == [1, 2]
    assert store.case_data("WT-1", 1).data == data  # type: ignore[union-attr]
    assert store.case_data("WT-1").data == changed  # type: ignore[union-attr]


def test_events_are_stored_once_by_idempotency_key(store: Store, checker: Checker) -> None:
    case = example("water_type_change")
    data, events = split_case(case)
    store.put_case("WT-1", data)
    first = store.append("WT-1", events, checker=checker)
    second = store.append("WT-1", events, checker=checker)
    assert [r.duplicate for r in first] == [False, False]
    assert [r.duplicate for r in second] == [True, True]
    assert [r.seq for r in first] == [r.seq for r in second]
    keyed = {"event": "change_approved", "at": "2026-10-09T10:00+08:00", "idempotency_key": "k-1"}
    assert not store.append("WT-1", [keyed])[0].duplicate
    assert store.append("WT-1", [keyed])[0].duplicate
    # The same key twice in one request: stored once.
    twice = store.append("WT-1", [{**keyed, "idempotency_key": "k-2"}] * 2)
    assert [r.duplicate for r in twice] == [False, True]
    assert len(store.events("WT-1")) == 4
    with pytest.raises(IdempotencyConflict):
        store.append("WT-1", [{**keyed, "event": "customer_data_changed"}])
    assert len(store.events("WT-1")) == 4  # the refused request appended nothing


def test_unknown_and_late_events_are_kept_and_reported(store: Store, checker: Checker) -> None:
    case = example("water_type_change")
    load(store, case, checker)
    results = store.append(
        "WT-2026-0042",
        [
            {"event": "teleported", "at": "2026-10-09T09:00+08:00"},
            {"event": "order_received", "at": "2026-09-20T09:00+08:00", "by": "营业厅"},
        ],
        checker=checker,
    )
    assert results[0].notes == ("unknown_event",)
    assert results[1].notes == ("out_of_order",)
    names = [e.event for e in store.events("WT-2026-0042")]
    assert "teleported" in names and names[0] == "order_received"
    report = checker.check(store.assemble("WT-2026-0042"), AS_OF)  # type: ignore[arg-type]
    assert "unknown_event" in {f.code for f in report.findings}
    # Events for a case without data are kept too, and said to be so.
    orphan = store.append("X-1", [{"event": "order_received", "at": "2026-10-09T09:00+08:00"}])
    assert orphan[0].notes == ("no_case_data",)
    assert store.judge("X-1", checker, AS_OF).status == "incomplete"  # type: ignore[union-attr]


def test_equal_times_keep_a_deterministic_order(store: Store) -> None:
    same = "2026-10-09T09:00:00+08:00"
    store.append(
        "C-1",
        [
            {"event": "b", "at": same},
            {"event": "a", "at": "2026-10-09T01:00:00Z"},  # the same instant, written in UTC
            {"event": "c", "at": same},
        ],
    )
    store.append("C-1", [{"event": "early", "at": "2026-10-09T08:59:59+08:00"}])
    assert [e.event for e in store.events("C-1")] == ["early", "b", "a", "c"]
    assert [e.event for e in store.events("C-1")] == [e.event for e in store.events("C-1")]


def test_bad_events_are_refused_with_their_paths(store: Store) -> None:
    with pytest.raises(CaseError) as info:
        store.append("C-1", [{"event": "", "at": "yesterday"}, {"at": "2026-10-09"}, 7])
    paths = {p.path for p in info.value.problems}
    assert {"$.events[0].event", "$.events[0].at", "$.events[1].event", "$.events[2]"} <= paths
    assert store.counts()["events"] == 0


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_a_case_from_the_log_is_judged_as_the_case_itself(
    store: Store, checker: Checker, path: Path
) -> None:
    case = json.loads(path.read_text("utf-8"))
    load(store, case, checker)
    assembled = store.assemble(case["case_id"])
    assert checker.check(assembled, AS_OF).to_dict() == checker.check(case, AS_OF).to_dict()  # type: ignore[arg-type]


def test_rebuild_and_the_worklist(store: Store, checker: Checker, clock: Clock) -> None:
    for path in EXAMPLES:
        load(store, json.loads(path.read_text("utf-8")), checker)
    summary = store.rebuild(checker, AS_OF)
    assert summary.cases == len(EXAMPLES)
    breached = store.worklist(status="breached", now=AS_OF)
    ids = [s.case_id for s in breached.items]
    assert "WT-2026-0042" in ids
    assert all(s.status == "breached" for s in breached.items)
    dues = [s.next_due_us for s in breached.items]
    assert dues == sorted(dues)  # most urgent first
    wt = store.worklist(process="water_type_change").items
    assert [s.case_id for s in wt] == ["WT-2026-0042"]
    assert wt[0].spec_revision == checker.revision
    role = wt[0].roles[0]
    assert "WT-2026-0042" in [s.case_id for s in store.worklist(role=role).items]
    assert store.worklist(role="nobody").items == []
    # Paging: one at a time, every case once.
    seen, cursor = [], None
    while True:
        page = store.worklist(limit=2, cursor=cursor)
        seen += [s.case_id for s in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(s.case_id for s in store.worklist(limit=100).items)
    assert len(seen) == len(EXAMPLES)
    with pytest.raises(StoreError):
        store.worklist(cursor="not-a-cursor")


def test_breached_is_exact_when_time_passes(store: Store, checker: Checker, clock: Clock) -> None:
    case = example("water_type_change")
    case["events"] = case["events"][:1]  # only order_received: the verification clock runs
    load(store, case, checker)
    early = dt.datetime(2026, 9, 29, 11, 0, tzinfo=SHANGHAI)
    store.rebuild(checker, early)
    assert store.state("WT-2026-0042").status in ("running", "at_risk")  # type: ignore[union-attr]
    assert store.worklist(status="breached", now=early).items == []
    later = dt.datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)
    assert [s.case_id for s in store.worklist(status="breached", now=later).items] == [
        "WT-2026-0042"
    ]
    assert list(store.open_case_ids()) == ["WT-2026-0042"]


def test_invalid_case_data_is_kept_and_reported_as_invalid(store: Store, checker: Checker) -> None:
    store.put_case("Z-1", {"process": "no_such_flow", "customer": {"type": "individual"}})
    state = store.refresh(checker, AS_OF, ["Z-1"])[0]
    assert state.status == "invalid"
    assert state.summary["problems"][0]["code"] == "unknown_process"


def test_concurrent_appends_lose_nothing(store: Store) -> None:
    def send(n: int) -> None:
        store.append(f"P-{n % 3}", [{"event": "e", "at": f"2026-10-09T09:{n % 60:02d}:00+08:00"}])
        store.append(f"P-{n % 3}", [{"event": "e", "at": f"2026-10-09T09:{n % 60:02d}:00+08:00"}])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(60)))
    assert store.counts() == {"cases": 3, "events": 60}


def test_cli_import_is_idempotent(tmp_path: Path, store_url: str) -> None:  # noqa: F811
    runner = CliRunner()
    args = ["cases", "import", str(PROCESSES / "examples"), "--store", store_url]
    args += ["--as-of", "2026-10-12T09:00:00+08:00", "--lang", "en"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "7 cases read: 7 new data versions, 23 events appended" in first.output
    second = runner.invoke(main, args)
    assert "0 new data versions, 0 events appended, 23 already stored" in second.output
    listed = runner.invoke(main, ["cases", "list", "--status", "breached", "--store", store_url])
    assert "WT-2026-0042" in listed.output
    shown = runner.invoke(
        main,
        ["cases", "show", "WT-2026-0042", "--store", store_url, "--format", "json"]
        + ["--as-of", "2026-10-12T09:00:00+08:00"],
    )
    assert shown.exit_code == 1  # a breach
    body = json.loads(shown.output)
    assert body["result"]["case_id"] == "WT-2026-0042" and len(body["events"]) == 2
    missing = runner.invoke(main, ["cases", "show", "nope", "--store", store_url])
    assert missing.exit_code == 2 and "nope" in missing.output
    rebuilt = runner.invoke(main, ["cases", "rebuild", "--store", store_url, "--lang", "en"])
    assert rebuilt.exit_code == 0 and "7 cases rebuilt" in rebuilt.output


def test_cli_import_reports_bad_cases_and_keeps_the_rest(tmp_path: Path) -> None:
    good = example("water_type_change")
    lines = [json.dumps(good), "{not json", json.dumps({**good, "case_id": None})]
    (tmp_path / "batch.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    nameless = {k: v for k, v in good.items() if k != "case_id"}
    (tmp_path / "nameless.json").write_text(json.dumps(nameless), "utf-8")
    db = str(tmp_path / "c.db")
    result = CliRunner().invoke(main, ["cases", "import", str(tmp_path), "--store", db])
    assert result.exit_code == 2
    assert "batch.jsonl:2" in result.output and "$.case_id" in result.output
    assert "1 cases read" in result.output


def test_a_store_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["cases", "list", "--store", str(tmp_path / "no" / "such" / "dir" / "c.db")]
    )
    assert result.exit_code == 2 and "store" in result.output
    refused = CliRunner().invoke(
        main, ["cases", "list", "--store", "postgresql://nobody@127.0.0.1:1/none"]
    )
    assert refused.exit_code == 2 and "Traceback" not in refused.output


def test_two_processes_import_into_one_sqlite_file(tmp_path: Path) -> None:
    """Separate processes writing one file take turns on its write lock: nothing lost, nothing
    twice."""
    import subprocess
    import sys

    exe = str(Path(sys.executable).with_name("procrules"))
    db = str(tmp_path / "cases.db")
    subprocess.run([exe, "cases", "migrate", "--store", db], check=True, capture_output=True)
    command = [exe, "cases", "import", str(PROCESSES / "examples"), "--store", db]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    store = open_store(db)
    assert store.counts() == {"cases": len(EXAMPLES), "events": 23}
    assert all(len(store.data_versions(c)) == 1 for c in store.case_ids())
    store.close()
