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
