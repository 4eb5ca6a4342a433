"""The one-pass reading of a parsed case (`plain_case`, behind `api.accept_case`) decides
exactly as the limits pass and the schema did before it, one after the other: the same case
back, or the same error (class, file, position, JSON path, code, message), or the same crash."""

from __future__ import annotations

import copy
import enum
import json
import random
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from procrules.api import _case_validator, accept_case, validate_case
from procrules.errors import ProcrulesError
from procrules.limits import DEFAULT, Limits
from procrules.plain_case import plain_case, validator, written_for_schema
from procrules.source import check_json_value

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "processes/examples").glob("*.json"))


class Text(str):
    pass


class Kind(enum.StrEnum):
    UNIT = "unit"


class Count(enum.IntEnum):
    ONE = 1


def outcome(read: Any) -> tuple[Any, ...]:
    try:
        return ("ok", read())
    except ProcrulesError as exc:
        return ("error", type(exc).__name__, [repr(p) for p in exc.problems])
    except Exception as exc:  # noqa: BLE001 - a crash must stay the same crash
        return ("crash", type(exc).__name__, str(exc))


def both_in_full(case: Any, limits: Limits) -> tuple[Any, ...]:
    def read() -> Any:
        check_json_value(case, "case.json", limits)
        return validate_case(case, "case.json", limits)

    return outcome(read)


def agrees(case: Any, limits: Limits = DEFAULT) -> bool:
    """accept_case decides as the two checks in full; plain_case is never wrong when sure."""
    before = both_in_full(case, limits)
    assert outcome(lambda: accept_case(case, "case.json", limits)) == before, case
    sure = plain_case(case, limits, validator())
    assert not sure or before[0] == "ok", case
    return sure


def test_written_for_the_shipped_schema() -> None:
    """Fails when schemas/application.schema.json changes: bring plain_case.py up to date with
    it (what the validator then proves, and what not), then its SCHEMA_SHA256."""
    assert written_for_schema()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_in_one_pass(path: Path) -> None:
    assert agrees(json.loads(path.read_bytes()))


def example() -> dict[str, Any]:
    case: dict[str, Any] = json.loads((EXAMPLES[0]).read_bytes())
    return case


EDITS: dict[str, Any] = {
    "surrogate in case_id": lambda c: c.__setitem__("case_id", "a\ud800b"),
    "surrogate in a name": lambda c: c["customer"].__setitem__("name", "\udc00"),
    "surrogate in a document": lambda c: c["documents"].__setitem__(0, "\udc00x"),
    "surrogate in an event": lambda c: c["events"][0].__setitem__("event", "\udc00x"),
    "surrogate in an event note": lambda c: c["events"][0].__setitem__("note", "\udc00"),
    "surrogate in an event's by": lambda c: c["events"][1].__setitem__("by", "a\udfff"),
    "surrogate in a time": lambda c: c["events"][0].__setitem__("at", "2026-05-06\ud800"),
    "surrogate in the process": lambda c: c.__setitem__("process", "account_closure\ud800"),
    "surrogate in arrears": lambda c: c["customer"].__setitem__("arrears", "12\ud800"),
    "surrogate in a fact": lambda c: c["facts"].__setitem__("x", "\udc00x"),
    "surrogate in a fact's key": lambda c: c["facts"].__setitem__("\udc00x", 1),
    "surrogate in a key": lambda c: c.__setitem__("\udc00x", 1),
    "surrogate in a customer key": lambda c: c["customer"].__setitem__("na\ud800me", "x"),
    "surrogate in an event key": lambda c: c["events"][0].__setitem__("no\udc00te", "x"),
    "surrogate in a note": lambda c: c.__setitem__("note", "\ud800"),
    "tuple of documents": lambda c: c.__setitem__("documents", tuple(c["documents"])),
    "tuple of events": lambda c: c.__setitem__("events", tuple(c["events"])),
    "an event as a tuple": lambda c: c["events"].__setitem__(0, ("a", "b")),
    "list subclass": lambda c: c.__setitem__("documents", type("L", (list,), {})(["id_card"])),
    "dict subclass": lambda c: c.__setitem__("customer", OrderedDict(c["customer"])),
    "event dict subclass": lambda c: c["events"].__setitem__(0, OrderedDict(c["events"][0])),
    "case as OrderedDict": lambda c: c.__setitem__("facts", OrderedDict(c["facts"])),
    "str subclass value": lambda c: c["customer"].__setitem__("name", Text("x")),
    "str subclass event": lambda c: c["events"][0].__setitem__("event", Text("x")),
    "str subclass key": lambda c: c["facts"].__setitem__(Text("k"), 1),
    "str enum": lambda c: c["customer"].__setitem__("type", Kind.UNIT),
    "int enum": lambda c: c["customer"].__setitem__("arrears_months", Count.ONE),
    "NaN arrears": lambda c: c["customer"].__setitem__("arrears", float("nan")),
    "infinite arrears": lambda c: c["customer"].__setitem__("arrears", float("inf")),
    "float arrears": lambda c: c["customer"].__setitem__("arrears", 12.5),
    "huge arrears": lambda c: c["customer"].__setitem__("arrears", 10**50),
    "arrears at the bound": lambda c: c["customer"].__setitem__("arrears", 10**40),
    "arrears under the bound": lambda c: c["customer"].__setitem__("arrears", 10**40 - 1),
    "long arrears text": lambda c: c["customer"].__setitem__("arrears", "1" * 20_000),
    "huge months": lambda c: c["customer"].__setitem__("arrears_months", 10**50),
    "months as a float": lambda c: c["customer"].__setitem__("arrears_months", 2.0),
    "months as a bool": lambda c: c["customer"].__setitem__("arrears_months", True),
    "Decimal arrears": lambda c: c["customer"].__setitem__("arrears", Decimal("1")),
    "Decimal months": lambda c: c["customer"].__setitem__("arrears_months", Decimal("1")),
    "int key": lambda c: c.__setitem__(1, 1),
    "int key in customer": lambda c: c["customer"].__setitem__(1, 1),
    "int key in an event": lambda c: c["events"][0].__setitem__(1, 1),
    "int key in facts": lambda c: c["facts"].__setitem__(1, 1),
    "set fact": lambda c: c["facts"].__setitem__("x", {1}),
    "tuple fact": lambda c: c["facts"].__setitem__("x", (1,)),
    "NaN fact": lambda c: c["facts"].__setitem__("x", float("nan")),
    "huge fact": lambda c: c["facts"].__setitem__("x", 10**60),
    "negative huge fact": lambda c: c["facts"].__setitem__("x", -(10**40)),
    "Decimal fact": lambda c: c["facts"].__setitem__("x", Decimal(1)),
    "object fact": lambda c: c["facts"].__setitem__("x", object()),
    "nested fact": lambda c: c["facts"].__setitem__("x", {"a": [1, "医", None, {"b": 2.5}]}),
    "deep fact": lambda c: c["facts"].__setitem__("x", nested(40)),
    "fact at the depth limit": lambda c: c["facts"].__setitem__("x", nested(29)),
    "fact past the depth limit": lambda c: c["facts"].__setitem__("x", nested(30)),
    "very deep fact": lambda c: c["facts"].__setitem__("x", nested(100_000)),
    "very deep name": lambda c: c["customer"].__setitem__("name", nested(100_000)),
    "very deep events": lambda c: c.__setitem__("events", nested(100_000)),
    "very deep extra key": lambda c: c.__setitem__("zzz", nested(100_000)),
    "long fact": lambda c: c["facts"].__setitem__("x", "x" * 10_001),
    "long fact key": lambda c: c["facts"].__setitem__("k" * 10_001, 1),
    "long process": lambda c: c.__setitem__("process", "a" * 20_000),
    "long note": lambda c: c.__setitem__("note", "n" * 5001),
    "emoji document of 200": lambda c: c["documents"].__setitem__(0, "😀" * 200),
    "emoji document of 201": lambda c: c["documents"].__setitem__(0, "😀" * 201),
    "empty document": lambda c: c["documents"].__setitem__(0, ""),
    "process with a newline": lambda c: c.__setitem__("process", "account_closure\n"),
    "time with a newline": lambda c: c["events"][0].__setitem__("at", "2026-05-06\n"),
    "full-width digit": lambda c: c["events"][0].__setitem__("at", "２026-05-06"),
    "unknown process": lambda c: c.__setitem__("process", "no_such_flow"),
    "no customer": lambda c: c.pop("customer"),
    "customer null": lambda c: c.__setitem__("customer", None),
    "facts null": lambda c: c.__setitem__("facts", None),
    "facts a list": lambda c: c.__setitem__("facts", []),
    "many events": lambda c: c.__setitem__("events", c["events"] * 1001),
    "many documents": lambda c: c.__setitem__("documents", ["id_card_copy"] * 501),
    "many facts": lambda c: c.__setitem__("facts", {f"f{i}": i for i in range(501)}),
    "received_at": lambda c: c.__setitem__("received_at", "2026-05-06 09:00"),
    "event with by and note": lambda c: c["events"][0].update(by="王", note="已核实"),
    "event with an extra key": lambda c: c["events"][0].update(who="王"),
}


def nested(levels: int) -> Any:
    out: Any = "leaf"
    for _ in range(levels):
        out = [out]
    return out


@pytest.mark.parametrize("name", EDITS)
def test_an_edited_case_reads_as_before(name: str) -> None:
    case = example()
    EDITS[name](case)
    for limits in (DEFAULT, Limits(events=3, documents=0, facts=1), Limits(number_digits=3)):
        agrees(case, limits)


def test_low_limits_take_the_full_checks() -> None:
    case = example()
    for limits in (Limits(depth=2), Limits(string_chars=100)):
        assert not agrees(case, limits)
    assert agrees(case, Limits(depth=3, string_chars=5000))


def test_not_a_case() -> None:
    for data in (None, [], "text", 1, OrderedDict(example()), {}):
        assert not agrees(data)


VALUES: tuple[Any, ...] = (
    "x",
    "",
    "医",
    "\ud800",
    "😀" * 201,
    "2026-05-06T09:00:00+08:00",
    "2026-05-06T09:00:00-05:00",
    "0.00",
    "unit",
    0,
    -1,
    10**40,
    1.5,
    float("nan"),
    True,
    None,
    Decimal("1"),
    (),
    [],
    {},
    Text("residential"),
    Kind.UNIT,
    Count.ONE,
)
KEYS: tuple[Any, ...] = ("note", "by", "name", "zzz", "\udc00", 3, Text("note"), Kind.UNIT)


def containers(node: Any) -> list[Any]:
    found = [node]
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, dict | list):
            found += containers(child)
    return found


def test_random_edits_read_as_before() -> None:
    rng = random.Random(20261127)
    cases = [json.loads(p.read_bytes()) for p in EXAMPLES]
    sure = 0
    for _ in range(3000):
        case = copy.deepcopy(rng.choice(cases))
        for _ in range(rng.randint(1, 2)):
            node = rng.choice(containers(case))
            value = rng.choice(VALUES)
            if isinstance(node, list):
                if node and rng.random() < 0.7:
                    node[rng.randrange(len(node))] = value
                else:
                    node.append(value)
            elif node and rng.random() < 0.6:
                key = rng.choice(list(node))
                if rng.random() < 0.2:
                    del node[key]
                else:
                    node[key] = value
            else:
                node[rng.choice(KEYS)] = value
        sure += agrees(case)
    assert sure > 100  # the edits leave many cases good: the one pass is tried on them too


def texts(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every text in a case outside its facts (keys aside)."""
    if isinstance(node, str):
        return [path]
    items = node.items() if isinstance(node, dict) else enumerate(node)
    found = []
    for key, child in items:
        if not (path == () and key == "facts") and isinstance(child, str | dict | list):
            found += texts(child, (*path, key))
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_validator_reads_every_text_outside_the_facts_as_utf8(path: Path) -> None:
    """What plain_case relies on: its validator refuses (raises at) a lone surrogate in any
    text of the case outside the facts, and otherwise decides as the shipped schema does."""
    case = json.loads(path.read_bytes())
    assert validator().is_valid(case) and _case_validator().is_valid(case)
    for where in texts(case):
        for text in ("\ud800", "x\udfffy"):
            edited = copy.deepcopy(case)
            node = edited
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = text
            with pytest.raises(UnicodeEncodeError):
                validator().is_valid(edited)
            assert not plain_case(edited, DEFAULT, validator())
        for text in ("", "医" * 300, "x" * 6000):  # no surrogate: both validators agree
            edited = copy.deepcopy(case)
            node = edited
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = text
            assert validator().is_valid(edited) == _case_validator().is_valid(edited), where
