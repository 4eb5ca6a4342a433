"""The alerts' tables: alert instances and their history, silences, the notification log, the
outbox and the watcher's runs (procrules.alerts.store defines the same tables)."""

from __future__ import annotations

from alembic import op

revision = "0002_alerts"
down_revision = "0001_store"
branch_labels = None
depends_on = None


# the tables of this revision; later ones (0003: outbox_alerts) are made by their own
TABLES = ("alerts", "alert_events", "silences", "notification_log", "outbox", "watch_runs")


def upgrade() -> None:
    from procrules.alerts.store import metadata

    bind = op.get_bind()
    for table in metadata.sorted_tables:  # frozen with this revision: later changes get their own
        if table.name in TABLES:
            table.create(bind)


def downgrade() -> None:
    for name in ("watch_runs", "outbox", "notification_log", "silences", "alert_events", "alerts"):
        op.drop_table(name)
