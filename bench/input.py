"""The input side of a check, stage by stage (issue 12 item 1): microseconds per call of each
stage over the seven shipped examples, and json.loads of the same bytes beside them.

    python bench/input.py [--number N] [--repeat R]

Stages: the limits pass (`check_json_value`), the schema (`validate_case`), both as
`Checker.check` takes a parsed case (`accept_case`: one pass for the usual case), `Engine.judge`,
reading customer + facts + documents, reading events + derived names, and the tests of facts,
gates, checks and documents that follow them in `_Judgement.run`. Each stage is timed on fresh
judgements prepared outside the timing; figures are medians of R blocks of N calls (perf_counter).
Compare two trees in one session: `PYTHONPATH=other/src python bench/input.py`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):  # else: the tree PYTHONPATH names, to compare
    sys.path.insert(0, str(ROOT / "src"))

from procrules import Checker, api  # noqa: E402
from procrules.api import validate_case  # noqa: E402
from procrules.calendar import SHANGHAI  # noqa: E402
from procrules.source import check_json_value  # noqa: E402

AS_OF = dt.datetime(2026, 10, 12, 9, tzinfo=SHANGHAI)
EXAMPLES = sorted((ROOT / "processes" / "examples").glob("*.json"))
STAGES = (
    "limits",
    "schema",
    "accept",
    "judge",
    "customer+facts+docs",
    "events+derive",
    "tests",
    "loads",
)


def tests_stage(j: Any) -> None:
    """The part of `_Judgement.run` between reading the case and walking the flow."""
    p = j.process
    customer_type = j.ctx["customer.type"]
    for fact in p.facts.values():
        if fact.required_by and j.test(fact.required_when, fact.required_by):
            j.required.add(f"facts.{fact.name}")
            if j.ctx.get(f"facts.{fact.name}") is None:
                j.found.missing(fact.required_by, f"facts.{fact.name}", label=fact.label.zh)
    for gate in (*p.gates, *p.checks):
        if j.test(gate.when, gate.rule):
            zh, en = j.fill(gate.message.zh), j.fill(gate.message.en)
            j.found.add(gate.code, gate.severity, gate.rule, zh, en)
    list(j.missing_documents(j.given, customer_type))


def old_accept(case: Any, file: str, limits: Any) -> Any:
    """How Checker.check took a parsed case before api.accept_case."""
    check_json_value(case, file, limits)
    return validate_case(case, file, limits)


def block(fn: Callable[[Any], Any], items: list[Any]) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    checker = Checker.load(ROOT / "processes")
    engine, limits = checker.engine, checker.limits
    n = args.number
    accept = getattr(api, "accept_case", None) or old_accept
    table: dict[str, dict[str, float]] = {}
    for path in EXAMPLES:
        raw = path.read_bytes()
        case = json.loads(raw)
        valid = validate_case(case, "bench", limits)
        checker.check(case, AS_OF)  # warm the memos

        def judged(k: int, valid: Any = valid) -> list[Any]:
            return [engine.judge(valid, AS_OF, "bench") for _ in range(k)]

        def read_all(j: Any) -> None:
            j.read_customer()
            j.read_facts()
            j.read_documents()

        def events(j: Any) -> None:
            j.read_events()
            j.derive()

        samples: dict[str, list[float]] = {s: [] for s in STAGES}
        for _ in range(args.repeat):
            items = [case] * n
            samples["limits"].append(block(lambda c: check_json_value(c, "bench", limits), items))
            samples["schema"].append(block(lambda c: validate_case(c, "bench", limits), items))
            samples["accept"].append(block(lambda c: accept(c, "bench", limits), items))
            samples["judge"].append(block(lambda c: engine.judge(c, AS_OF, "bench"), [valid] * n))
            js = judged(n)
            samples["customer+facts+docs"].append(block(read_all, js))
            samples["events+derive"].append(block(events, js))
            samples["tests"].append(block(tests_stage, js))
            samples["loads"].append(block(json.loads, [raw] * n))
        table[path.stem] = {s: statistics.median(v) for s, v in samples.items()}
    print(f"{'us per call':<26}" + "".join(f"{s[:12]:>13}" for s in STAGES))
    for name, row in table.items():
        print(f"{name:<26}" + "".join(f"{row[s]:13.2f}" for s in STAGES))
    mean = {s: statistics.fmean(row[s] for row in table.values()) for s in STAGES}
    print(f"{'mean over the seven':<26}" + "".join(f"{mean[s]:13.2f}" for s in STAGES))
    inputs = sum(mean[s] for s in STAGES[2:-1])  # accept_case instead of limits + schema
    print(f"input side in all: {inputs:.1f} us a check, {inputs / mean['loads']:.1f}x json.loads")


if __name__ == "__main__":
    main()
