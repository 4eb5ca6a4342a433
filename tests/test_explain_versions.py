"""procrules explain, and spec versions chosen by effective date."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from procrules import Checker
from procrules.cli import main

from .conftest import PROCESSES, edit

EXAMPLE = PROCESSES / "examples" / "water_type_change.json"
AS_OF = ["--as-of", "2026-10-12T09:00:00+08:00"]


def test_explain_gives_each_rule_its_inputs_and_counts_days() -> None:
    result = CliRunner().invoke(main, ["explain", str(EXAMPLE), *AS_OF, "--lang", "en"])
    out = result.stdout
    assert result.exit_code == 1
    assert (
        'WT-APPROVER: when direction == "downgrade" -> holds [direction = downgrade '
        "(customer.water_type = special 160.00, facts.target_water_type = residential 5.00)]"
        " => Deputy general manager in charge approves"
    ) in out
    assert "Thu 1 Oct - Wed 7 Oct 国庆节 skipped" in out
    assert "Sat 10 Oct working day 4 调休上班" in out


def test_explain_in_chinese() -> None:
    result = CliRunner().invoke(main, ["explain", str(EXAMPLE), *AS_OF, "--lang", "zh"])
    assert (
        "10月1日（周四）至10月7日（周三） 国庆节 跳过" in result.stdout
        and "第4个工作日 调休上班" in result.stdout
    )
    assert "分管副总经理 审批" in result.stdout


def test_explain_rolls_a_month_and_says_why(tmp_path: Path) -> None:
    case = json.loads((PROCESSES / "examples" / "account_closure.json").read_text("utf-8"))
    path = tmp_path / "c.json"
    path.write_text(json.dumps(case), "utf-8")
    out = CliRunner().invoke(main, ["explain", str(path), *AS_OF, "--lang", "en"]).stdout
    assert "the corresponding day Sat 14 Nov is a rest day; rolled to Mon 16 Nov" in out


def test_explain_an_unreadable_case(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{", "utf-8")
    result = CliRunner().invoke(main, ["explain", str(path)])
    assert result.exit_code == 2 and "bad.json:1:" in result.stderr


def _second_version(folder: Path) -> None:
    """A 2027 version of water_type_change in which every change goes to the deputy GM."""
    text = (folder / "water_type_change.yaml").read_text("utf-8")
    text = (
        text.replace('version: "2026.1"', 'version: "2027.1"')
        .replace('effective_from: "2020-01-01"', 'effective_from: "2027-01-01"')
        .replace("    approver: business_office_manager", "    approver: deputy_gm")
    )
    (folder / "water_type_change@2027.yaml").write_text(text, "utf-8")


CASE = {
    "process": "water_type_change",
    "customer": {"type": "individual", "water_type": "residential", "arrears": 0},
    "documents": ["id_card_copy"],
    "facts": {"target_water_type": "commercial"},
}


def test_the_version_in_force_when_received_judges_the_case(spec_copy: Path) -> None:
    _second_version(spec_copy)
    checker = Checker.load(spec_copy)
    old = dict(CASE, events=[{"event": "application_received", "at": "2026-12-30T10:00:00+08:00"}])
    new = dict(CASE, events=[{"event": "application_received", "at": "2027-01-04T10:00:00+08:00"}])
    as_of = "2027-01-05T09:00:00+08:00"
    a, b = checker.check(old, as_of).to_dict(), checker.check(new, as_of).to_dict()
    assert (a["process_version"], a["approvals"][0]["approver"]) == (
        "2026.1",
        "business_office_manager",
    )
    assert (b["process_version"], b["approvals"][0]["approver"]) == ("2027.1", "deputy_gm")


def test_policy_date_overrides(spec_copy: Path, tmp_path: Path) -> None:
    _second_version(spec_copy)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(CASE), "utf-8")
    args = ["check", str(path), "--format", "json", "--processes", str(spec_copy), *AS_OF]
    old = json.loads(CliRunner().invoke(main, args).stdout)
    new = json.loads(CliRunner().invoke(main, [*args, "--policy-date", "2027-02-01"]).stdout)
    assert (old["process_version"], new["process_version"]) == ("2026.1", "2027.1")
    assert CliRunner().invoke(main, [*args, "--policy-date", "soon"]).exit_code == 2


def test_two_versions_with_one_effective_date_are_refused(spec_copy: Path) -> None:
    text = (spec_copy / "water_type_change.yaml").read_text("utf-8")
    (spec_copy / "water_type_change@copy.yaml").write_text(
        text.replace('version: "2026.1"', 'version: "2026.2"'), "utf-8"
    )
    result = CliRunner().invoke(main, ["lint", str(spec_copy)])
    assert result.exit_code == 2 and "duplicate_version" in result.stderr


def test_a_versioned_file_must_carry_its_id(spec_copy: Path) -> None:
    edit(spec_copy / "water_type_change.yaml", "id: water_type_change", "id: water_type_change")
    (spec_copy / "account_closure@2027.yaml").write_text(
        (spec_copy / "water_type_change.yaml").read_text("utf-8"), "utf-8"
    )
    result = CliRunner().invoke(main, ["lint", str(spec_copy)])
    assert result.exit_code == 2 and "spec_id_mismatch" in result.stderr


def test_api_policy_date(spec_copy: Path) -> None:
    import datetime as dt

    _second_version(spec_copy)
    checker = Checker.load(spec_copy)
    report = checker.check(CASE, "2026-06-01T09:00:00+08:00", policy_date=dt.date(2027, 3, 1))
    assert report.process.version == "2027.1"
