"""Water-use types in a case by id, Chinese name or alias (from tariff.yaml), as documents are;
an unknown name is a case error with its JSON path and a suggestion."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from procrules import Checker
from procrules.errors import CaseError, SpecError

from .conftest import edit

AS_OF = "2026-10-12T09:00:00+08:00"
CASE: dict[str, Any] = {
    "case_id": "WT-NAMES",
    "process": "water_type_change",
    "customer": {"type": "individual", "water_type": "special", "arrears": "0.00"},
    "documents": ["id_card_copy"],
    "facts": {"target_water_type": "residential"},
    "events": [{"event": "order_received", "at": "2026-09-29T10:00:00+08:00"}],
}


def with_types(current: str, target: str) -> dict[str, Any]:
    case = copy.deepcopy(CASE)
    case["customer"]["water_type"] = current
    case["facts"]["target_water_type"] = target
    return case


@pytest.mark.parametrize(
    "current,target",
    [
        ("特种行业用水", "居民生活用水"),  # the tariff's Chinese names
        ("特种用水", "居民用水"),  # aliases
        (" 特种行业用水 ", "residential"),  # stray spaces, ids mixed in
    ],
)
def test_chinese_names_judge_as_ids(checker: Checker, current: str, target: str) -> None:
    by_id = checker.check(with_types("special", "residential"), as_of=AS_OF).to_dict("en")
    by_name = checker.check(with_types(current, target), as_of=AS_OF).to_dict("en")
    assert by_name == by_id
    assert by_name["approvals"] == [
        {"rule": "WT-APPROVER", "approver": "deputy_gm", "name": "Deputy general manager in charge"}
    ]


@pytest.mark.parametrize(
    "current,target,path,suggestion",
    [
        ("特种行用水", "residential", "$.customer.water_type", "特种行业用水"),
        ("special", "居民水", "$.facts.target_water_type", "居民用水"),
        ("residental", "special", "$.customer.water_type", "residential"),
    ],
)
def test_unknown_names_say_where_and_suggest(
    checker: Checker, current: str, target: str, path: str, suggestion: str
) -> None:
    with pytest.raises(CaseError) as caught:
        checker.check(with_types(current, target), as_of=AS_OF)
    text = caught.value.render("en")
    assert path in text and f"did you mean '{suggestion}'" in text


def test_an_alias_naming_two_types_is_a_spec_error(spec_copy: Path) -> None:
    edit(spec_copy / "tariff.yaml", "aliases: [工商用水]", "aliases: [居民用水]")
    with pytest.raises(SpecError) as caught:
        Checker.load(spec_copy)
    assert "'居民用水' already names 'residential'" in caught.value.render("en")
