"""The case store: an append-only event log and versioned case data, on SQLite or PostgreSQL.

Knows the core (it validates cases and projects them with a Checker), never HTTP. Nothing here
reads the clock except through the `clock` passed in, so tests move time by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..calendar import SHANGHAI
from ..engine import parse_time
from ..errors import CaseError, Problem, ProcrulesError, json_path
from . import schema
from .projection import CaseState, project

if TYPE_CHECKING:
    from ..api import Checker

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICRO = dt.timedelta(microseconds=1)
# Fields of the application JSON that make up a case's data record (all but case_id, events).
DATA_FIELDS = ("process", "customer", "documents", "facts", "received_at", "note")
# Fields of an event that the application JSON carries to the engine; the rest stay in the log.
EVENT_FIELDS = ("by", "note")
MAX_KEY = 200
MIGRATION_LOCK = 0x70726F63  # the PostgreSQL advisory lock key of schema upgrades


class StoreError(ProcrulesError):
    """The store cannot be opened or reached, or refuses a write."""

    code = "store_error"


class IdempotencyConflict(ProcrulesError):
    """An idempotency key already names a different event of the same case."""

    code = "idempotency_conflict"


def to_us(t: dt.datetime) -> int:
    return (t - EPOCH) // MICRO


def from_us(us: int) -> dt.datetime:
    return (EPOCH + us * MICRO).astimezone(SHANGHAI)


def system_clock() -> dt.datetime:
    return dt.datetime.now(SHANGHAI)


@dataclass(frozen=True)
class StoredEvent:
    """One event of the log, as kept."""

    seq: int
    case_id: str
    event: str
    at: str
    at_us: int
    recorded_at_us: int
    idempotency_key: str
    source: str | None
    payload: dict[str, Any]
    notes: tuple[str, ...]

    def to_case_event(self) -> dict[str, Any]:
        """The event as the application JSON carries it (event, at, by, note)."""
        out: dict[str, Any] = {"event": self.event, "at": self.at}
        for name in EVENT_FIELDS:
            if name in self.payload:
                out[name] = self.payload[name]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event": self.event,
            "at": self.at,
            "recorded_at": from_us(self.recorded_at_us).isoformat(timespec="milliseconds"),
            "idempotency_key": self.idempotency_key,
            "source": self.source,
            "payload": self.payload,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Appended:
    """What became of one submitted event: appended, or already in the log under its key."""

    index: int
    seq: int
    idempotency_key: str
    duplicate: bool
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "seq": self.seq,
            "idempotency_key": self.idempotency_key,
            "status": "duplicate" if self.duplicate else "appended",
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class CaseData:
    """One version of a case's data (process, customer, documents, facts, ...)."""

    case_id: str
    version: int
    recorded_at_us: int
    source: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class PutResult:
    case_id: str
    version: int
    created: bool  # False: the same data was already the current version (idempotent)


@dataclass(frozen=True)
class Page:
    """A page of the worklist, with the cursor of the next page (None at the end)."""

    items: list[CaseState]
    next_cursor: str | None
    as_of: dt.datetime


@dataclass
class RebuildSummary:
    cases: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def event_key(case_id: str, event: dict[str, Any]) -> str:
    """The idempotency key of an event sent without one: a hash of what it says, so the same
    event imported twice is stored once."""
    canonical = json.dumps(
        [case_id, event.get("event"), event.get("at"), event.get("by"), event.get("note")],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def check_events(events: Any, file: str, base: tuple[str | int, ...] = ("events",)) -> None:
    """Every fault in a list of submitted events, at once (CaseError with JSON paths)."""
    problems: list[Problem] = []
    if not isinstance(events, list):
        raise CaseError.at(file, "events must be a list", path=json_path(base), code="case_schema")
    for i, item in enumerate(events):
        where = (*base, i)
        if not isinstance(item, dict):
            problems.append(
                Problem(file, 0, 0, "case_schema", "an event must be an object", json_path(where))
            )
            continue
        name = item.get("event")
        if not isinstance(name, str) or not name or len(name) > 200:
            problems.append(
                Problem(
                    file,
                    0,
                    0,
                    "case_schema",
                    "event must be a name of 1 to 200 characters",
                    json_path((*where, "event")),
                )
            )
        at = item.get("at")
        if not isinstance(at, str) or len(at) > 40:
            problems.append(
                Problem(file, 0, 0, "case_time", "at must be a time", json_path((*where, "at")))
            )
        else:
            try:
                parse_time(at, (*where, "at"), file)
            except CaseError as exc:
                problems.extend(exc.problems)
        for name in ("idempotency_key", "by", "source"):
            value = item.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > MAX_KEY):
                problems.append(
                    Problem(
                        file,
                        0,
                        0,
                        "case_schema",
                        f"{name} must be text of at most {MAX_KEY} characters",
                        json_path((*where, name)),
                    )
                )
        note = item.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > 2000):
            problems.append(
                Problem(
                    file,
                    0,
                    0,
                    "case_schema",
                    "note must be text of at most 2000 characters",
                    json_path((*where, "note")),
                )
            )
    if problems:
        raise CaseError(problems)


def split_case(case: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An application JSON as (data record, events)."""
    data = {k: case[k] for k in DATA_FIELDS if k in case}
    events = list(case.get("events") or [])
    return data, events


class Store:
    """The event log and case data of many cases, and the projections built from them.

    Writes go through `transaction()`; on SQLite they are serialised in-process (one writer).
    Every method is safe to call from several threads.
    """

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime] = system_clock) -> None:
        self.engine = engine
        self.clock = clock
        self._write_lock = threading.RLock() if engine.dialect.name == "sqlite" else None

    # -- opening -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> str:
        """Upgrade the schema to the newest migration shipped; returns the revision."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.transaction() as conn:
            # Stores opened together (replicas, processes) upgrade one after the other (on
            # SQLite the transaction holds the write lock from its start).
            if conn.dialect.name == "postgresql":  # the lock ends with the transaction
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return self.schema_revision() or ""

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
            return str(row[0]) if row else None

    def ping(self) -> None:
        """Raise StoreError when the database cannot be reached."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError.at(
                self.url, f"cannot reach the store: {exc.__class__.__name__}"
            ) from exc

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: commit on exit, roll back on error. On SQLite, writes are
        serialised in this process and hold the database's write lock from the start."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            # The write lock from the first statement, so that another process writing the same
            # file waits (busy_timeout) instead of reading what is about to change.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    # -- case data ---------------------------------------------------------------------------

    def put_case(
        self, case_id: str, data: dict[str, Any], *, source: str | None = None
    ) -> PutResult:
        """Record a new version of a case's data, unless it equals the current one."""
        data = {k: data[k] for k in DATA_FIELDS if k in data}
        now = to_us(self.clock())
        with self.transaction() as conn:
            index = _lock_case(conn, case_id, now)
            if index.data_version:
                current = conn.execute(
                    sa.select(schema.case_data.c.data).where(
                        schema.case_data.c.case_id == case_id,
                        schema.case_data.c.version == index.data_version,
                    )
                ).scalar_one()
                if current == data:
                    return PutResult(case_id, index.data_version, False)
            version = index.data_version + 1
            conn.execute(
                schema.case_data.insert().values(
                    case_id=case_id, version=version, recorded_at_us=now, source=source, data=data
                )
            )
            conn.execute(
                schema.cases.update()
                .where(schema.cases.c.case_id == case_id)
                .values(process=data.get("process"), data_version=version, last_recorded_us=now)
            )
        return PutResult(case_id, version, True)

    def case_data(self, case_id: str, version: int | None = None) -> CaseData | None:
        """The current (or a given) version of a case's data; None when there is none."""
        with self.engine.connect() as conn:
            query = sa.select(schema.case_data).where(schema.case_data.c.case_id == case_id)
            if version is None:
                query = query.order_by(schema.case_data.c.version.desc()).limit(1)
            else:
                query = query.where(schema.case_data.c.version == version)
            row = conn.execute(query).first()
        if row is None:
            return None
        return CaseData(row.case_id, row.version, row.recorded_at_us, row.source, dict(row.data))

    def data_versions(self, case_id: str) -> list[CaseData]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.case_data)
                .where(schema.case_data.c.case_id == case_id)
                .order_by(schema.case_data.c.version)
            ).all()
        return [
            CaseData(r.case_id, r.version, r.recorded_at_us, r.source, dict(r.data)) for r in rows
        ]

    # -- events ------------------------------------------------------------------------------

    def append(
        self,
        case_id: str,
        events: Sequence[dict[str, Any]],
        *,
        process: str | None = None,
        checker: Checker | None = None,
        source: str | None = None,
        file: str = "<events>",
    ) -> list[Appended]:
        """Append events to a case's log, all or none, each at most once by its idempotency key.

        An event unknown to the flow, or earlier than one already logged (it arrived late), is
        appended all the same and comes back with a note saying so. `process` names the flow
        when the case has no data yet; `checker` lets the store recognise the flow's events.
        """
        check_events(list(events), file)
        now = to_us(self.clock())
        out: list[Appended] = []
        if not events:
            return []
        q = _statements(self.engine.dialect.name)
        with self.transaction() as conn:
            index = _lock_case(conn, case_id, now)
            flow_id = index.process or process
            known = _known_events(checker, flow_id)
            latest = index.max_at_us
            keys = [e.get("idempotency_key") or event_key(case_id, e) for e in events]
            existing = {
                row.idempotency_key: row
                for row in conn.execute(q["keys"], {"b_case": case_id, "b_keys": sorted(set(keys))})
            }
            rows: list[dict[str, Any]] = []
            pending: list[tuple[int, str, tuple[str, ...]]] = []  # index, key, notes
            fresh: dict[str, int] = {}  # key -> position in rows
            duplicates: dict[int, tuple[str, Any]] = {}  # index -> (key, prior row or None)
            for i, (item, key) in enumerate(zip(events, keys, strict=True)):
                at_us = to_us(parse_time(item["at"], ("events", i, "at"), file))
                prior = existing.get(key)
                if prior is not None or key in fresh:
                    earlier = prior._mapping if prior is not None else rows[fresh[key]]
                    if earlier["event"] != item["event"] or earlier["at_us"] != at_us:
                        raise IdempotencyConflict.at(
                            file,
                            f"idempotency key '{key}' already names another event of this case",
                            path=json_path(("events", i, "idempotency_key")),
                        )
                    duplicates[i] = (key, prior)
                    continue
                notes: list[str] = []
                if known is not None and item["event"] not in known:
                    notes.append("unknown_event")
                if latest is not None and at_us < latest:
                    notes.append("out_of_order")
                if not index.data_version:
                    notes.append("no_case_data")
                latest = at_us if latest is None else max(latest, at_us)
                fresh[key] = len(rows)
                rows.append(
                    {
                        "case_id": case_id,
                        "event": item["event"],
                        "at": item["at"],
                        "at_us": at_us,
                        "recorded_at_us": now,
                        "idempotency_key": key,
                        "source": item.get("source") or source,
                        "payload": {k: v for k, v in item.items() if k not in _NOT_PAYLOAD},
                        "notes": notes,
                    }
                )
                pending.append((i, key, tuple(notes)))
            seqs: list[int] = []
            if rows:
                seqs = [int(r[0]) for r in conn.execute(q["insert"], rows)]
                conn.execute(
                    q["update"],
                    {
                        "b_case": case_id,
                        "b_added": len(rows),
                        "b_last_seq": max(index.last_seq, *seqs),
                        "b_max_at": latest,
                        "b_now": now,
                        "b_process": index.process or process,
                    },
                )
            by_index = {
                i: Appended(i, seq, key, False, notes)
                for (i, key, notes), seq in zip(pending, seqs, strict=True)
            }
            for i, (key, prior) in duplicates.items():
                seq = prior.seq if prior is not None else seqs[fresh[key]]
                by_index[i] = Appended(i, seq, key, True)
            out = [by_index[i] for i in range(len(events))]
        return out

    def events(self, case_id: str) -> list[StoredEvent]:
        """A case's events in their deterministic order: by time, then by arrival in the log
        (so two events at the same instant keep the order in which they were recorded)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.events)
                .where(schema.events.c.case_id == case_id)
                .order_by(schema.events.c.at_us, schema.events.c.seq)
            ).all()
        return [_event(r) for r in rows]

    def log(self, after_seq: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """The log itself in arrival order, from `after_seq`: for followers and exports."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.events)
                .where(schema.events.c.seq > after_seq)
                .order_by(schema.events.c.seq)
                .limit(limit)
            ).all()
        return [_event(r) for r in rows]

    # -- cases -------------------------------------------------------------------------------

    def exists(self, case_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(schema.cases.c.case_id).where(schema.cases.c.case_id == case_id)
                ).first()
                is not None
            )

    def assemble(self, case_id: str) -> dict[str, Any] | None:
        """The case as `procrules check` reads it: current data and every event, in order.
        None when the store has neither data nor events for it."""
        data = self.case_data(case_id)
        events = self.events(case_id)
        if data is None and not events:
            return None
        return _assemble(case_id, data.data if data else {}, events)

    def case_ids(self, *, process: str | None = None, after: str = "") -> Iterator[str]:
        """Every case id in the store, in id order, read in pages."""
        return self._paged_ids(sa.select(schema.cases.c.case_id), process, after)

    def open_case_ids(self, *, process: str | None = None) -> Iterator[str]:
        """Cases whose last projection had a running deadline, or that were never projected."""
        query = (
            sa.select(schema.cases.c.case_id)
            .select_from(
                schema.cases.outerjoin(
                    schema.case_state, schema.case_state.c.case_id == schema.cases.c.case_id
                )
            )
            .where(
                sa.or_(schema.case_state.c.open.is_(True), schema.case_state.c.case_id.is_(None))
            )
        )
        return self._paged_ids(query, process, "")

    def _paged_ids(self, query: Any, process: str | None, after: str) -> Iterator[str]:
        """The case ids `query` selects, in id order, 1,000 a page (keyset paging by id)."""
        if process:
            query = query.where(schema.cases.c.process == process)
        while True:
            page = query.where(schema.cases.c.case_id > after).order_by(schema.cases.c.case_id)
            with self.engine.connect() as conn:
                ids = list(conn.execute(page.limit(1000)).scalars())
            yield from ids
            if len(ids) < 1000:
                return
            after = ids[-1]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            n_cases = conn.execute(sa.select(sa.func.count()).select_from(schema.cases)).scalar()
            n_events = conn.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar()
        return {"cases": int(n_cases or 0), "events": int(n_events or 0)}

    # -- projections -------------------------------------------------------------------------

    def judge(self, case_id: str, checker: Checker, as_of: dt.datetime) -> CaseState | None:
        """A case's state from its log at `as_of`, without storing it."""
        data = self.case_data(case_id)
        events = self.events(case_id)
        if data is None and not events:
            return None
        return self._project(case_id, data, events, checker, as_of)

    def refresh(
        self, checker: Checker, as_of: dt.datetime, case_ids: Iterable[str]
    ) -> list[CaseState]:
        """Recompute and store the projection of some cases at `as_of`."""
        ids = list(dict.fromkeys(case_ids))
        states: list[CaseState] = []
        for start in range(0, len(ids), 500):
            states.extend(self._project_batch(ids[start : start + 500], checker, as_of))
        self._save_states(states)
        return states

    def rebuild(
        self,
        checker: Checker,
        as_of: dt.datetime,
        *,
        process: str | None = None,
        open_only: bool = False,
        batch: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> RebuildSummary:
        """Recompute the projection of every case (or the open ones) from the log at `as_of`."""
        import time

        started = time.perf_counter()
        summary = RebuildSummary()
        ids_iter = (
            self.open_case_ids(process=process) if open_only else self.case_ids(process=process)
        )
        chunk: list[str] = []

        def flush() -> None:
            states = self._project_batch(chunk, checker, as_of)
            self._save_states(states)
            for s in states:
                summary.by_status[s.status] = summary.by_status.get(s.status, 0) + 1
            summary.cases += len(states)
            if progress:
                progress(summary.cases)
            chunk.clear()

        ids = list(ids_iter)  # the id pages are read before writing, so no page shifts under us
        for case_id in ids:
            chunk.append(case_id)
            if len(chunk) >= batch:
                flush()
        if chunk:
            flush()
        summary.seconds = time.perf_counter() - started
        return summary

    def state(self, case_id: str) -> CaseState | None:
        """The stored projection of a case (as of its last refresh), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(schema.case_state).where(schema.case_state.c.case_id == case_id)
            ).first()
        return _state(row) if row is not None else None

    def worklist(
        self,
        *,
        status: str | None = None,
        process: str | None = None,
        role: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        now: dt.datetime | None = None,
    ) -> Page:
        """Cases by urgency (earliest due first, then id), from the stored projections.

        `breached` is exact at `now` (a running deadline whose due has passed counts even when
        the projection is older); `at_risk` is as of each case's last refresh.
        """
        now = now or self.clock()
        now_us = to_us(now)
        cs = schema.case_state
        query = sa.select(cs)
        if status == "breached":
            query = query.where(
                sa.or_(
                    cs.c.status == "breached",
                    sa.and_(cs.c.open.is_(True), cs.c.next_due_us < now_us),
                )
            )
        elif status == "at_risk":
            query = query.where(cs.c.status == "at_risk", cs.c.next_due_us >= now_us)
        elif status == "open":
            query = query.where(cs.c.open.is_(True))
        elif status:
            query = query.where(cs.c.status == status)
        if process:
            query = query.where(cs.c.process == process)
        if role:
            query = query.where(cs.c.roles.like(f"%,{_like_escape(role)},%", escape="\\"))
        big = 2**62
        due_key = sa.func.coalesce(cs.c.next_due_us, big)
        if cursor:
            due_after, id_after = _decode_cursor(cursor)
            query = query.where(
                sa.or_(due_key > due_after, sa.and_(due_key == due_after, cs.c.case_id > id_after))
            )
        query = query.order_by(due_key, cs.c.case_id).limit(limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        items = [_state(r, now_us) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = _encode_cursor(
                last.next_due_us if last.next_due_us is not None else big, last.case_id
            )
        return Page(items, next_cursor, now)

    # -- internals ---------------------------------------------------------------------------

    def _project(
        self,
        case_id: str,
        data: CaseData | None,
        events: list[StoredEvent],
        checker: Checker,
        as_of: dt.datetime,
    ) -> CaseState:
        case = _assemble(case_id, data.data if data else {}, events) if data else None
        return project(
            case_id,
            case,
            data.version if data else 0,
            max((e.seq for e in events), default=0),
            data.data.get("process") if data else None,
            checker,
            as_of,
        )

    def _project_batch(
        self, ids: list[str], checker: Checker, as_of: dt.datetime
    ) -> list[CaseState]:
        if not ids:
            return []
        with self.engine.connect() as conn:
            latest = (
                sa.select(
                    schema.case_data.c.case_id, sa.func.max(schema.case_data.c.version).label("v")
                )
                .where(schema.case_data.c.case_id.in_(ids))
                .group_by(schema.case_data.c.case_id)
                .subquery()
            )
            data_rows = conn.execute(
                sa.select(schema.case_data).join(
                    latest,
                    sa.and_(
                        schema.case_data.c.case_id == latest.c.case_id,
                        schema.case_data.c.version == latest.c.v,
                    ),
                )
            ).all()
            event_rows = conn.execute(
                sa.select(schema.events)
                .where(schema.events.c.case_id.in_(ids))
                .order_by(schema.events.c.case_id, schema.events.c.at_us, schema.events.c.seq)
            ).all()
        data = {
            r.case_id: CaseData(r.case_id, r.version, r.recorded_at_us, r.source, dict(r.data))
            for r in data_rows
        }
        grouped: dict[str, list[StoredEvent]] = {}
        for r in event_rows:
            grouped.setdefault(r.case_id, []).append(_event(r))
        return [
            self._project(case_id, data.get(case_id), grouped.get(case_id, []), checker, as_of)
            for case_id in ids
        ]

    def _save_states(self, states: list[CaseState]) -> None:
        if not states:
            return
        rows = [s.row() for s in states]
        with self.transaction() as conn:
            conn.execute(_statements(conn.dialect.name)["save_state"], rows)


def _lock_case(conn: Connection, case_id: str, now: int) -> Any:
    """The case's index row, created if new, locked for this transaction (PostgreSQL: FOR
    UPDATE, so two writers of one case take turns; SQLite writes are serialised anyway)."""
    q = _statements(conn.dialect.name)
    row = conn.execute(q["lock_select"], {"b_case": case_id}).first()
    if row is not None:  # the usual case: one statement
        return row
    conn.execute(
        q["lock_insert"],
        {
            "case_id": case_id,
            "process": None,
            "data_version": 0,
            "events": 0,
            "last_seq": 0,
            "first_recorded_us": now,
            "last_recorded_us": now,
        },
    )
    return conn.execute(q["lock_select"], {"b_case": case_id}).one()


_NOT_PAYLOAD = frozenset(("event", "at", "idempotency_key", "source"))


@cache
def _statements(dialect: str) -> dict[str, Any]:
    """The append path's statements, built once (building Core statements costs more than
    running them on SQLite)."""
    ev, cs = schema.events, schema.cases
    insert = ev.insert().returning(ev.c.seq, sort_by_parameter_order=True)
    return {
        "keys": sa.select(ev.c.seq, ev.c.idempotency_key, ev.c.event, ev.c.at_us).where(
            ev.c.case_id == sa.bindparam("b_case"),
            ev.c.idempotency_key.in_(sa.bindparam("b_keys", expanding=True)),
        ),
        "insert": insert,
        "update": cs.update()
        .where(cs.c.case_id == sa.bindparam("b_case"))
        .values(
            events=cs.c.events + sa.bindparam("b_added"),
            last_seq=sa.bindparam("b_last_seq"),
            max_at_us=sa.bindparam("b_max_at"),
            last_recorded_us=sa.bindparam("b_now"),
            process=sa.bindparam("b_process"),
        ),
        "lock_select": sa.select(cs)
        .where(cs.c.case_id == sa.bindparam("b_case"))
        .with_for_update(),
        "lock_insert": _upsert_ignore(dialect),
        "save_state": _save_state(dialect),
    }


def _save_state(dialect: str) -> Any:
    """Insert or replace a case's state; never replace it with one computed from an older log
    (two replicas may project the same case at once, the slower from less)."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(schema.case_state)
    cs = schema.case_state
    newer = sa.or_(
        stmt.excluded.last_seq > cs.c.last_seq,
        sa.and_(
            stmt.excluded.last_seq == cs.c.last_seq,
            stmt.excluded.data_version >= cs.c.data_version,
        ),
    )
    return stmt.on_conflict_do_update(
        index_elements=["case_id"],
        set_={c.name: stmt.excluded[c.name] for c in cs.columns if c.name != "case_id"},
        where=newer,
    )


def _upsert_ignore(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(schema.cases).on_conflict_do_nothing(index_elements=["case_id"])


def _known_events(checker: Checker | None, process: str | None) -> set[str] | None:
    if checker is None or process is None:
        return None
    flow = checker.specs.processes.get(process)
    if flow is None:
        return None
    return {*flow.events, *flow.event_by_name}


def _assemble(case_id: str, data: dict[str, Any], events: list[StoredEvent]) -> dict[str, Any]:
    case: dict[str, Any] = {"case_id": case_id, **data}
    case["events"] = [e.to_case_event() for e in events]
    return case


def _event(r: Any) -> StoredEvent:
    return StoredEvent(
        r.seq,
        r.case_id,
        r.event,
        r.at,
        r.at_us,
        r.recorded_at_us,
        r.idempotency_key,
        r.source,
        dict(r.payload),
        tuple(r.notes),
    )


def _state(r: Any, now_us: int | None = None) -> CaseState:
    status = r.status
    if now_us is not None and r.open and r.next_due_us is not None and r.next_due_us < now_us:
        status = "breached"
    return CaseState(
        case_id=r.case_id,
        process=r.process,
        status=status,
        ok=r.ok,
        open=r.open,
        next_due_us=r.next_due_us,
        roles=tuple(x for x in r.roles.split(",") if x),
        data_version=r.data_version,
        last_seq=r.last_seq,
        as_of_us=r.as_of_us,
        spec_revision=r.spec_revision,
        calendar_version=r.calendar_version,
        summary=dict(r.summary),
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _encode_cursor(due_us: int, case_id: str) -> str:
    import base64

    raw = json.dumps([due_us, case_id], ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        due_us, case_id = json.loads(raw)
        if not isinstance(due_us, int) or not isinstance(case_id, str):
            raise ValueError
    except (ValueError, binascii.Error, TypeError) as exc:
        raise StoreError.at("cursor", "not a cursor from this worklist", code="bad_cursor") from exc
    return due_us, case_id
