"""The flow from the spec (issue 7): compile checks of the step keys, lint's deadline-across-roles
check, the report's position and verdict, `check --fail-on`, unknown events in `sla`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from procrules import Checker
from procrules.cli import main
from procrules.errors import SpecError
from procrules.spec.analysis import analyse
from procrules.spec.compile import load_specs

from .conftest import PROCESSES, edit

CASE = {
    "case_id": "T-7",
    "process": "water_type_change",
    "customer": {"type": "individual", "water_type": "special", "arrears": "0.00"},
    "documents": ["id_card_copy"],
    "facts": {"target_water_type": "residential"},
    "events": [
        {"event": "order_received", "at": "2026-09-29T10:00:00+08:00"},
        {"event": "site_verified", "at": "2026-10-08T15:30:00+08:00"},
    ],
}
LATE = ["--as-of", "2026-10-12T09:00:00+08:00"]
CHECKER = Checker.load(PROCESSES)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def write(tmp_path: Path, data: object, name: str = "case.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return str(path)


def across(folder: Path) -> list[tuple[str, int, str]]:
    return [
        (Path(p.file).name, p.line, p.path)
        for p in analyse(load_specs(folder))
        if p.code == "deadline_across_roles"
    ]


def test_shipped_deadlines_start_where_the_work_reaches_their_role() -> None:
    assert across(PROCESSES) == []


def test_lint_flags_hm_handoff_counted_from_the_application(spec_copy: Path) -> None:
    edit(
        spec_copy / "household_meter.yaml", "start: leader_approved", "start: application_received"
    )
    [(file, _, path)] = across(spec_copy)
    assert (file, path) == ("household_meter.yaml", "$.deadlines[0].start")


def test_a_reasoned_exception_is_needed_for_each_step_crossed(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        "      steps: [verify]\n",
        "      steps: [take_order]\n",
    )
    assert [p[2] for p in across(spec_copy)] == ["$.deadlines[1].start"]


@pytest.mark.parametrize(
    "old,new,code,path",
    [
        (
            "after: [{any_of: [settle, gm_review]}]",
            "after: [{any_of: [settle, gm_reveiw]}]",
            "spec_reference_error",
            "$.steps[6].after[0].any_of[1]",
        ),
        ("alternative_to: [settle]", "alternative_to: [setle]", "spec_reference_error", None),
        (
            "    repeats: true\n    name: {zh: 派发开闸",
            "    ends: closed\n    name: {zh: 派发开闸",
            "spec_schema",
            None,
        ),
    ],
)
def test_step_keys_are_checked_with_their_place(
    spec_copy: Path, old: str, new: str, code: str, path: str | None
) -> None:
    edit(spec_copy / "arrears_suspension.yaml", old, new)
    with pytest.raises(SpecError) as exc:
        load_specs(spec_copy)
    [problem] = exc.value.problems
    assert problem.code == code and problem.line > 1
    if path:
        assert problem.path == path


def test_the_json_report_has_kind_verdict_and_position(tmp_path: Path) -> None:
    code, out = run("check", write(tmp_path, CASE), "--format", "json", *LATE)
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert {f["kind"] for f in report["findings"]} == {"sla"}
    assert report["application"] == {"status": "proceed", "reason": None, "ok": True}
    assert report["sla"]["status"] == "breached" and report["sla"]["breached"] == 1
    position = report["position"]
    assert [d["step"] for d in position["done"]] == ["take_order", "verify"]
    [todo] = position["open"]
    assert todo["step"] == "approve" and todo["roles"] == ["deputy_gm"]
    assert todo["due"] == "2026-10-10T23:59:59+08:00" and todo["rule"] == "WT-APPROVER"
    assert position["ended"] is None


@pytest.mark.parametrize(
    "fail_on,late,arrears,code",
    [
        ("any", True, "0.00", 1),
        ("application", True, "0.00", 0),
        ("sla", True, "0.00", 1),
        ("sla", False, "12.00", 0),
        ("application", False, "12.00", 1),
    ],
)
def test_fail_on(tmp_path: Path, fail_on: str, late: bool, arrears: str, code: int) -> None:
    case = {**CASE, "customer": {**CASE["customer"], "arrears": arrears}}  # type: ignore[dict-item]
    as_of = LATE if late else ["--as-of", "2026-10-09T09:00:00+08:00"]
    got, _ = run("check", write(tmp_path, case), "--fail-on", fail_on, *as_of)
    assert got == code


def test_headline_in_both_languages(tmp_path: Path) -> None:
    case = {**CASE, "customer": {**CASE["customer"], "arrears": "12.00"}}  # type: ignore[dict-item]
    _, zh = run("check", write(tmp_path, case), "--lang", "zh", *LATE)
    assert zh.splitlines()[0].startswith("✘ 不予办理：欠费")
    assert zh.splitlines()[1].strip() == "本中心时限：1项已超期"
    case = {**CASE, "documents": []}
    _, en = run("check", write(tmp_path, case), "--lang", "en", *LATE)
    assert en.splitlines()[0].startswith("✘ Documents or information needed")


def test_sla_lists_a_case_with_an_unknown_event(tmp_path: Path) -> None:
    case = {**CASE, "events": [*CASE["events"], {"event": "change_aproved", "at": "2026-10-09"}]}  # type: ignore[list-item]
    write(tmp_path, case)
    code, out = run(
        "sla", str(tmp_path), "--format", "json", "--as-of", "2026-10-09T09:00:00+08:00"
    )
    alerts = json.loads(out)["alerts"]
    [alert] = [a for a in alerts if a["status"] == "unknown_event"]
    assert alert["event"] == "change_aproved" and alert["suggestion"] == "change_approved"
    assert code == 1


# -- a partial record is never an error ----------------------------------------------------------

HM_IN_ORDER = [
    ("application_received", "2026-03-02T09:00:00+08:00"),
    ("leader_approved", "2026-03-02T10:00:00+08:00"),
    ("forwarded_to_design", "2026-03-02T11:00:00+08:00"),
    ("site_surveyed", "2026-03-04T10:00:00+08:00"),
    ("fee_paid", "2026-03-05T10:00:00+08:00"),
    ("construction_completed", "2026-03-20T10:00:00+08:00"),
    ("acceptance_completed", "2026-03-23T10:00:00+08:00"),
    ("cards_received_by_design", "2026-03-24T10:00:00+08:00"),
    ("cards_forwarded_to_office", "2026-03-25T10:00:00+08:00"),
    ("supply_contract_signed", "2026-03-26T10:00:00+08:00"),
    ("water_connected", "2026-03-26T15:00:00+08:00"),
    ("deposit_refund_notified", "2026-03-30T10:00:00+08:00"),
]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=len(HM_IN_ORDER), max_size=len(HM_IN_ORDER)))
def test_any_subset_of_an_ordered_record_has_no_flow_error(keep: list[bool]) -> None:
    """Cases often list only the events that matter: dropping events of a record in order gives
    warnings (record_incomplete), never an error of the flow or of the application."""
    events = [{"event": e, "at": at} for (e, at), k in zip(HM_IN_ORDER, keep, strict=True) if k]
    case = {
        "case_id": "HM-P",
        "process": "household_meter",
        "customer": {"type": "unit", "water_type": "residential", "arrears": "0.00"},
        "documents": ["household_list", "water_bill_copy", "works_consent"],
        "facts": {"monthly_water_fee": "64.00"},
        "events": events,
    }
    report = CHECKER.check(case, as_of="2026-03-31T09:00:00+08:00")
    # only the centre's own clocks may be late (a record that stops early leaves one running)
    assert not report.failed("application"), [(f.code, f.rule) for f in report.findings]
    assert not [f for f in report.findings if f.code == "out_of_order"]
    proven = {m.step.event for m in report.position.missing} if report.position else set()
    recorded = {e["event"] for e in events}
    if recorded:  # every step before the last recorded one is recorded or proven, except
        # the contract, which runs beside water-on rather than before it
        last = max(i for i, k in enumerate(keep) if k)
        before = {e for e, _ in HM_IN_ORDER[:last]} - {"supply_contract_signed"}
        assert before <= recorded | proven
