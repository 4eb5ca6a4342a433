"""The expression language of specs: conditions and formulas that business staff write.

A small, safe subset of Python's expression syntax (parsed by the standard `ast` module; the
text itself is never evaluated by Python): names such as `customer.arrears` and
`facts.project_cost`, numbers, strings, `true`/`false`, comparisons, `and`/`or`/`not`, `in [..]`,
`+ - * /`, and a fixed set of functions. Each expression is type-checked against the names its
spec declares and compiled once into closures, and from them into one Python function written
from the compiler's own templates (the spec's names, texts and numbers are handed to it as
values, never written into its source; docs/decisions/0009). Numbers are exact decimals.
Nothing here reads files or the clock.
"""

from __future__ import annotations

import ast
import builtins
import decimal
import functools
import operator
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .errors import did_you_mean

Context = Mapping[str, Any]
Fn = Callable[[Context], Any]

NUMBER, STRING, BOOL, ANY = "number", "string", "bool", "any"
EVENTS_KEY = "__events__"  # the context's map of event -> times, for happened()
TARIFF_KEY = "__tariff__"  # the context's tariff, for price() and direction()


@dataclass(frozen=True)
class Type:
    """A value type; `values` lists the allowed strings of an enumeration; `low` and `high`
    bound a number where the spec or the case's limits say so (None: unbounded)."""

    kind: str
    values: tuple[str, ...] = ()
    literal: bool = False  # the values of a string literal or a list of them, not an enumeration
    low: Decimal | None = None
    high: Decimal | None = None

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


@dataclass(frozen=True)
class Broken:
    """The value of a derived name whose own formula failed (division by zero, overflow)."""

    name: str
    reason: tuple[str, str]  # (en, zh)
    where: str


class FormulaFailure(ArithmeticError):
    """An expression read a derived name whose formula failed; says which, and why."""

    def __init__(self, broken: Broken) -> None:
        super().__init__(f"'{broken.name}' could not be computed: {broken.reason[0]}")
        self.broken = broken


def arithmetic_reason(exc: ArithmeticError) -> tuple[str, str]:
    """A short reason for an arithmetic failure, in English and Chinese."""
    if isinstance(exc, FormulaFailure):
        b = exc.broken
        return (
            f"'{b.name}' ({b.where}) could not be computed: {b.reason[0]}",
            f"'{b.name}'（{b.where}）无法计算：{b.reason[1]}",
        )
    if isinstance(exc, ZeroDivisionError | decimal.DivisionByZero):
        return "division by zero", "除数为零"
    if isinstance(exc, decimal.Overflow):
        return "the result is too large", "结果过大"
    return "the result is not a finite number in range", "结果不是范围内的有限数"


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
    # (column, divisor) of each division whose divisor may be zero, for lint
    cautions: tuple[tuple[int, str], ...] = ()
    # where the spec writes it: file, line, column, JSON path (set by the spec compiler)
    where: tuple[str, int, int, str] = ("", 0, 0, "$")

    def location(self) -> str:
        file, line, column, path = self.where
        return f"{file}:{line}:{column} {path}" if file else path

    if TYPE_CHECKING:

        def __call__(self, ctx: Context) -> Any: ...

    else:
        # `expr(ctx)` calls `fn` itself: Python calls what a `__call__` descriptor gives, and
        # attrgetter gives it without a frame of Python in between (about 75 ns a call).
        __call__ = property(attrgetter("fn"))


@dataclass(frozen=True)
class Environment:
    """What an expression may name: dotted names with types, events, and the tariff's types."""

    names: Mapping[str, Type]
    events: frozenset[str] = frozenset()
    water_types: tuple[str, ...] = ()
    prices: tuple[Decimal, Decimal] | None = None  # lowest and highest price in the tariff


# A number written as text: ASCII digits only (no full-width １２３, no NaN, no Infinity).
_DECIMAL_TEXT = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?", re.ASCII
)


def to_decimal(value: Any) -> Decimal:
    """A finite Decimal from a number or decimal text; anything else is a TypeError."""
    kind = type(value)
    if kind is Decimal and value.is_finite():  # the usual: a number of the case, or a constant
        finite: Decimal = value
        return finite
    if kind is int:
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a finite number")
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise TypeError(f"{value} is not a finite number")
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 60 or not _DECIMAL_TEXT.fullmatch(text):
            raise TypeError(f"'{value[:40]}' is not a number")
        try:
            return Decimal(text)
        except InvalidOperation:
            raise TypeError(f"'{value[:40]}' is not a number") from None
    raise TypeError(f"{type(value).__name__} is not a number")


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
_COMPARE_SIGN = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_ARITH_SIGN = {operator.add: "+", operator.sub: "-", operator.mul: "*"}
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
    fn = compiler.inlined(fn)
    return Expression(
        text,
        typ,
        frozenset(compiler.names),
        frozenset(compiler.events),
        fn,
        cautions=tuple(compiler.cautions),
    )


# -- ranges of numbers, for divisions that may divide by zero --------------------------------
Range = tuple[Decimal | None, Decimal | None]


def _mul(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None or b is None:
        return None
    try:
        return a * b
    except ArithmeticError:
        return None


def _range_of(typ: Type) -> Range:
    return typ.low, typ.high


def _add(x: Range, y: Range, sign: int) -> Range:
    lo_y, hi_y = (
        y if sign > 0 else (None if y[1] is None else -y[1], None if y[0] is None else -y[0])
    )
    lo = None if x[0] is None or lo_y is None else x[0] + lo_y
    hi = None if x[1] is None or hi_y is None else x[1] + hi_y
    return lo, hi


def _times(x: Range, y: Range) -> Range:
    if None in x or None in y:
        return None, None
    products = [_mul(a, b) for a in x for b in y]
    if None in products:
        return None, None
    known = [p for p in products if p is not None]
    return min(known), max(known)


def _may_be_zero(r: Range) -> bool:
    lo, hi = r
    return (lo is None or lo <= 0) and (hi is None or hi >= 0)


class _Compiler:
    def __init__(self, env: Environment) -> None:
        self.env = env
        self.names: set[str] = set()
        self.events: set[str] = set()
        self.cautions: list[tuple[int, str]] = []
        # what a condition already established about names, innermost last: inside
        # `x / y if y > 0 else 0` or after `y != 0 and ...`, y is known not to be zero
        self.scopes: list[tuple[dict[str, Type], set[str]]] = []
        # The same expression as Python source, node by node, for one function without a call
        # per node (`inlined`): the code of each closure that has one, and the values it names.
        self.code: dict[Fn, str] = {}
        self.values: dict[str, Any] = {}
        self.decimals: set[str] = set()  # the names of number constants (finite Decimals)
        self.names_read: dict[str, str] = {}  # code that reads a name -> the name's value name
        self.bools: set[str] = set()  # code whose value is always True or False

    # -- the closures as one function ----------------------------------------------------------
    def emit(self, fn: Fn, code: str) -> Fn:
        self.code[fn] = code
        return fn

    def boolean(self, fn: Fn, code: str) -> Fn:
        """emit, for code whose value is always True or False."""
        self.bools.add(code)
        return self.emit(fn, code)

    def value(self, value: Any) -> str:
        """A name for a value the generated code uses."""
        name = f"_k{len(self.values)}"
        self.values[name] = value
        return name

    def of(self, fn: Fn) -> str:
        """The code of a closure: its own, or a call of it."""
        code = self.code.get(fn)
        return f"{self.value(fn)}(c)" if code is None else code

    def number_of(self, fn: Fn) -> str:
        """The code of a closure's value as `to_decimal` gives it (a Decimal as it stands)."""
        code = self.of(fn)
        if code in self.decimals:
            return code
        t = self.value(None)  # a fresh name, for the value read once
        name = self.names_read.get(code)
        if name is not None:  # a name read as a number: one test for the usual Decimal
            return (
                f"({t} if type({t} := c.get({name})) is _Decimal and {t}.is_finite() "
                f"else _number(c, {name}))"
            )
        return f"({t} if type({t} := {code}) is _Decimal and {t}.is_finite() else _to_decimal({t}))"

    def inlined(self, fn: Fn) -> Fn:
        """One Python function that evaluates as the closures do, in the same order, raising
        the same errors (the closures stay where a node has no code, e.g. price()); the
        closures themselves when the source cannot be compiled (nested too deeply)."""
        code = self.code.get(fn)
        if code is None:
            return fn
        try:
            body = _function_code(code)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            return fn
        names = {**_INLINE, **{k: v for k, v in self.values.items() if v is not None}}
        inlined: Fn = types.FunctionType(body, names, "_expression")
        return inlined

    def narrowing(self, node: ast.AST) -> tuple[dict[str, Type], set[str]]:
        """The ranges a true condition `name OP number` (or `number OP name`) gives a name."""
        ranges: dict[str, Type] = {}
        nonzero: set[str] = set()
        if not isinstance(node, ast.Compare) or len(node.ops) != 1:
            return ranges, nonzero
        left, op, right = node.left, node.ops[0], node.comparators[0]
        flip = {ast.Gt: ast.Lt, ast.Lt: ast.Gt, ast.GtE: ast.LtE, ast.LtE: ast.GtE}
        if isinstance(left, ast.Constant) and not isinstance(right, ast.Constant):
            left, right = right, left
            op = flip.get(type(op), type(op))()
        name = self.dotted(left)
        if name is None or not isinstance(right, ast.Constant):
            return ranges, nonzero
        value = right.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return ranges, nonzero
        c = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        typ = self.lookup(name)
        if typ is None or typ.kind != NUMBER:
            return ranges, nonzero
        low, high = typ.low, typ.high
        if isinstance(op, ast.Gt | ast.GtE):
            low = c if low is None else max(low, c)
            if c > 0 or (c == 0 and isinstance(op, ast.Gt)):
                nonzero.add(name)
        elif isinstance(op, ast.Lt | ast.LtE):
            high = c if high is None else min(high, c)
            if c < 0 or (c == 0 and isinstance(op, ast.Lt)):
                nonzero.add(name)
        elif isinstance(op, ast.Eq):
            low = high = c
            if c != 0:
                nonzero.add(name)
        elif isinstance(op, ast.NotEq) and c == 0:
            nonzero.add(name)
        ranges[name] = Type(NUMBER, typ.values, typ.literal, low, high)
        return ranges, nonzero

    def lookup(self, name: str) -> Type | None:
        for ranges, _ in reversed(self.scopes):
            if name in ranges:
                return ranges[name]
        return self.env.names.get(name)

    def known_nonzero(self, node: ast.AST) -> bool:
        name = self.dotted(node)
        return name is not None and any(name in nonzero for _, nonzero in self.scopes)

    def number(self, r: Range) -> Type:
        return Type(NUMBER, low=r[0], high=r[1])

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
            return self.boolean(_constant(value), repr(value)), T_BOOL
        if isinstance(value, int | float):
            try:
                d = to_decimal(value)
            except TypeError:
                raise self.fail(node, f"{value!r} is not a finite number") from None
            name = self.value(d)
            self.decimals.add(name)
            return self.emit(_constant(d), name), Type(NUMBER, low=d, high=d)
        if isinstance(value, str):
            fn = self.emit(_constant(value), self.value(value))
            return fn, Type(STRING, (value,), literal=True)
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
            return self.boolean(_constant(value), repr(value)), T_BOOL
        return self.name(node, node.id)

    def visit_Attribute(self, node: ast.Attribute, depth: int) -> tuple[Fn, Type]:
        name = self.dotted(node)
        if name is None:
            raise self.fail(node, f"'{ast.unparse(node)}' is not a name")
        return self.name(node, name)

    def name(self, node: ast.AST, name: str) -> tuple[Fn, Type]:
        typ = self.lookup(name)
        if typ is None:
            raise self.fail(
                node,
                f"unknown name '{name}'",
                did_you_mean(name, self.env.names),
                code="expression_unknown_name",
            )
        self.names.add(name)
        n, t = self.value(name), self.value(None)
        code = f"({t} if type({t} := c.get({n})) in _PLAIN else _slow(c, {n}))"
        self.names_read[code] = n
        return self.emit(_reader(name), code), typ

    def visit_List(self, node: ast.List, depth: int) -> tuple[Fn, Type]:
        items = [self.visit(e, depth) for e in node.elts]
        fns = [f for f, _ in items]
        values = tuple(v for _, t in items if t.literal for v in t.values)
        fn = self.emit(lambda c: [f(c) for f in fns], f"[{', '.join(map(self.of, fns))}]")
        return fn, Type("list", values, literal=True)

    visit_Tuple = visit_List

    # -- operators ------------------------------------------------------------------------
    def visit_BoolOp(self, node: ast.BoolOp, depth: int) -> tuple[Fn, Type]:
        conjunction = isinstance(node.op, ast.And)
        fns = []
        pushed = 0
        for value in node.values:
            fns.append(self.expect(value, T_BOOL, depth))
            if conjunction:  # what holds for the later operands of `a and b`
                self.scopes.append(self.narrowing(value))
                pushed += 1
        del self.scopes[len(self.scopes) - pushed :]
        codes = [self.of(f) for f in fns]
        joined = (" and " if conjunction else " or ").join(codes)
        fn = (_all if conjunction else _any)(tuple(fns))
        if all(code in self.bools for code in codes):  # `and` of bools is a bool already
            return self.boolean(fn, f"({joined})"), T_BOOL
        return self.boolean(fn, f"(True if ({joined}) else False)"), T_BOOL

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> tuple[Fn, Type]:
        if isinstance(node.op, ast.Not):
            f = self.expect(node.operand, T_BOOL, depth)
            return self.boolean(lambda c: not f(c), f"(not {self.of(f)})"), T_BOOL
        if isinstance(node.op, ast.USub):
            f, typ = self.typed(node.operand, T_NUMBER, depth)
            lo, hi = _range_of(typ)
            negated = self.number((None if hi is None else -hi, None if lo is None else -lo))
            return self.emit(lambda c: -to_decimal(f(c)), f"(-{self.number_of(f)})"), negated
        raise self.fail(node, "only 'not' and '-' may stand before a value")

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> tuple[Fn, Type]:
        op = _ARITH.get(type(node.op))
        if op is None:
            raise self.fail(node, "only + - * / are allowed in formulas")
        left, lt = self.typed(node.left, T_NUMBER, depth)
        right, rt = self.typed(node.right, T_NUMBER, depth)
        x, y = _range_of(lt), _range_of(rt)
        if isinstance(node.op, ast.Add | ast.Sub):
            result = _add(x, y, 1 if isinstance(node.op, ast.Add) else -1)
        elif isinstance(node.op, ast.Mult):
            result = _times(x, y)
        else:
            result = None, None
            if _may_be_zero(y) and not self.known_nonzero(node.right):
                divisor = ast.unparse(node.right)
                if isinstance(node.right, ast.BinOp | ast.IfExp):
                    divisor = f"({divisor})"
                self.cautions.append((node.right.col_offset + 1, divisor))

        if op is operator.truediv:

            def arith(c: Context) -> Decimal:
                a, b = to_decimal(left(c)), to_decimal(right(c))
                if b == 0:
                    raise ZeroDivisionError("division by zero")
                return Decimal(op(a, b))

        else:

            def arith(c: Context) -> Decimal:
                result: Decimal = op(to_decimal(left(c)), to_decimal(right(c)))
                return result  # Decimal op Decimal is a Decimal already

        a, b = self.number_of(left), self.number_of(right)
        if op is operator.truediv:
            self.emit(arith, f"_divide({a}, {b})")
        else:
            self.emit(arith, f"({a} {_ARITH_SIGN[op]} {b})")
        return arith, self.number(result)

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
            listed = _constants(right_node)
            sign = "not in" if negate else "in"
            if listed is not None:  # a list of constants, built once
                member = self.boolean(
                    lambda c: (lf(c) in listed) != negate,
                    f"({self.of(lf)} {sign} {self.value(listed)})",
                )
                return member, T_BOOL
            member = self.boolean(
                lambda c: (lf(c) in rf(c)) != negate, f"({self.of(lf)} {sign} {self.of(rf)})"
            )
            return member, T_BOOL
        fn = _COMPARE.get(type(op))
        if fn is None:
            raise self.fail(node, "unsupported comparison")
        kinds = {lt.kind, rt.kind} - {ANY}
        if len(kinds) > 1:
            raise self.fail(
                node, f"cannot compare {lt.kind} with {rt.kind}", code="expression_type"
            )
        sign = _COMPARE_SIGN[type(op)]
        if kinds == {NUMBER}:
            code = f"({self.number_of(lf)} {sign} {self.number_of(rf)})"
            compare = lambda c: fn(to_decimal(lf(c)), to_decimal(rf(c)))  # noqa: E731
            return self.boolean(compare, code), T_BOOL  # Decimals compare to a bool
        if not isinstance(op, ast.Eq | ast.NotEq) and kinds != {ANY} and kinds:
            raise self.fail(
                node,
                f"'{ast.unparse(node)}': order comparisons need numbers",
                code="expression_type",
            )
        self.check_members(right_node, lt, rt)
        self.check_members(node.left, rt, lt)
        code = f"({self.of(lf)} {sign} {self.of(rf)})"
        return self.emit(lambda c: fn(lf(c), rf(c)), code), T_BOOL

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
        self.scopes.append(self.narrowing(node.test))
        try:
            bf, bt = self.visit(node.body, depth)
        finally:
            self.scopes.pop()
        of, ot = self.visit(node.orelse, depth)
        if bt.kind != ot.kind:
            raise self.fail(
                node,
                f"both branches must have one type, not {bt.kind} and {ot.kind}",
                code="expression_type",
            )
        low = None if bt.low is None or ot.low is None else min(bt.low, ot.low)
        high = None if bt.high is None or ot.high is None else max(bt.high, ot.high)
        fn = self.emit(
            lambda c: bf(c) if test(c) else of(c),
            f"({self.of(bf)} if {self.of(test)} else {self.of(of)})",
        )
        return fn, Type(bt.kind, bt.values + ot.values, bt.literal and ot.literal, low, high)

    def expect(self, node: ast.AST, want: Type, depth: int) -> Fn:
        return self.typed(node, want, depth)[0]

    def typed(self, node: ast.AST, want: Type, depth: int) -> tuple[Fn, Type]:
        fn, typ = self.visit(node, depth)
        if typ.kind not in (want.kind, ANY):
            raise self.fail(
                node,
                f"'{ast.unparse(node)}' is {typ.kind}, expected {want.kind}",
                code="expression_type",
            )
        return fn, typ

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
        low, high = self.env.prices or (None, None)
        return (lambda c: c[TARIFF_KEY].price(arg(c))), Type(NUMBER, low=low, high=high)

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
        fn = self.boolean(
            lambda c: bool(c[EVENTS_KEY].get(event)),
            f"(True if c[_EVENTS].get({self.value(event)}) else False)",
        )
        return fn, T_BOOL

    def fn_min(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        a, at = self.typed(node.args[0], T_NUMBER, depth)
        b, bt = self.typed(node.args[1], T_NUMBER, depth)
        low = None if at.low is None or bt.low is None else min(at.low, bt.low)
        high = bt.high if at.high is None else at.high if bt.high is None else min(at.high, bt.high)
        return (lambda c: min(to_decimal(a(c)), to_decimal(b(c)))), self.number((low, high))

    def fn_max(self, node: ast.Call, depth: int) -> tuple[Fn, Type]:
        a, at = self.typed(node.args[0], T_NUMBER, depth)
        b, bt = self.typed(node.args[1], T_NUMBER, depth)
        low = bt.low if at.low is None else at.low if bt.low is None else max(at.low, bt.low)
        high = None if at.high is None or bt.high is None else max(at.high, bt.high)
        return (lambda c: max(to_decimal(a(c)), to_decimal(b(c)))), self.number((low, high))


FUNCTIONS = {"price": 1, "direction": 2, "happened": 1, "min": 2, "max": 2}


# -- closures shared by the compiler ---------------------------------------------------------


def _constant(value: Any) -> Fn:
    return lambda c: value


def _reader(name: str) -> Fn:
    """Read a name: Missing when the case does not give it (or gives null), and what a derived
    name's own inputs or formula left behind (Unknown, Broken)."""

    def read(c: Context) -> Any:
        value = c.get(name)
        if value is None:
            raise Missing(name)
        kind = type(value)
        if kind is Unknown:
            raise Missing(value.name)
        if kind is Broken:
            raise FormulaFailure(value)
        return value

    return read


def _all(fns: tuple[Fn, ...]) -> Fn:
    """`a and b and ...`: short-circuits at the first false operand, as Python's `and`."""
    if len(fns) == 2:
        a, b = fns
        return lambda c: bool(a(c) and b(c))

    def every(c: Context) -> bool:
        for f in fns:  # noqa: SIM110 - a loop: all() would build a generator every call
            if not f(c):
                return False
        return True

    return every


def _any(fns: tuple[Fn, ...]) -> Fn:
    """`a or b or ...`: short-circuits at the first true operand, as Python's `or`."""
    if len(fns) == 2:
        a, b = fns
        return lambda c: bool(a(c) or b(c))

    def some(c: Context) -> bool:
        for f in fns:  # noqa: SIM110 - a loop: any() would build a generator every call
            if f(c):
                return True
        return False

    return some


def _constants(node: ast.AST) -> tuple[Any, ...] | None:
    """The values of a list written as constants (numbers as Decimals), else None."""
    if not isinstance(node, ast.List | ast.Tuple):
        return None
    values: list[Any] = []
    for item in node.elts:
        if isinstance(item, ast.Name) and item.id in _WORDS:
            values.append(_WORDS[item.id])
        elif not isinstance(item, ast.Constant):
            return None
        elif isinstance(item.value, bool | str):
            values.append(item.value)
        elif isinstance(item.value, int | float):
            values.append(to_decimal(item.value))
        else:
            return None
    return tuple(values)


@functools.lru_cache(maxsize=1024)
def _function_code(code: str) -> types.CodeType:
    """The code of `def _expression(c): return CODE`, compiled once for every expression of the
    same shape (the code names its values `_k0`, `_k1`, ... in the order it meets them)."""
    module = compile(f"def _expression(c):\n    return {code}\n", "<expression>", "exec")
    body: types.CodeType = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return body


def _read_slow(c: Context, name: str) -> Any:
    """A name as `_reader` reads it, when the inlined read found no plain value."""
    return _reader(name)(c)


def _read_number(c: Context, name: str) -> Decimal:
    """A name read as a number (`to_decimal` of what `_reader` reads), when it is not a
    finite Decimal as it stands."""
    return to_decimal(_reader(name)(c))


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return Decimal(a / b)


# What the inlined code of an expression names, besides its own values
_INLINE: dict[str, Any] = {
    "__builtins__": builtins,
    "_PLAIN": frozenset({str, Decimal, bool, int}),  # never None, Unknown or Broken
    "_slow": _read_slow,
    "_number": _read_number,
    "_Decimal": Decimal,
    "_to_decimal": to_decimal,
    "_divide": _divide,
    "_EVENTS": EVENTS_KEY,
}
