"""The shipped spec tests (processes/tests/*.yaml) pass, cover every seed rule, and can fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from procrules import Checker
from procrules.spectest import load_tests, run_test

from .conftest import PROCESSES, SHARED, edit

TESTS = load_tests(PROCESSES / "tests")


@pytest.mark.parametrize("spec_test", TESTS, ids=[t.note for t in TESTS])
def test_spec_test(checker: Checker, spec_test) -> None:  # type: ignore[no-untyped-def]
    outcome = run_test(checker, spec_test)
    assert outcome.passed, "\n".join([spec_test.where, *outcome.failures])


def seed_rule_ids() -> set[str]:
    rules = SHARED / "seed" / "RULES.md"
    if rules.exists():
        return set(re.findall(r"^- ([A-Z]{2}(?:-[A-Z]+)+):", rules.read_text("utf-8"), re.M))
    return set()


def test_rule_register_matches_the_seed(checker: Checker) -> None:
    seed = seed_rule_ids()
    if not seed:
        pytest.skip("the seed (../shared/seed/RULES.md) is not beside this checkout")
    assert set(checker.specs.catalog.rules) == seed


def test_every_rule_is_cited_by_a_spec(checker: Checker) -> None:
    cited = set().union(*(p.rules for p in checker.specs.processes.values()))
    assert set(checker.specs.catalog.rules) - cited == set()


def test_every_enforced_rule_has_a_spec_test(checker: Checker) -> None:
    tested = {rule for t in TESTS for rule in t.rules}
    informational = {i.rule for p in checker.specs.processes.values() for i in p.informational}
    assert set(checker.specs.catalog.rules) - tested - informational == set()


def test_informational_rules_give_reasons(checker: Checker) -> None:
    expected = {"NC-BUILD", "NC-FILE", "WT-INITIATOR", "AC-ABNORMAL"}
    found = {i.rule: i.reason for p in checker.specs.processes.values() for i in p.informational}
    assert expected <= set(found)
    assert all(found[r].zh and found[r].en for r in expected)


# A rule broken in a copy of the specs must make its spec test fail: the tests can fail.
MUTATIONS = [
    (
        "new_connection.yaml",
        "facts.project_cost >= 100000      #",
        "facts.project_cost > 100000      #",
        "NC-GM exactly 100,000",
    ),
    (
        "new_connection.yaml",
        "formula: 3 * facts.expected_monthly_volume_m3",
        "formula: 2 * facts.expected_monthly_volume_m3",
        "NC-DEPOSIT three months",
    ),
    (
        "new_connection.yaml",
        "within: 7 working days",
        "within: 7 calendar days",
        "NC-SURVEY 7 working days",
    ),
    (
        "water_type_change.yaml",
        'when: direction == "downgrade"',
        'when: direction == "upgrade"',
        "WT-APPROVER a downgrade",
    ),
    (
        "water_type_change.yaml",
        "within: 2 working days",
        "within: 3 working days",
        "WT-VERIFY a verification on 09-30",
    ),
    (
        "arrears_suspension.yaml",
        "customer.arrears_months < 2)",
        "customer.arrears_months <= 2)",
        "AS-ELIGIBLE an individual with exactly 2 months",
    ),
    (
        "arrears_suspension.yaml",
        "within: 24 hours",
        "within: 1 working days",
        "AS-RESTORE 24 hours",
    ),
    ("account_closure.yaml", "within: 6 months", "within: 180 days", "AC-TEMP six months"),
    (
        "ownership_transfer.yaml",
        "formula: 3 * facts.billing_cycle_fee",
        "formula: facts.billing_cycle_fee",
        "OT-DEV a developer",
    ),
    (
        "ownership_transfer.yaml",
        "roll: backward",
        "roll: forward",
        "OT-CHANGE before the end of October",
    ),
    (
        "household_meter.yaml",
        "within: same day before 17:00",
        "within: same day",
        "HM-HANDOFF on the make-up Saturday",
    ),
    (
        "meter_reading_correction.yaml",
        "{step: approve, rule: MR-APPROVAL, strict: true}",
        "{step: approve, rule: MR-APPROVAL}",
        "MR-APPROVAL a reading changed with no approval",
    ),
]


@pytest.mark.parametrize("file,old,new,note", MUTATIONS, ids=[m[3] for m in MUTATIONS])
def test_a_broken_rule_fails_its_test(
    spec_copy: Path, file: str, old: str, new: str, note: str
) -> None:
    edit(spec_copy / file, old, new)
    checker = Checker.load(spec_copy)
    tests = [t for t in load_tests(spec_copy / "tests") if t.note.startswith(note)]
    assert tests, note
    assert any(not run_test(checker, t).passed for t in tests)


def test_tariff_order_decides_upgrade_and_downgrade(spec_copy: Path) -> None:
    """WT-APPROVER routing follows the prices in tariff.yaml, not hard-coded pairs."""
    edit(spec_copy / "tariff.yaml", 'price: "160.00"', 'price: "1.00"')
    checker = Checker.load(spec_copy)
    case = {
        "process": "water_type_change",
        "customer": {"type": "individual", "water_type": "special", "arrears": 0},
        "documents": ["id_card_copy"],
        "facts": {"target_water_type": "residential"},
    }
    report = checker.check(case, as_of="2026-06-01T09:00:00+08:00")
    assert [a.approver for a in report.approvals] == ["business_office_manager"]
