"""The expression language: exact decimals, type checks at lint time, no code execution."""

from __future__ import annotations

from decimal import Decimal

import pytest

from procrules.expressions import (
    EVENTS_KEY,
    T_BOOL,
    T_NUMBER,
    Environment,
    ExpressionError,
    Missing,
    Type,
    compile_expression,
)

ENV = Environment(
    names={
        "customer.type": Type("string", ("individual", "unit")),
        "facts.cost": T_NUMBER,
        "facts.big": T_BOOL,
        "facts.volume": T_NUMBER,
    },
    events=frozenset({"order_received"}),
    water_types=("residential", "special"),
)


@pytest.mark.parametrize(
    "source,ctx,expected",
    [
        (
            'customer.type == "unit" and facts.cost >= 100000',
            {"customer.type": "unit", "facts.cost": 100000},
            True,
        ),
        (
            'customer.type == "unit" and facts.cost >= 100000',
            {"customer.type": "unit", "facts.cost": "99999.99"},
            False,
        ),
        ("3 * facts.volume", {"facts.volume": Decimal("0.335")}, Decimal("1.005")),
        ("0.1 + 0.2", {}, Decimal("0.3")),
        ("facts.cost / 4", {"facts.cost": 10}, Decimal("2.5")),
        ("not facts.big", {"facts.big": False}, True),
        ('customer.type in ["unit"]', {"customer.type": "unit"}, True),
        ('customer.type not in ["unit"]', {"customer.type": "unit"}, False),
        ("facts.big && facts.cost > 1", {"facts.big": True, "facts.cost": 2}, True),
        ("min(facts.cost, 5) + max(1, 2)", {"facts.cost": 9}, Decimal("7")),
        ('happened("order_received")', {EVENTS_KEY: {"order_received": [1]}}, True),
        ('happened("order_received")', {EVENTS_KEY: {}}, False),
        ("true or false", {}, True),
    ],
)
def test_evaluates(source: str, ctx: dict, expected: object) -> None:  # type: ignore[type-arg]
    assert compile_expression(source, ENV)(ctx) == expected


@pytest.mark.parametrize(
    "source,code,column,suggestion",
    [
        ('customer.typ == "unit"', "expression_unknown_name", 1, "customer.type"),
        ('customer.type == "unti"', "expression_type", 18, "unit"),
        ('facts.cost > "a"', "expression_type", 1, None),
        ("facts.big + 1", "expression_type", 1, None),
        ("facts.cost >", "expression_syntax", None, None),
        ('__import__("os")', "expression_unknown_name", 1, None),
        ("facts.cost.__class__", "expression_unknown_name", 1, "facts.cost"),
        ('price("specail")', "expression_type", 7, "special"),
        ('happened("order_recieved")', "expression_unknown_name", 10, "order_received"),
        ("[x for x in facts]", "expression_error", 1, None),
        ("lambda: 1", "expression_error", 1, None),
        ("facts.cost ** 2", "expression_error", 1, None),
        ("1 < facts.cost < 3", "expression_error", 1, None),
    ],
)
def test_rejects_with_a_column(
    source: str, code: str, column: int | None, suggestion: str | None
) -> None:
    with pytest.raises(ExpressionError) as exc:
        compile_expression(source, ENV)
    assert exc.value.code == code
    if column is not None:
        assert exc.value.column == column
    assert exc.value.suggestion == suggestion


def test_a_missing_value_names_itself() -> None:
    expr = compile_expression("facts.cost > 1", ENV)
    with pytest.raises(Missing) as exc:
        expr({})
    assert exc.value.name == "facts.cost"


def test_and_short_circuits_before_a_missing_value() -> None:
    expr = compile_expression('customer.type == "unit" and facts.cost > 1', ENV)
    assert expr({"customer.type": "individual"}) is False


def test_reports_the_names_it_reads() -> None:
    expr = compile_expression('customer.type == "unit" and happened("order_received")', ENV)
    assert expr.names == {"customer.type"} and expr.events == {"order_received"}


def test_length_is_bounded() -> None:
    with pytest.raises(ExpressionError):
        compile_expression("1 + " * 600 + "1", ENV)
