"""Alembic environment of the store: run by `Store.migrate()` (and so by `open_store`).

The connection comes in through `config.attributes["connection"]`; nothing reads alembic.ini.
Each migration in `versions/` writes its DDL explicitly with `op.create_table` (no autogenerate),
so that a migration stays what it was when it shipped, whatever the code's tables become later.

To add tables (for example the alert tables), add a file `versions/NNNN_name.py` with
`revision = "NNNN_name"` and `down_revision` set to the newest existing revision (`0001_store`
for the first one after the store), and define the same tables in your module's SQLAlchemy
`MetaData` for queries. `procrules cases migrate` (and every `open_store`) upgrades to head.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
