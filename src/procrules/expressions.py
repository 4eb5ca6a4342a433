"""The expression language of specs: conditions and formulas that business staff write.

A small, safe subset of Python's expression syntax (parsed by the standard `ast` module, never
evaluated by Python): names such as `customer.arrears` and `facts.project_cost`, numbers, strings,
`true`/`false`, comparisons, `and`/`or`/`not`, `in [..]`, `+ - * /`, and a fixed set of functions.
Each expression is type-checked against the names its spec declares and compiled once into a
closure. Numbers are exact decimals. Nothing here reads files or the clock.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import did_you_mean

Context = Mapping[str, Any]
Fn = Callable[[Context], Any]

NUMBER, STRING, BOOL, ANY = "number", "string", "bool", "any"
EVENTS_KEY = "__events__"  # the context's map of event -> times, for happened()
TARIFF_KEY = "__tariff__"  # the context's tariff, for price() and direction()


@dataclass(frozen=True)
class Type:
    """A value type; `values` lists the allowed strings of an enumeration."""

    kind: str
    values: tuple[str, ...] = ()
    literal: bool = False  # the values of a string literal or a list of them, not an enumeration

    def __str__(self) -> str:
        return f"one of {', '.join(self.values)}" if self.values else self.kind


T_NUMBER, T_STRING, T_BOOL, T_ANY = Type(NUMBER), Type(STRING), Type(BOOL), Type(ANY)


class Missing(Exception):
    """A name the expression needs has no value in this case."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class Unknown:
    """The value of a derived name whose own input is missing: reading it names that input."""

    name: str


class ExpressionError(Exception):
    """A compile-time fault, at a 1-based column of the expression text."""

    def __init__(
        self,
        message: str,
        column: int = 1,
        suggestion: str | None = None,
        code: str = "expression_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.suggestion = suggestion
        self.code = code


@dataclass(frozen=True)
class Expression:
    source: str
    type: Type
    names: frozenset[str]
    events: frozenset[str]
    fn: Fn = field(repr=False, compare=False)
    # the spec's label for a condition, by language ({"zh": ..., "en": ...}), if it gave one
    words: Mapping[str, str] | None = field(default=None, compare=False)

    def __call__(self, ctx: Context) -> Any:
        return self.fn(ctx)


@dataclass(frozen=True)
class Environment:
    """What an expression may name: dotted names with types, events, and the tariff's types."""

    names: Mapping[str, Type]
    events: frozenset[str] = frozenset()
    water_types: tuple[str, ...] = ()


def to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            raise TypeError(f"'{value}' is not a number") from None
    raise TypeError(f"{value!r} is not a number")


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_WORDS = {"true": True, "false": False}
MAX_LENGTH = 2000
MAX_DEPTH = 40
_SINGLE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")


def compile_expression(source: str, env: Environment) -> Expression:
    """Parse, check and compile one expression; raises ExpressionError with a column."""
    text = str(source).strip()
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.replace("&&", " and").replace("||", " or"), mode="eval")
    except SyntaxError as exc:
        single = _SINGLE_EQUALS.search(text)
        if single is not None:  # the commonest slip: `a = 1` for `a == 1`
            raise ExpressionError(
                "'=' assigns a value: to compare, write '==' (e.g. direction == \"downgrade\")",
                single.start() + 1,
                code="expression_syntax",
            ) from None
        raise ExpressionError(
            f"syntax error: {exc.msg}", exc.offset or 1, code="expression_syntax"
        ) from None
    compiler = _Compiler(env)
    fn, typ = compiler.visit(tree.body, 0)
    return Expression(text, typ, frozenset(compiler.names), frozenset(compiler.events), fn)


class _Compiler:
    def __init__(self, env: Environment) -> None:
        self.env = env
        self.names: set[str] = set()
        self.events: set[str] = set()

    def fail(
        self,
        node: ast.AST,
        message: str,
        suggestion: str | None = None,
        code: str = "expression_error",
    ) -> ExpressionError:
        return ExpressionError(message, getattr(node, "col_offset", 0) + 1, suggestion, code)

    def visit(self, node: ast.AST, depth: int) -> tuple[Fn, Type]:
        if depth > MAX_DEPTH:
            raise self.fail(node, "expression nested too deeply")
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"'{ast.unparse(node)}' is not allowed in an expression")
        result: tuple[Fn, Type] = method(node, depth + 1)
        return result

    # -- leaves --------------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant, depth: int) -> tuple[Fn, Type]:
        value = node.value
        if isinstance(value, bool):
            return (lambda c, v=value: v), T_BOOL
        if isinstance(value, int | float):
            d = to_decimal(value)
            return (lambda c, v=d: v), T_NUMBER
        if isinstance(value, str):
            return (lambda c, v=value: v), Type(STRING, (value,), literal=True)
        raise self.fail(node, f"constant {value!r} is not allowed")

    def dotted(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            head = self.dotted(node.value)
            return f"{head}.{node.attr}" if head else None
        return None

    def visit_Name(self, node: ast.Name, depth: int) -> tuple[Fn, Type]:
        if node.id in _WORDS:
            value = _WORDS[node.id]
            return (lambda c, v=value: v), T_BOOL
        return self.name(node, node.id)

    def visit_Attribute(self, node: ast.Attribute, depth: int) -> tuple[Fn, Type]:
        name = self.dotted(node)
        if name is None:
            raise self.fail(node, f"'{ast.unparse(node)}' is not a name")
        return self.name(node, name)

    def name(self, node: ast.AST, name: str) -> tuple[Fn, Type]:
        typ = self.env.names.get(name)
        if typ is None:
            raise self.fail(
                node,
                f"unknown name '{name}'",
                did_you_mean(name, self.env.names),
                code="expression_unknown_name",
            )
        self.names.add(name)

        def read(c: Context, n: str = name) -> Any:
            value = c.get(n)
            if value is None:
                raise Missing(n)
            if type(value) is Unknown:
                raise Missing(value.name)
            return value

        return read, typ

    def visit_List(self, node: ast.List, depth: int) -> tuple[Fn, Type]:
        items = [self.visit(e, depth) for e in node.elts]
        fns = [f for f, _ in items]
        values = tuple(v for _, t in items if t.literal for v in t.values)
        return (lambda c: [f(c) for f in fns]), Type("list", values, literal=True)

    visit_Tuple = visit_List

    # -- operators ------------------------------------------------------------------------
    def visit_BoolOp(self, node: ast.BoolOp, depth: int) -> tuple[Fn, Type]:
        fns = [self.expect(v, T_BOOL, depth) for v in node.values]
        conjunction = isinstance(node.op, ast.And)
        fn = fns[0]
        for nxt in fns[1:]:  # nested pairs short-circuit without a generator per call
            if conjunction:
                fn = (lambda a, b: lambda c: a(c) and b(c))(fn, nxt)
            else:
                fn = (lambda a, b: lambda c: a(c) or b(c))(fn, nxt)
        return (lambda c, f=fn: bool(f(c))), T_BOOL

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> tuple[Fn, Type]:
        if isinstance(node.op, ast.Not):
            f = self.expect(node.operand, T_BOOL, depth)
            return (lambda c: not f(c)), T_BOOL
        if isinstance(node.op, ast.USub):
            f = self.expect(node.operand, T_NUMBER, depth)
            return (lambda c: -to_decimal(f(c))), T_NUMBER
        raise self.fail(node, "only 'not' and '-' may stand before a value")

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> tuple[Fn, Type]:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise self.fail(node, "only + - * / are allowed in formulas")
        left = self.expect(node.left, T_NUMBER, depth)
        right = self.expect(node.right, T_NUMBER, depth)

        def arith(c: Context) -> Decimal:
            a, b = to_decimal(left(c)), to_decimal(right(c))
            if op is operator.truediv and b == 0:
                raise ZeroDivisionError("division by zero")
            return Decimal(op(a, b))

        return arith, T_NUMBER

    def visit_Compare(self, node: ast.Compare, depth: int) -> tuple[Fn, Type]:
        if len(node.ops) != 1:
            raise self.fail(node, "compare two values at a time (use 'and' to chain)")
        op, right_node = node.ops[0], node.comparators[0]
        lf, lt = self.visit(node.left, depth)
        rf, rt = self.visit(right_node, depth)
        if isinstance(op, ast.In | ast.NotIn):
            if rt.kind != "list":
                raise self.fail(right_node, '\'in\' takes a list such as ["a", "b"]')
            self.check_members(right_node, lt, rt)
            negate = isinstance(op, ast.NotIn)
            return (lambda c: (lf(c) in rf(c)) != negate), T_BOOL
        fn = _COMPARE.get(type(op))
        if fn is None:
            raise self.fail(node, "unsupported comparison")
        kinds = {lt.kind, rt.kind} - {ANY}
        if len(kinds) > 1:
            raise self.fail(
                node, f"cannot compare {lt.kind} with {rt.kind}", code="expression_type"
            )
        if kinds == {NUMBER}:
            return (lambda c: fn(to_decimal(lf(c)), to_decimal(rf(c)))), T_BOOL
        if not isinstance(op, ast.Eq | ast.NotEq) and kinds != {ANY} and kinds:
            raise self.fail(
                node,
                f"'{ast.unparse(node)}': order comparisons need numbers",
                code="expression_type",
            )
        self.check_members(right_node, lt, rt)
        self.check_members(node.left, rt, lt)
        return (lambda c: fn(lf(c), rf(c))), T_BOOL

    def check_members(self, node: ast.AST, enum: Type, other: Type) -> None:
        """A literal compared with an enumeration must be one of its values."""
        if enum.literal or not enum.values or not other.literal:
            return
        for literal in other.values:
            if literal not in enum.values:
                raise self.fail(
                    node,
                    f"'{literal}' is not {enum}",
                    did_you_mean(literal, enum.values),
                    code="expression_type",
                )

    def visit_IfExp(self, node: ast.IfExp, depth: int) -> tuple[Fn, Type]:
        test = self.expect(node.test, T_BOOL, depth)
        bf, bt = self.visit(node.body, depth)
        of, ot = self.visit(node.orelse, depth)
        if bt.kind != ot.kind:
            raise self.fail(
                node,
                f"both branches must have one type, not {bt.kind} and {ot.kind}",
                code="expression_type",
            )
        return (lambda c: bf(c) if test(c) else of(c)), Type(
            bt.kind, bt.values + ot.values, bt.literal and ot.literal
        )

    def expect(self, node: ast.AST, want: Type, depth: int) -> Fn:
        fn, typ = self.visit(node, depth)
        if typ.kind not in (want.kind, ANY):
            raise self.fail(
                node,
                f"'{ast.unparse(node)}' is {typ.kind}, expected {want.kind}",
                code="expression_type",
            )
        return fn

    # -- functions -------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        name = self.dotted(node.func) or ""
        name = name.removeprefix("tariff.")
        handler = getattr(self, "fn_" + name, None)
        if handler is None or node.keywords:
            raise self.fail(
                node,
                f"unknown function '{name}'",
                did_you_mean(name, FUNCTIONS),
                code="expression_unknown_name",
            )
        if len(node.args) != FUNCTIONS[name]:
            raise self.fail(node, f"{name}() takes {FUNCTIONS[name]} argument(s)")
        result: tuple[Fn, Type] = handler(node, depth)
        return result

    def water_type_arg(self, node: ast.AST, depth: int) -> Fn:
        fn, typ = self.visit(node, depth)
        if typ.kind not in (STRING, ANY):
            raise self.fail(
                node, f"'{ast.unparse(node)}' is not a water-use type", code="expression_type"
            )
        self.check_members(node, Type(STRING, self.env.water_types), typ)
        return fn

    def fn_price(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        arg = self.water_type_arg(node.args[0], depth)
        return (lambda c: c[TARIFF_KEY].price(arg(c))), T_NUMBER

    def fn_direction(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        a = self.water_type_arg(node.args[0], depth)
        b = self.water_type_arg(node.args[1], depth)
        return (lambda c: c[TARIFF_KEY].direction(a(c), b(c))), Type(
            STRING, ("upgrade", "downgrade", "same")
        )

    def fn_happened(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        arg = node.args[0]
        if not isinstance(arg, ast.Constant) or not isinstance(arg.value, str):
            raise self.fail(arg, "happened() takes an event name in quotes")
        event = arg.value
        if event not in self.env.events:
            raise self.fail(
                arg,
                f"unknown event '{event}'",
                did_you_mean(event, self.env.events),
                code="expression_unknown_name",
            )
        self.events.add(event)
        return (lambda c: bool(c[EVENTS_KEY].get(event))), T_BOOL

    def fn_min(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        a = self.expect(node.args[0], T_NUMBER, depth)
        b = self.expect(node.args[1], T_NUMBER, depth)
        return (lambda c: min(to_decimal(a(c)), to_decimal(b(c)))), T_NUMBER

    def fn_max(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        a = self.expect(node.args[0], T_NUMBER, depth)
        b = self.expect(node.args[1], T_NUMBER, depth)
        return (lambda c: max(to_decimal(a(c)), to_decimal(b(c)))), T_NUMBER


FUNCTIONS = {"price": 1, "direction": 2, "happened": 1, "min": 2, "max": 2}
