"""An expression runs as one generated Python function (`_Compiler.inlined`) that must evaluate
exactly as the closures it is made from: the same value of the same type, or the same error
with the same arguments, in the same order of evaluation. Compared here over every condition
and formula of the shipped specs and a few hundred more, on contexts that hold every kind of
value a context can hold (absent, null, Unknown, Broken, text for numbers, NaN, ...)."""

from __future__ import annotations

import ast
import itertools
import random
from decimal import Decimal
from typing import Any

import pytest

from procrules import Checker
from procrules.expressions import (
    EVENTS_KEY,
    TARIFF_KEY,
    Broken,
    Environment,
    Type,
    Unknown,
    _Compiler,
    compile_expression,
)

NAMES = {
    "a": Type("number", low=Decimal(0)),
    "x": Type("number"),
    "t": Type("string", ("unit", "individual")),
    "s": Type("string"),
    "b": Type("bool"),
    "w": Type("string"),
    "anything": Type("any"),
}
EVENTS = frozenset({"e1", "e2"})
ENV = Environment(NAMES, EVENTS, ("residential", "special"), (Decimal("5.00"), Decimal("160")))
VALUES: tuple[Any, ...] = (
    None,
    Decimal(0),
    Decimal("12.50"),
    Decimal("-3"),
    Decimal("1e20"),
    Decimal("NaN"),
    Decimal("Infinity"),
    7,
    True,
    False,
    "unit",
    "individual",
    "residential",
    "special",
    "12",
    "x",
    "",
    Unknown("facts.cost"),
    Broken("derived", ("division by zero", "除数为零"), "spec.yaml:1:1 $"),
)
SOURCES = [
    "a > 0",
    "0 < a",
    "a >= 1.5 and x < 2",
    "a == 0 or x != 1",
    "t == 'unit'",
    "'unit' == t",
    "t != 'individual' and b",
    "t in ['unit', 'individual']",
    "t not in ['unit']",
    "s in [t, 'x']",
    "x in [1, 2.5, a]",
    "not b",
    "not (a > 1 or b)",
    "b and not b or (t == 'unit' and a < 3)",
    "b and anything and b",
    "anything or b or anything or b",
    "-a < x",
    "-(a + x) * 2 >= a / 4",
    "a - x * 3 + 1",
    "a / x",
    "a / (x - x)",
    "(a if b else x) > 1",
    "(t if a > 0 else 'unit') == 'unit'",
    "x if x > 0 else 0 - x",
    "min(a, x) + max(x, 1)",
    "price(w) > 10",
    "price('special') * a",
    "direction(w, 'residential') == 'upgrade'",
    "happened('e1') and not happened('e2')",
    "happened('e1') or a > 1",
    "anything == 1",
    "anything == 'x' or anything",
    "anything > 3",
    "b == true",
    "true and b",
    "[a, x] == [a, x]",
    "1 + 2 * 3 > a",
]


def both(source: str, env: Environment = ENV) -> tuple[Any, Any]:
    """(the closures, the inlined function) of one expression."""
    tree = ast.parse(source.replace("&&", " and").replace("||", " or"), mode="eval")
    compiler = _Compiler(env)
    fn, _ = compiler.visit(tree.body, 0)
    return fn, compiler.inlined(fn)


def outcome(fn: Any, ctx: dict[str, Any]) -> tuple[Any, ...]:
    try:
        value = fn(ctx)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return ("error", type(exc), exc.args)
    return ("value", type(value), value)


def contexts(names: list[str], tariff: Any, rng: random.Random, count: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        ctx: dict[str, Any] = {TARIFF_KEY: tariff}
        for name in names:
            value = rng.choice(VALUES)
            if value is not None or rng.random() < 0.5:  # absent, or given as null
                ctx[name] = value
        ctx[EVENTS_KEY] = {e: [1] for e in EVENTS if rng.random() < 0.5}
        out.append(ctx)
    return out


@pytest.fixture(scope="module")
def tariff(checker: Checker) -> Any:
    return checker.specs.tariff


@pytest.mark.parametrize("source", SOURCES)
def test_inlined_as_the_closures(source: str, tariff: Any) -> None:
    closures, inlined = both(source)
    assert inlined is not closures  # one generated function
    rng = random.Random(source)
    for ctx in contexts(sorted(NAMES), tariff, rng, 400):
        assert outcome(inlined, ctx) == outcome(closures, ctx), (source, ctx)


def test_every_condition_of_the_shipped_specs(checker: Checker) -> None:
    rng = random.Random(12)
    checked = 0
    for versions in checker.specs.versions.values():
        for process in versions:
            exprs = [
                *(f.required_when for f in process.facts.values()),
                *(g.when for g in (*process.gates, *process.checks)),
                *(r.when for r in process.documents),
                *(a.when for a in process.approvals),
                *(a.when for a in process.amounts),
                *(a.formula for a in process.amounts),
                *(d.when for d in process.deadlines),
                *(e for _, e in process.derive),
            ]
            for expr in filter(None, exprs):
                compiled = compile_expression(expr.source, _environment(process, checker))
                names = sorted(compiled.names)
                closures, inlined = both(expr.source, _environment(process, checker))
                for ctx in contexts(names, checker.specs.tariff, rng, 200):
                    assert outcome(inlined, ctx) == outcome(closures, ctx), (expr.source, ctx)
                checked += 1
    assert checked > 30


def _environment(process: Any, checker: Checker) -> Environment:
    """An environment that knows every name and event of the process (types left open)."""
    names = {n: Type("any") for n in _names(process)}
    tariff = checker.specs.tariff
    return Environment(names, frozenset(process.events), tuple(tariff.prices))


def _names(process: Any) -> set[str]:
    found: set[str] = set()
    for fact in process.facts.values():
        found.add(f"facts.{fact.name}")
    for key in ("type", "name", "account", "water_type", "arrears", "arrears_months"):
        found.add(f"customer.{key}")
    found.update(name for name, _ in process.derive)
    return found


def test_too_deep_for_one_function_keeps_the_closures() -> None:
    source = " and ".join(itertools.repeat("(not (b", 60)) + ")" * 120
    try:
        closures, inlined = both(source)
    except Exception:  # noqa: BLE001, S110 - refused as nested too deeply: nothing to compare
        return
    for ctx in ({"b": True}, {"b": False}, {}):
        assert outcome(inlined, ctx) == outcome(closures, ctx)


def test_the_generated_source_holds_no_text_of_the_spec() -> None:
    """Names, texts and numbers reach the generated function as values: its source is the
    compiler's own templates, whatever a spec writes."""
    tricky = 's == "\\")\\nimport os#" or s in ["\'", "\\\\"] or a > 1e3'
    for source in [*SOURCES, tricky]:
        tree = ast.parse(source, mode="eval")
        compiler = _Compiler(ENV)
        fn, _ = compiler.visit(tree.body, 0)
        code = compiler.code[fn]
        assert not set(code) & set("\"'#\\\n"), code
        assert "import" not in code and "1e3" not in code
