"""The fast pass over a parsed case (`source._clean`, no paths, one walk) accepts exactly what
the slow pass (`source._first_fault`, which names the path and the fault) finds nothing in."""

from __future__ import annotations

import random
from typing import Any

from procrules.limits import DEFAULT, Limits
from procrules.source import _clean, _first_fault

SCALARS: tuple[Any, ...] = (
    "a",
    "医",
    "\ud800",
    "ok\udfffok",
    "x" * (DEFAULT.string_chars + 1),
    0,
    -(10**39),
    10**40,
    1.5,
    float("nan"),
    float("-inf"),
    True,
    None,
    b"bytes",
    3j,
)
KEYS: tuple[Any, ...] = ("k", "名", "\udc00", "y" * (DEFAULT.string_chars + 1), 5)


def value(rng: random.Random, depth: int) -> Any:
    r = rng.random()
    if depth > 36 or r < 0.45:
        return rng.choice(SCALARS)
    if r < 0.72:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def nested(kind: type, levels: int) -> Any:
    out: Any = "leaf"
    for _ in range(levels):
        out = [out] if kind is list else {"a": out}
    return out


def test_fast_pass_agrees_with_the_slow_one() -> None:
    rng = random.Random(12)
    cases = [value(rng, 0) for _ in range(4000)]
    cases += [nested(k, n) for k in (list, dict) for n in (31, 32, 33, 40)]
    for limits in (DEFAULT, Limits(depth=3, string_chars=4, number_digits=2)):
        for case in cases:
            assert _clean(case, limits, 0) == (_first_fault(case, limits) is None), case
