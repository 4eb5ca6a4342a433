"""The case store: event log, case data records, case index, case state projection."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_store"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(200), nullable=False),
        sa.Column("event", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("notes", JSON, nullable=False),
        sa.UniqueConstraint("case_id", "idempotency_key", name="uq_events_case_key"),
    )
    op.create_index("ix_events_case_order", "events", ["case_id", "at_us", "seq"])
    op.create_table(
        "case_data",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("data", JSON, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("process", sa.String(100), nullable=True),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("max_at_us", sa.BigInteger(), nullable=True),
        sa.Column("first_recorded_us", sa.BigInteger(), nullable=False),
        sa.Column("last_recorded_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_cases_process", "cases", ["process"])
    op.create_table(
        "case_state",
        sa.Column("case_id", sa.String(200), primary_key=True),
        sa.Column("process", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("next_due_us", sa.BigInteger(), nullable=True),
        sa.Column("roles", sa.String(1000), nullable=False),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("as_of_us", sa.BigInteger(), nullable=False),
        sa.Column("spec_revision", sa.String(100), nullable=False),
        sa.Column("calendar_version", sa.String(100), nullable=False),
        sa.Column("summary", JSON, nullable=False),
    )
    op.create_index("ix_case_state_work", "case_state", ["open", "next_due_us", "case_id"])


def downgrade() -> None:
    op.drop_table("case_state")
    op.drop_table("cases")
    op.drop_table("case_data")
    op.drop_table("events")
