"""Reading a case, the fast way: one proof that parsed case data passes both the input limits
(`source.check_json_value`) and schemas/application.schema.json (`api.validate_case`).

The schema validator runs first (`validator()`: the application schema with a pattern that
matches any text on every text that has none, so that the validator reads each text as UTF-8
and raises at a lone surrogate, as it does for the texts with a pattern or a list of values),
then only what it does not prove: the size of whole numbers, numbers that are not JSON
(Decimal), tuples where arrays belong, and the facts (which the schema leaves open) walked in
full, lone surrogates in their texts included. It says True when both checks would accept the
data, and False when either might refuse it or it is not sure; the callers then run both
checks in full, in their order, so every refusal, message and JSON path stays theirs.
tests/test_plain_case.py holds it to that, and pins what it relies on in the validator.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
from typing import Any, Protocol

import jsonschema_rs

from .limits import Limits
from .source import _clean, writable


class _Validator(Protocol):
    def is_valid(self, instance: Any) -> bool: ...


# The schema this module was written for: when schemas/application.schema.json changes, the fast
# pass turns itself off (every case then takes both checks in full) until this module is brought
# up to date with it and the hash with it (tests/test_plain_case.py fails meanwhile).
SCHEMA_SHA256 = "df44ca64f59933b61d520bb9b6894f28e786ab1eb1674424095e766b49ebb08f"

# the longest text the schema allows in a field of its own with a maxLength (a case's note)
_LONGEST_FIELD = 5000

_Bounds = tuple[int, int, int, int] | None
_last: tuple[Limits, _Bounds] = (Limits(depth=0), None)  # the limits asked last, by identity


@functools.cache
def written_for_schema() -> bool:
    """Whether the shipped application schema is the one this module was written for."""
    from .spec.compile import shipped_schema

    schema = shipped_schema("application.schema.json")
    text = json.dumps(schema, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(text).hexdigest() == SCHEMA_SHA256


# A pattern that matches any text (ECMA-262: any character, any number of times)
ANY_TEXT = "[\\s\\S]*"


@functools.cache
def validator() -> jsonschema_rs.Draft202012Validator:
    """The shipped application schema as the one pass asks it: each text with neither a
    pattern nor a list of values gets ANY_TEXT, which accepts what it accepted before and
    makes the validator read the text as UTF-8 (a lone surrogate raises)."""
    from .spec.compile import shipped_schema

    schema = copy.deepcopy(shipped_schema("application.schema.json"))
    todo: list[Any] = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if node.get("type") == "string" and "pattern" not in node and "enum" not in node:
                node["pattern"] = ANY_TEXT
            todo += node.values()
        elif isinstance(node, list):
            todo += node
    return jsonschema_rs.Draft202012Validator(schema)


@functools.lru_cache(maxsize=8)
def _bounds_of(limits: Limits) -> _Bounds:
    """(events, documents, facts, the bound on whole numbers) under these limits; None when a
    limit is set so low that a case the schema accepts may still break it (then the full checks
    run)."""
    if not written_for_schema():
        return None
    # a case is nested three levels deep at most outside its facts (case, events, event), and
    # each text the schema bounds is at most _LONGEST_FIELD long
    if limits.depth < 3 or limits.string_chars < _LONGEST_FIELD:
        return None
    return limits.events, limits.documents, limits.facts, 10**limits.number_digits


def plain_case(data: Any, limits: Limits, validator: _Validator) -> bool:
    """True when `data` is a case that the limits and the application schema both accept."""
    global _last
    last, bounds = _last  # one tuple, read and written whole: safe across threads
    if limits is not last:
        bounds = _bounds_of(limits)
        _last = limits, bounds
    if bounds is None or type(data) is not dict:
        return False
    try:
        if not validator.is_valid(data):
            return False
    except Exception:  # noqa: BLE001 - a key or text it cannot read: the full checks say why
        return False
    # Valid: every field has the schema's type and length, every key is one the schema names
    # and every text outside the facts is UTF-8 (a key or text it cannot read made it raise).
    # Numbers may still be too large or not JSON's; the facts are open.
    max_events, max_documents, max_facts, bound = bounds
    customer = data["customer"]
    if type(customer) is not dict:
        return False
    # neither the process nor the money pattern has a maxLength
    if len(data["process"]) > limits.string_chars:
        return False
    if "arrears" in customer:
        value = customer["arrears"]
        kind = type(value)
        if kind is str:
            if len(value) > limits.string_chars:
                return False
        elif kind is int:
            if value >= bound:
                return False
        elif kind is not float or not math.isfinite(value):  # Decimal and the like
            return False
    if "arrears_months" in customer:
        value = customer["arrears_months"]
        kind = type(value)
        if kind is int:
            if value >= bound:
                return False
        elif kind is not float or not math.isfinite(value):
            return False
    if "documents" in data:
        documents = data["documents"]
        if type(documents) is not list or len(documents) > max_documents:
            return False
    if "events" in data:
        events = data["events"]
        if type(events) is not list or len(events) > max_events:
            return False
    if "facts" in data:
        strings: list[str] = []
        if not _plain_facts(data["facts"], limits, max_facts, bound, strings):
            return False
        return writable("".join(strings))
    return True


def _plain_facts(facts: Any, limits: Limits, most: int, bound: int, strings: list[str]) -> bool:
    """The facts within the limits (the schema leaves them open); their texts join `strings`.
    The scalars are tested here as `source._clean` tests them, rather than by calling it: a
    call per case costs a check about a twentieth (bench/run.py --only checks)."""
    if type(facts) is not dict or len(facts) > most:
        return False
    longest = limits.string_chars
    for key, value in facts.items():
        if type(key) is not str or len(key) > longest:
            return False
        strings.append(key)
        kind = type(value)
        if kind is str:
            if len(value) > longest:
                return False
            strings.append(value)
        elif kind is bool or value is None:
            continue
        elif kind is int:
            if not -bound < value < bound:
                return False
        elif kind is float:
            if not math.isfinite(value):
                return False
        elif kind is dict or kind is list:
            if not _clean(value, limits, 2):  # two levels down: the case, its facts
                return False
        else:
            return False
    return True
