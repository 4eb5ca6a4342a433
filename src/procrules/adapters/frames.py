"""Judge cases held in pandas data frames: the function a data-frame engine maps over its
partitions (Dask's `map_partitions`, Spark's `mapInPandas`), thin over `check_batch`.

    from functools import partial
    judged = cases.mapInPandas(                       # Spark: a column "case" of JSON text
        partial(judge_frames, as_of="2026-10-12T09:00:00+08:00", policy=Policy.of().bundled()),
        SPARK_SCHEMA,
    )
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..batch import ROW_COLUMNS, Policy, Record, check_batch, outcome_row

if TYPE_CHECKING:
    import pandas

COLUMN_TYPES = {
    "source": "string",
    "case_id": "string",
    "process": "string",
    "ok": "boolean",
    "error_code": "string",
    "error": "string",
    "result": "string",
}
SPARK_SCHEMA = ", ".join(
    f"{name} {'boolean' if kind == 'boolean' else 'string'}" for name, kind in COLUMN_TYPES.items()
)


def as_datetime(value: str | dt.datetime) -> dt.datetime:
    from ..api import resolve_as_of

    return resolve_as_of(value)


def record(source: str, payload: Any) -> Record:
    """A record from a JSON text (str or bytes) or an already parsed case."""
    if isinstance(payload, str | bytes):
        return Record(source, raw=payload)
    return Record(source, data=payload)


def judge_frame(
    frame: pandas.DataFrame,
    as_of: str | dt.datetime,
    policy: Policy,
    *,
    column: str = "case",
    source: str | None = None,
    view: str = "report",
    lang: str = "en",
) -> pandas.DataFrame:
    """One row out per row in (same index): source, case_id, process, ok, error_code, error,
    result (the outcome as JSON text). `column` holds each case as JSON text or a dict; `source`
    names a column saying where each came from (default: 'row' and the index)."""
    import pandas as pd

    sources = (
        frame[source].astype(str).tolist() if source else [f"row {i}" for i in frame.index.tolist()]
    )
    records = [record(s, c) for s, c in zip(sources, frame[column].tolist(), strict=True)]
    outcomes = check_batch(records, as_datetime(as_of), policy, view=view, lang=lang)
    rows = [outcome_row(o) for o in outcomes]
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS), index=frame.index).astype(COLUMN_TYPES)


def judge_frames(
    frames: Iterable[pandas.DataFrame],
    as_of: str | dt.datetime,
    policy: Policy,
    *,
    column: str = "case",
    source: str | None = None,
    view: str = "report",
    lang: str = "en",
) -> Iterator[pandas.DataFrame]:
    """`judge_frame` over a stream of frames: the shape of Spark's `mapInPandas` function."""
    for frame in frames:
        yield judge_frame(frame, as_of, policy, column=column, source=source, view=view, lang=lang)
