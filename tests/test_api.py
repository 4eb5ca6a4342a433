"""The embedding API: load once, check many, from many threads, no global state."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from procrules import CaseError, Checker

from .conftest import PROCESSES

EXAMPLES = sorted((PROCESSES / "examples").glob("*.json"))


def test_check_accepts_a_dict_text_or_path(checker: Checker) -> None:
    path = PROCESSES / "examples" / "water_type_change.json"
    as_of = "2026-10-12T09:00:00+08:00"
    from_path = checker.check(path, as_of).to_dict()
    from_text = checker.check(path.read_text("utf-8"), as_of).to_dict()
    from_dict = checker.check(json.loads(path.read_text("utf-8")), as_of).to_dict()
    assert from_path == from_text == from_dict
    assert from_dict["approvals"][0]["approver"] == "deputy_gm"


def test_report_serialises_in_both_languages(checker: Checker) -> None:
    report = checker.check(EXAMPLES[0], "2026-10-12T09:00:00+08:00")
    zh, en = report.to_dict("zh"), report.to_dict("en")
    assert zh["ok"] == en["ok"]
    assert [f["code"] for f in zh["findings"]] == [f["code"] for f in en["findings"]]
    json.dumps(zh, ensure_ascii=False)


def test_threads_get_the_same_answers(checker: Checker) -> None:
    cases = [json.loads(p.read_text("utf-8")) for p in EXAMPLES] * 40
    as_of = "2026-10-12T09:00:00+08:00"
    serial = [checker.check(c, as_of).to_dict() for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda c: checker.check(c, as_of).to_dict(), cases))
    assert parallel == serial


def test_two_checkers_do_not_share_state(spec_copy: Path) -> None:
    (spec_copy / "tariff.yaml").write_text(
        (spec_copy / "tariff.yaml").read_text("utf-8").replace('price: "5.00"', 'price: "7.00"'),
        "utf-8",
    )
    shipped, changed = Checker.load(PROCESSES), Checker.load(spec_copy)
    case = {
        "process": "new_connection",
        "customer": {"type": "individual", "arrears": 0},
        "facts": {
            "water_type": "residential",
            "expected_monthly_volume_m3": 10,
            "large_volume": True,
        },
    }
    amounts = [
        c.check(case, "2026-06-01T09:00:00+08:00").amounts[0].amount for c in (shipped, changed)
    ]
    assert [str(a) for a in amounts] == ["150.00", "210.00"]


def test_a_bad_case_raises_a_located_error(checker: Checker) -> None:
    with pytest.raises(CaseError) as exc:
        checker.check({"process": "new_connection"}, "2026-06-01T09:00:00+08:00")
    assert "customer" in str(exc.value)


def test_the_engine_never_reads_the_clock(checker: Checker) -> None:
    case = json.loads(EXAMPLES[-1].read_text("utf-8"))
    a = checker.check(case, "2026-10-12T09:00:00+08:00").to_dict()
    b = checker.check(case, "2026-10-12T09:00:00+08:00").to_dict()
    assert a == b and a["as_of"] == "2026-10-12T09:00:00+08:00"


def test_a_missing_input_of_a_derived_name_is_named(checker: Checker) -> None:
    """direction needs the current water-use type: the finding names it, not 'direction'."""
    case = {
        "process": "water_type_change",
        "customer": {"type": "individual", "arrears": 0},
        "documents": ["id_card_copy"],
        "facts": {"target_water_type": "residential"},
    }
    report = checker.check(case, "2026-06-01T09:00:00+08:00").to_dict()
    missing = [f for f in report["findings"] if f["code"] == "missing_fact"]
    assert [(f["fact"], f["rule"], f["severity"]) for f in missing] == [
        ("customer.water_type", "WT-APPROVER", "error")
    ]
    assert report["approvals"] == []
