"""The data-frame function behind Dask's map_partitions and Spark's mapInPandas: one row out per
row in, errors in place; under Spark itself when pyspark is installed (slow; not in CI)."""

from __future__ import annotations

import json
from functools import partial

import pytest

pd = pytest.importorskip("pandas")

from procrules.adapters.frames import SPARK_SCHEMA, judge_frames  # noqa: E402
from procrules.batch import Policy  # noqa: E402

from .conftest import PROCESSES  # noqa: E402

AS_OF = "2026-10-12T09:00:00+08:00"
CASES = [p.read_text("utf-8") for p in sorted((PROCESSES / "examples").glob("*.json"))]


def test_map_in_pandas_shape() -> None:
    policy = Policy.of(PROCESSES).bundled()
    frames = [
        pd.DataFrame({"case": CASES[:4]}),
        pd.DataFrame({"case": [*CASES[4:], "{oops"]}, index=range(4, 8)),
    ]
    out = list(judge_frames(iter(frames), AS_OF, policy))
    assert [len(f) for f in out] == [4, 4]
    both = pd.concat(out)
    assert both["source"].tolist() == [f"row {i}" for i in range(8)]
    assert both["error_code"].isna().sum() == 7 and both["error_code"].iloc[7] == "json_syntax"
    assert (
        json.loads(both["result"].iloc[0])["report"]["case_id"] == json.loads(CASES[0])["case_id"]
    )
    assert SPARK_SCHEMA.startswith("source string, case_id string")


@pytest.mark.slow
def test_under_spark(tmp_path: object) -> None:
    pyspark = pytest.importorskip("pyspark.sql")
    spark = pyspark.SparkSession.builder.master("local[2]").getOrCreate()
    try:
        cases = spark.createDataFrame([(c.replace("\n", " "),) for c in CASES], "case string")
        judge = partial(judge_frames, as_of=AS_OF, policy=Policy.of(PROCESSES).bundled())
        rows = cases.mapInPandas(judge, SPARK_SCHEMA).collect()
        assert len(rows) == len(CASES) and all(r["error_code"] is None for r in rows)
    finally:
        spark.stop()
