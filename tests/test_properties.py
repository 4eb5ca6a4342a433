"""Property tests (hypothesis) over cases, JSON text, expressions, specs and calendar files:
whatever comes in, the answer is a report or a ProcrulesError that is not an internal error.

Bounded for CI (derandomized, a few hundred examples in all, some seconds); the long runs are
scripts/fuzz.py.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procrules import Checker, InternalError, ProcrulesError, load_calendar
from procrules.expressions import (
    Environment,
    ExpressionError,
    Missing,
    Type,
    compile_expression,
)
from procrules.source import parse_json
from procrules.spec.analysis import analyse, calendar_fit

from .conftest import PROCESSES

AS_OF = "2026-10-12T09:00:00+08:00"
EXAMPLES = {p.stem: json.loads(p.read_text("utf-8")) for p in PROCESSES.glob("examples/*.json")}
BOUNDED = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

HOSTILE_TEXT = st.sampled_from(
    [
        "NaN",
        "sNaN",
        "-Infinity",
        "9e999999",
        "-1e400",
        "1e30",
        "１２３",
        "-5",
        "0",
        "\ud800",
        "\n",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59",
        "2036-12-31T10:00:00",
        "2026-02-30",
        "unit",
        "special",
        "order_received",
        "身份证",
    ]
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**45), max_value=10**45),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    HOSTILE_TEXT,
)
JSONISH = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_cases(draw: st.DrawFn) -> dict[str, Any]:
    case = json.loads(json.dumps(EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))]))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(case)
        path = draw(st.sampled_from(paths))
        value = draw(JSONISH)
        if not path:
            continue
        target = case
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return case


def judged_or_refused(checker: Checker, subject: Any, as_of: str = AS_OF) -> None:
    try:
        report = checker.check(subject, as_of=as_of)
    except InternalError as exc:  # a crash the boundary caught is still a bug
        raise AssertionError(exc.render()) from exc
    except ProcrulesError:
        return
    report.to_dict("zh")
    report.to_dict("en")


@BOUNDED
@given(case=mutated_cases(), as_of=st.sampled_from([AS_OF, "2026-10-01", "2036-12-31T23:00"]))
def test_any_case_is_judged_or_refused(checker: Checker, case: dict[str, Any], as_of: str) -> None:
    judged_or_refused(checker, case, as_of)


@BOUNDED
@given(
    process=st.sampled_from(sorted(EXAMPLES)),
    position=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=12)
    | st.sampled_from([b"NaN", b"\xff", b"\xed\xa0\x80", b"[" * 50, b'"a": 1, "a": 2, ', b"\r"]),
)
def test_any_bytes_are_read_or_refused_with_a_place(
    checker: Checker, process: str, position: float, junk: bytes
) -> None:
    raw = json.dumps(EXAMPLES[process], ensure_ascii=False).encode("utf-8")
    at = int(position * len(raw))
    text = raw[:at] + junk + raw[at:]
    try:
        parse_json(text, "case.json")
    except ProcrulesError as exc:
        assert exc.problems[0].file == "case.json"
    judged_or_refused(checker, text)


# -- expressions --------------------------------------------------------------------------------

NAMES = {
    "a": Type("number", low=Decimal(0), high=Decimal(10**15)),  # like money
    "n": Type("number", low=Decimal(1), high=Decimal(1000)),  # a fact with minimum: 1
    "x": Type("number", low=Decimal(-(10**15)), high=Decimal(10**15)),
    "t": Type("string", ("unit", "individual")),
    "b": Type("bool"),
}
ENV = Environment(NAMES, prices=(Decimal("5.00"), Decimal("160.00")))


def expressions() -> st.SearchStrategy[str]:
    atoms = st.sampled_from(["a", "n", "x", "0", "1", "2.5", "1e15", "1e28", "(0 - 0)"])
    number = st.recursive(
        atoms,
        lambda inner: (
            st.builds(
                lambda left, op, right: f"({left} {op} {right})",
                inner,
                st.sampled_from("+-*/"),
                inner,
            )
            | st.builds(lambda left, right: f"min({left}, {right})", inner, inner)
            | st.builds(lambda left, right: f"max({left}, {right})", inner, inner)
            | st.builds(
                lambda c, left, right: f"({left} if {c} else {right})",
                st.sampled_from(["n > 0", "x != 0", "a > 1", "b", "t == 'unit'"]),
                inner,
                inner,
            )
        ),
        max_leaves=8,
    )
    return st.builds(
        lambda left, op, right: f"{left} {op} {right}",
        number,
        st.sampled_from([">", "<", "==", ">="]),
        number,
    )


CONTEXTS = st.fixed_dictionaries(
    {
        "a": st.decimals(0, 10**15, places=2),
        "n": st.integers(1, 1000).map(Decimal),
        "x": st.decimals(-(10**15), 10**15, places=2),
        "t": st.sampled_from(["unit", "individual"]),
        "b": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(source=expressions(), ctx=CONTEXTS)
def test_an_expression_lint_passes_never_divides_by_zero(source: str, ctx: dict[str, Any]) -> None:
    try:
        expr = compile_expression(source, ENV)
    except ExpressionError:
        return
    try:
        expr(ctx)
    except Missing:
        pass
    except ZeroDivisionError:
        assert expr.cautions, f"{source} divided by zero, yet lint found no division to flag"
    except ArithmeticError:
        pass  # overflow of a huge product: a formula_error finding at check time


@settings(max_examples=200, deadline=None, derandomize=True)
@given(source=st.text(max_size=60) | expressions().map(lambda s: s.replace(" ", "")[:-1]))
def test_any_text_compiles_or_is_an_expression_error(source: str) -> None:
    try:
        compile_expression(source, ENV)
    except ExpressionError as exc:
        assert exc.column >= 1


# -- specs and calendars ------------------------------------------------------------------------

SPEC = "household_meter.yaml"
SPEC_DATA = yaml.safe_load((PROCESSES / SPEC).read_text("utf-8"))
SPEC_VALUES = st.one_of(
    JSONISH,
    st.sampled_from(
        [
            "customer.arrears / customer.arrears_months > 100",
            "1/0 > 0",
            "facts.monthly_water_fee * 10000000000000000000000000000",
            "999999999 days",
            "0 working days",
            "3650 days",
            "close",
            "next_working_day",
        ]
    ),
)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(data=st.data())
def test_a_spec_that_passes_lint_never_crashes_a_check(data: st.DataObject) -> None:
    spec = json.loads(json.dumps(SPEC_DATA))
    path = data.draw(st.sampled_from([p for p in _paths(spec) if p]))
    target = spec
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = data.draw(SPEC_VALUES)
    folder = Path(tempfile.mkdtemp()) / "processes"
    try:
        folder.mkdir()
        for name in ("catalog.yaml", "tariff.yaml", "rules.yaml", "calendar.yaml"):
            shutil.copyfile(PROCESSES / name, folder / name)
        (folder / SPEC).write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")
        try:
            checker = Checker.load(folder)
        except InternalError:
            raise
        except ProcrulesError:
            return
        errors = [p for p in analyse(checker.specs) if p.severity == "error"]
        if errors:
            return
        judged_or_refused(checker, EXAMPLES["household_meter"])
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


CALENDAR_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "business_hours": st.lists(
            st.lists(
                st.sampled_from(["00:00", "08:30", "12:00", "13:30", "17:00", "23:59"]),
                min_size=2,
                max_size=2,
            ),
            max_size=3,
        ),
        "years": st.dictionaries(
            st.sampled_from([0, 1900, 2027, 2100, 2101, 9999, 10000]),
            st.fixed_dictionaries(
                {
                    "rest_days": st.dictionaries(
                        st.sampled_from(["2027-02-05", "2027-02-30", "0001-01-01"]),
                        st.just("春节"),
                        max_size=2,
                    ),
                    "makeup_working_days": st.lists(st.sampled_from(["2027-02-14"]), max_size=1),
                }
            ),
            max_size=2,
        ),
        "closures": st.lists(
            st.fixed_dictionaries({"date": st.sampled_from(["2026-12-31", "2026-13-01"])}),
            max_size=2,
        ),
    },
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(override=CALENDAR_VALUES)
def test_a_calendar_file_loads_or_is_refused(checker: Checker, override: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calendar.yaml"
        path.write_text(yaml.safe_dump(override), "utf-8")
        try:
            cal = load_calendar(path)
        except ProcrulesError:
            return
        if any(p.severity == "error" for p in calendar_fit(checker.specs, cal)):
            return
        judged_or_refused(Checker(checker.specs, cal), EXAMPLES["household_meter"])


@st.composite
def plausible_cases(draw: st.DrawFn) -> dict[str, Any]:
    """Cases within the schema and limits: real events at any time of 2010-2036, any order."""
    process = draw(st.sampled_from(sorted(EXAMPLES)))
    case = json.loads(json.dumps(EXAMPLES[process]))
    names = [e["event"] for e in case.get("events", [])] or ["application_received"]
    times = st.datetimes(
        min_value=dt.datetime(2010, 1, 1),
        max_value=dt.datetime(2036, 12, 31),
    )
    case["events"] = [
        {"event": draw(st.sampled_from(names)), "at": draw(times).isoformat(timespec="seconds")}
        for _ in range(draw(st.integers(0, 8)))
    ]
    case["customer"]["arrears_months"] = draw(st.integers(0, 240))
    case["customer"]["arrears"] = str(draw(st.decimals(0, 10**12, places=2)))
    return case


@BOUNDED
@given(
    case=plausible_cases(),
    as_of=st.dates(min_value=dt.date(2010, 1, 2), max_value=dt.date(2036, 12, 31)),
)
def test_plausible_cases_are_judged(checker: Checker, case: dict[str, Any], as_of: Any) -> None:
    try:
        checker.check(case, as_of=f"{as_of.isoformat()}T12:00:00+08:00")
    except InternalError as exc:
        raise AssertionError(exc.render()) from exc
    except ProcrulesError as exc:  # only a due date past the calendar's end may refuse it
        assert {p.code for p in exc.problems} == {"case_time"}, exc.render()
