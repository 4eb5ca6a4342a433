"""The case store: an append-only event log as the source of truth, case data as versioned
records, and projections (each case's state) rebuilt from them. SQLite in a file by default,
PostgreSQL by URL, one schema with Alembic migrations shipped in `migrations/`.

    from procrules.store import open_store
    store = open_store("cases.db")                  # or "postgresql+psycopg://user@host/db"
    store.put_case("WT-1", {"process": "water_type_change", "customer": {...}})
    store.append("WT-1", [{"event": "order_received", "at": "2026-09-29T10:00+08:00"}])
    store.assemble("WT-1")                          # the case JSON, as `procrules check` reads it
    store.judge("WT-1", checker, as_of)             # its state at as_of, from the log
    store.rebuild(checker, as_of)                   # every projection, again
    with store.transaction() as conn: ...           # your own tables, in one write transaction

Needs the `server` extra (SQLAlchemy, Alembic); PostgreSQL also needs `postgres` (psycopg).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from .eventlog import Store

__all__ = ["open_store", "engine_for"]

ENV_STORE = "PROCRULES_STORE"
DEFAULT_STORE = "procrules-cases.db"


def _require_sqlalchemy() -> None:
    try:
        import alembic  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError:
        raise UsageError.at(
            "procrules.store",
            "the case store needs the server extra: pip install 'procrules[server]'",
            code="missing_extra",
        ) from None


def engine_for(target: str) -> Any:
    """A SQLAlchemy engine for a file path (SQLite, WAL) or a database URL."""
    _require_sqlalchemy()
    import sqlalchemy as sa

    if "://" not in target:
        from pathlib import Path

        path = Path(target).expanduser().resolve()
        if not path.parent.is_dir():
            raise UsageError.at(target, "the store's folder does not exist", code="store_error")
        target = f"sqlite:///{path}"
    if target.startswith("postgresql://") or target.startswith("postgres://"):
        target = "postgresql+psycopg://" + target.split("://", 1)[1]
    try:
        url = sa.make_url(target)
    except sa.exc.ArgumentError:
        raise UsageError.at(
            target, "not a database URL or a file path", code="store_error"
        ) from None
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 5})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    if url.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError.at(
                "procrules.store",
                "a PostgreSQL store needs: pip install 'procrules[postgres]'",
                code="missing_extra",
            ) from None
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    raise UsageError.at(
        target, "the store is SQLite (a file) or PostgreSQL (a URL)", code="store_error"
    )


def open_store(target: str | None = None, *, migrate: bool = True, clock: Any = None) -> Store:
    """Open (and by default migrate) the store at a file path or URL; default
    $PROCRULES_STORE, else procrules-cases.db in the working folder."""
    import os

    from .eventlog import Store, StoreError, system_clock

    target = target or os.environ.get(ENV_STORE) or DEFAULT_STORE
    store = Store(engine_for(target), clock or system_clock)
    if migrate:
        import sqlalchemy as sa

        try:
            store.migrate()
        except sa.exc.OperationalError as exc:
            store.close()
            raise StoreError.at(
                store.url, f"cannot open the store: {str(exc.orig).strip()}", code="store_error"
            ) from exc
    return store
