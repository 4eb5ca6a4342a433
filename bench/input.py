"""The input side of a check, stage by stage (issue 12 item 1): microseconds per call of each
stage over the seven shipped examples, with json.loads of the same bytes beside them.

    python bench/input.py [--number N] [--repeat R] [--against OTHER/src]

Stages: the limits pass (`check_json_value`), the schema (`validate_case`), both as
`Checker.check` takes a parsed case (`accept_case`: one pass for the usual case), `Engine.judge`,
reading customer + facts + documents, reading events + derived names, and the tests of facts,
gates, checks and documents that follow them in `_Judgement.run` (and, within them, the
conditions alone: the expression closures). Each stage is timed on fresh
judgements prepared outside the timing; figures are medians of R blocks of N calls (perf_counter).

`--against` loads a second tree's `src` (e.g. main's, from `git archive main | tar -x -C DIR`)
beside this one and times each stage of both in alternate blocks of the same run, then prints
how many times faster this tree is per stage: on a shared machine only such ratios mean much.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

AS_OF_TEXT = "2026-10-12T09:00:00+08:00"
EXAMPLES = sorted((ROOT / "processes" / "examples").glob("*.json"))
STAGES = (
    "limits",
    "schema",
    "accept",
    "judge",
    "customer+facts+docs",
    "events+derive",
    "tests",
    "conditions",
    "loads",
)


def load_tree(src: Path | None) -> ModuleType:
    """The procrules package of this tree, or of another `src` folder under another name."""
    if src is None:
        return importlib.import_module("procrules")
    name = "procrules_against"
    spec = importlib.util.spec_from_file_location(
        name, src / "procrules" / "__init__.py", submodule_search_locations=[str(src / "procrules")]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Tree:
    """One tree's stages, as functions of a prepared input."""

    def __init__(self, package: ModuleType) -> None:
        name = package.__name__
        api = importlib.import_module(f"{name}.api")
        source = importlib.import_module(f"{name}.source")
        self.checker = api.Checker.load(ROOT / "processes")
        self.engine, self.limits = self.checker.engine, self.checker.limits
        self.as_of = api.resolve_as_of(AS_OF_TEXT)
        self.validate_case, self.check_json_value = api.validate_case, source.check_json_value
        self.accept_case = getattr(api, "accept_case", None) or self.old_accept

    def old_accept(self, case: Any, file: str, limits: Any) -> Any:
        """How Checker.check took a parsed case before api.accept_case."""
        self.check_json_value(case, file, limits)
        return self.validate_case(case, file, limits)

    def stages(self, case: Any, raw: bytes, n: int) -> dict[str, Callable[[], float]]:
        """Each stage, as a function that times n calls (us per call)."""
        limits, engine, as_of = self.limits, self.engine, self.as_of
        valid = self.validate_case(case, "bench", limits)
        self.checker.check(case, as_of)  # warm the memos
        cases = [case] * n
        judgements: list[Any] = []

        def judged(fn: Callable[[Any], Any], first: bool = False) -> Callable[[], float]:
            """Time fn over fresh judgements, made (untimed) before the first stage on them."""

            def timed() -> float:
                if first:
                    judgements[:] = [engine.judge(valid, as_of, "bench") for _ in range(n)]
                return block(fn, judgements)

            return timed

        def limits_pass(c: Any) -> None:
            self.check_json_value(c, "bench", limits)

        def schema(c: Any) -> None:
            self.validate_case(c, "bench", limits)

        def accept(c: Any) -> None:
            self.accept_case(c, "bench", limits)

        def judge(c: Any) -> None:
            engine.judge(c, as_of, "bench")

        return {
            "limits": lambda: block(limits_pass, cases),
            "schema": lambda: block(schema, cases),
            "accept": lambda: block(accept, cases),
            "judge": lambda: block(judge, [valid] * n),
            "customer+facts+docs": judged(read_case, first=True),
            "events+derive": judged(read_events),
            "tests": judged(tests_stage),
            "conditions": judged(conditions),
            "loads": lambda: block(json.loads, [raw] * n),
        }


def read_case(j: Any) -> None:
    j.read_customer()
    j.read_facts()
    j.read_documents()


def read_events(j: Any) -> None:
    j.read_events()
    j.derive()


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


def conditions(j: Any) -> None:
    """The conditions the tests stage evaluates, evaluated alone (the expression closures)."""
    ctx = j.ctx
    for expr in condition_list(j.process):
        try:
            expr(ctx)
        except Exception:  # noqa: BLE001, S110 - a missing input: as test() would see it
            pass


_CONDITIONS: dict[int, tuple[Any, list[Any]]] = {}


def condition_list(p: Any) -> list[Any]:
    """The conditions of facts, gates, checks and documents of a process, listed once."""
    found = _CONDITIONS.get(id(p))
    if found is None or found[0] is not p:
        exprs = [
            *(f.required_when for f in p.facts.values() if f.required_by),
            *(g.when for g in (*p.gates, *p.checks)),
            *(r.when for r in p.documents),
        ]
        found = _CONDITIONS[id(p)] = (p, [e for e in exprs if e is not None])
    return found[1]


def block(fn: Callable[[Any], Any], items: list[Any]) -> float:
    """us per call of fn over the items. The cyclic garbage collector is held off meanwhile: with
    thousands of judgements alive at once, its passes would cost more than the stage timed."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for item in items:
            fn(item)
        return (time.perf_counter() - start) / len(items) * 1e6
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another tree's src folder, to compare")
    args = parser.parse_args()
    trees = {"this": Tree(load_tree(None))}
    if args.against:
        trees["against"] = Tree(load_tree(args.against.resolve()))
    table: dict[str, dict[str, dict[str, float]]] = {t: {} for t in trees}
    speedups: dict[str, list[float]] = {s: [] for s in STAGES}
    for path in EXAMPLES:
        raw = path.read_bytes()
        stages = {t: tree.stages(json.loads(raw), raw, args.number) for t, tree in trees.items()}
        samples = {t: {s: [] for s in STAGES} for t in trees}
        ratios: dict[str, list[float]] = {s: [] for s in STAGES}
        for _ in range(args.repeat):
            for stage in STAGES:  # each stage of both trees in alternate blocks
                got = {t: stages[t][stage]() for t in trees}
                for t, us in got.items():
                    samples[t][stage].append(us)
                if "against" in got:
                    ratios[stage].append(got["against"] / got["this"])
        for t in trees:
            table[t][path.stem] = {s: statistics.median(v) for s, v in samples[t].items()}
        for stage in STAGES:
            if ratios[stage]:
                speedups[stage].append(statistics.median(ratios[stage]))
    for t in trees:
        print(f"{t + ' tree, us per call':<26}" + "".join(f"{s[:12]:>13}" for s in STAGES))
        for name, row in table[t].items():
            print(f"{name:<26}" + "".join(f"{row[s]:13.2f}" for s in STAGES))
        mean = {s: statistics.fmean(row[s] for row in table[t].values()) for s in STAGES}
        print(f"{'mean over the seven':<26}" + "".join(f"{mean[s]:13.2f}" for s in STAGES))
        # accept_case instead of limits + schema; the conditions are part of the tests
        inputs = sum(mean[s] for s in STAGES[2:-2])
        loads = mean["loads"]
        print(f"input side in all: {inputs:.1f} us a check, {inputs / loads:.1f}x json.loads\n")
    if args.against:
        print(
            f"{'times faster than against':<26}"
            + "".join(f"{statistics.median(speedups[s]):13.2f}" for s in STAGES)
        )
        print("(per stage: the median over the seven of the median per-block ratio)")


if __name__ == "__main__":
    main()
