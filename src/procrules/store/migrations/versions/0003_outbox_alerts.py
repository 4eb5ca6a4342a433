"""A long message's alerts in rows of their own (`outbox_alerts`), read a page at a time by
delivery, instead of whole inside the outbox row's payload. Rows recorded before keep their
alerts in the payload and are still delivered from it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox_alerts"
down_revision = "0002_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_alerts",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("alert", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("outbox_id", "seq"),
    )


def downgrade() -> None:
    op.drop_table("outbox_alerts")
