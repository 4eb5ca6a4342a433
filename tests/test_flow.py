"""The flow from the spec (issue 7): compile checks of the step keys, lint's deadline-across-roles
check, the report's position and verdict, `check --fail-on`, unknown events in `sla`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

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
