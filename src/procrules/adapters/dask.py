"""Judge cases on a Dask cluster (`pip install 'procrules[dask]'`): a bag or a data frame of cases,
partition by partition, through `procrules.batch.check_batch`, with the policy shipped once.

    import dask.bag as db
    from procrules.adapters.dask import judge_bag
    outcomes = judge_bag(db.read_text("cases-*.jsonl"), "2026-10-12T09:00+08:00").compute()

The policy travels as one task in the graph (its files bundled, about 100 KB): each worker fetches
it once and loads it once per process, so workers need no copy of the specs folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..batch import Policy, Record, check_batch

try:
    from dask.delayed import Delayed, delayed
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError("procrules.adapters.dask needs Dask: pip install 'procrules[dask]'") from exc

from .frames import COLUMN_TYPES, as_datetime, judge_frame, record

if TYPE_CHECKING:
    import dask.bag
    import dask.dataframe


def shipped_policy(
    policy: Policy | str | Path | None = None, calendar: str | Path | None = None
) -> Any:
    """The policy as one Dask task (a delayed bundled `Policy`): pass it to every partition and
    Dask moves it to each worker once. `policy` is a Policy, or a specs folder (default: as the
    command line finds it)."""
    chosen = policy if isinstance(policy, Policy) else Policy.of(policy, calendar)
    bundle = chosen if chosen.files else chosen.bundled()
    return delayed(bundle, name=f"procrules-policy-{bundle.revision}".replace("/", "-"), pure=True)


def _bag_partition(
    items: Any, as_of: dt.datetime, policy: Policy, view: str, lang: str, partition: int
) -> list[dict[str, Any]]:
    records = []
    for i, item in enumerate(items):
        if isinstance(item, Record):
            records.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            source, payload = item
            records.append(record(str(source), payload))
        else:
            records.append(record(f"partition {partition} item {i + 1}", item))
    return check_batch(records, as_of, policy, view=view, lang=lang)


def judge_bag(
    bag: dask.bag.Bag,
    as_of: str | dt.datetime,
    policy: Policy | str | Path | Delayed | None = None,
    *,
    view: str = "report",
    lang: str = "en",
) -> dask.bag.Bag:
    """A bag of outcomes, one per element, in order: a result (`view` as in `check_batch`), or an
    error record naming the element. Elements are case dicts, JSON text or bytes (a line of
    JSON Lines), or (source, case) pairs; blank lines of text are dropped first. `policy` may be
    the result of `shipped_policy`, to share one shipment between several calls."""
    import dask.bag as db

    shipped = policy if isinstance(policy, Delayed) else shipped_policy(policy)
    cleaned = bag.filter(lambda x: not (isinstance(x, str | bytes) and not x.strip()))
    parts = cleaned.to_delayed()
    when = as_datetime(as_of)
    judged = [
        delayed(_bag_partition, pure=True)(part, when, shipped, view, lang, n)
        for n, part in enumerate(parts)
    ]
    return db.from_delayed(judged)


def judge_dataframe(
    frame: dask.dataframe.DataFrame,
    as_of: str | dt.datetime,
    policy: Policy | str | Path | Delayed | None = None,
    *,
    column: str = "case",
    source: str | None = None,
    view: str = "report",
    lang: str = "en",
) -> dask.dataframe.DataFrame:
    """A data frame with one row per input row (same index): source, case_id, process, ok,
    error_code, error and result (the outcome as JSON text). `column` holds each case as JSON
    text (or a dict); `source` names a column that says where each came from (default: the
    row's index)."""
    import pandas as pd

    meta = pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMN_TYPES.items()})
    return frame.map_partitions(
        judge_frame,
        as_datetime(as_of),
        policy if isinstance(policy, Delayed) else shipped_policy(policy),
        column=column,
        source=source,
        view=view,
        lang=lang,
        meta=meta,
    )
