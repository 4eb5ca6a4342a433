"""The store's tables, in SQLAlchemy Core: one schema for SQLite and PostgreSQL.

The migrations in `migrations/versions/` create exactly these tables; this module is what the
code queries. The event log (`events`) and the case data records (`case_data`) are the source of
truth and are only ever appended to; `cases` is an index kept in the same transaction as each
append; `case_state` is a projection, thrown away and rebuilt from the log at will.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

# JSON as text on SQLite, jsonb on PostgreSQL.
JSON = sa.JSON().with_variant(JSONB(), "postgresql")

events = sa.Table(
    "events",
    metadata,
    # Arrival order in this log: the last tie-breaker of the event order (see Store.events).
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("case_id", sa.String(200), nullable=False),
    sa.Column("event", sa.String(200), nullable=False),
    # The event's time as given (with its offset) and as UTC microseconds for ordering.
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("at_us", sa.BigInteger(), nullable=False),
    sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    sa.Column("source", sa.String(200), nullable=True),
    # The rest of the event as sent (by, note, and any field the flow does not know).
    sa.Column("payload", JSON, nullable=False),
    # What was noticed on arrival (unknown_event, out_of_order, no_case_data): reported, kept.
    sa.Column("notes", JSON, nullable=False),
    sa.UniqueConstraint("case_id", "idempotency_key", name="uq_events_case_key"),
)
sa.Index("ix_events_case_order", events.c.case_id, events.c.at_us, events.c.seq)

case_data = sa.Table(
    "case_data",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer(), primary_key=True),
    sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
    sa.Column("source", sa.String(200), nullable=True),
    # process, customer, documents, facts, received_at, note: everything but case_id and events.
    sa.Column("data", JSON, nullable=False),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("process", sa.String(100), nullable=True),
    sa.Column("data_version", sa.Integer(), nullable=False),
    sa.Column("events", sa.Integer(), nullable=False),
    sa.Column("last_seq", sa.BigInteger(), nullable=False),
    # The latest event time in the log, to tell a late arrival without reading the log.
    sa.Column("max_at_us", sa.BigInteger(), nullable=True),
    sa.Column("first_recorded_us", sa.BigInteger(), nullable=False),
    sa.Column("last_recorded_us", sa.BigInteger(), nullable=False),
)
sa.Index("ix_cases_process", cases.c.process)

case_state = sa.Table(
    "case_state",
    metadata,
    sa.Column("case_id", sa.String(200), primary_key=True),
    sa.Column("process", sa.String(100), nullable=True),
    # breached | at_risk | running | closed | invalid | incomplete (see projection.status_of)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("ok", sa.Boolean(), nullable=True),
    sa.Column("open", sa.Boolean(), nullable=False),
    # The earliest due instant of a running deadline: the case is breached once it passes.
    sa.Column("next_due_us", sa.BigInteger(), nullable=True),
    # The roles owing the next step of a running deadline, as ",role,role," for a LIKE filter.
    sa.Column("roles", sa.String(1000), nullable=False),
    sa.Column("data_version", sa.Integer(), nullable=False),
    sa.Column("last_seq", sa.BigInteger(), nullable=False),
    sa.Column("as_of_us", sa.BigInteger(), nullable=False),
    sa.Column("spec_revision", sa.String(100), nullable=False),
    sa.Column("calendar_version", sa.String(100), nullable=False),
    sa.Column("summary", JSON, nullable=False),
)
sa.Index("ix_case_state_work", case_state.c.open, case_state.c.next_due_us, case_state.c.case_id)
