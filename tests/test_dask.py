"""The Dask adapter on a real local cluster (two worker processes): the same outcomes, in the
same order, as `check_batch` in this process; the policy reaches workers that never saw it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("distributed")
pytest.importorskip("pandas")

import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

from procrules.adapters.dask import judge_bag, judge_dataframe, shipped_policy  # noqa: E402
from procrules.api import resolve_as_of  # noqa: E402
from procrules.batch import Policy, Record, check_batch, outcome_row  # noqa: E402

from .conftest import PROCESSES  # noqa: E402

AS_OF = "2026-10-12T09:00:00+08:00"
EXAMPLES = sorted((PROCESSES / "examples").glob("*.json"))
LINES = [p.read_text("utf-8").replace("\n", " ") for p in EXAMPLES] * 3 + ["{bad", "[1]", " "]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def placeless(outcome: dict[str, Any]) -> dict[str, Any]:
    """An outcome without the names of its place (they differ between the two runs)."""
    out = {k: v for k, v in outcome.items() if k != "source"}
    if "error" in out:
        out["error"] = {k: v for k, v in out["error"].items() if k != "file"}
    for alert in out.get("alerts", []):
        alert.pop("source")
    return out


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def test_a_bag_partition_by_partition(client: Client) -> None:
    bag = db.from_sequence(LINES, npartitions=4)
    outcomes = judge_bag(bag, AS_OF, PROCESSES, view="alerts").compute()
    policy = Policy.of(PROCESSES)
    local = check_batch(
        [Record("x", raw=line) for line in LINES if line.strip()],
        resolve_as_of(AS_OF),
        policy,
        view="alerts",
    )
    assert len(outcomes) == len(LINES) - 1  # the blank line is dropped, nothing else
    assert [placeless(o) for o in outcomes] == [placeless(o) for o in local]
    assert [o["error"]["code"] for o in outcomes if "error" in o] == ["json_syntax", "case_schema"]
    # the workers loaded the policy from its bundle, once each
    revisions = client.run(
        lambda: sorted(p.revision for p, _ in __import__("procrules.batch").batch._LOADED)
    )
    assert all(policy.revision in r for r in revisions.values())


def test_a_dataframe_keeps_its_index_and_order(client: Client) -> None:
    frame = pd.DataFrame(
        {
            "id": [f"line-{i}" for i in range(len(LINES) - 1)],
            "case": [x for x in LINES if x.strip()],
        }
    )
    ddf = dd.from_pandas(frame, npartitions=3)
    shipped = shipped_policy(PROCESSES)
    result = judge_dataframe(ddf, AS_OF, shipped, source="id").compute()
    assert result.index.tolist() == frame.index.tolist()
    assert result["source"].tolist() == frame["id"].tolist()
    assert result["error_code"].dropna().tolist() == ["json_syntax", "case_schema"]
    reports = [json.loads(r)["report"] for r in result["result"].dropna()]
    assert [r["case_id"] for r in reports[:7]] == [
        json.loads(p.read_text("utf-8"))["case_id"] for p in EXAMPLES
    ]
    row = outcome_row(
        check_batch([Record("line-0", raw=LINES[0])], resolve_as_of(AS_OF), Policy.of(PROCESSES))[0]
    )
    assert result.iloc[0].to_dict() == row
