"""The open cases of the case store, read a page at a time: two queries per thousand cases
instead of two per case (the watcher reads every open case on every pass). Read-only."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

import sqlalchemy as sa

from ..store import schema
from ..store.eventlog import Store, _assemble, _event

PAGE = 1000


def open_cases(engine: sa.Engine, *, process: str | None = None) -> Iterator[dict[str, Any]]:
    """Every open case (a running deadline at its last projection, or never projected), as
    `procrules check` reads it, in case id order."""
    ids = Store(engine).open_case_ids(process=process)
    while True:
        page = list(islice(ids, PAGE))
        if not page:
            return
        yield from assemble_many(engine, page)


def assemble_many(engine: sa.Engine, case_ids: list[str]) -> Iterator[dict[str, Any]]:
    data_q = (
        sa.select(schema.case_data.c.case_id, schema.case_data.c.data)
        .select_from(
            schema.case_data.join(
                schema.cases,
                sa.and_(
                    schema.cases.c.case_id == schema.case_data.c.case_id,
                    schema.cases.c.data_version == schema.case_data.c.version,
                ),
            )
        )
        .where(schema.case_data.c.case_id.in_(case_ids))
    )
    events_q = (
        sa.select(schema.events)
        .where(schema.events.c.case_id.in_(case_ids))
        .order_by(schema.events.c.case_id, schema.events.c.at_us, schema.events.c.seq)
    )
    with engine.connect() as conn:
        data = {r.case_id: dict(r.data) for r in conn.execute(data_q)}
        events: dict[str, list[Any]] = {}
        for r in conn.execute(events_q):
            events.setdefault(r.case_id, []).append(_event(r))
    for case_id in case_ids:
        if case_id in data or case_id in events:
            yield _assemble(case_id, data.get(case_id, {}), events.get(case_id, []))


class StoreCases:
    """The store's open cases, as an iterable of case dicts; with worker processes, each worker
    reads its own pages (by case id) from the same database, so reading runs in parallel too."""

    def __init__(self, engine: sa.Engine, *, process: str | None = None) -> None:
        self.engine = engine
        self.process = process

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return open_cases(self.engine, process=self.process)

    def id_pages(self, size: int) -> Iterator[list[str]]:
        ids = Store(self.engine).open_case_ids(process=self.process)
        while True:
            page = list(islice(ids, size))
            if not page:
                return
            yield page


_ENGINES: dict[str, sa.Engine] = {}


def read_page(url: str, case_ids: list[str]) -> list[dict[str, Any]]:
    """In a worker process: these cases from the store at `url` (one engine per process)."""
    engine = _ENGINES.get(url)
    if engine is None:
        from ..store import engine_for

        engine = _ENGINES[url] = engine_for(url)
    return list(assemble_many(engine, case_ids))
