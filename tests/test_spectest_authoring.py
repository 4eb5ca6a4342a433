"""Spec tests staff can write: a test from a real case, failures as labels, versions without
tests in --coverage."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from procrules.cli import main

from .conftest import edit

AS_OF = "2026-10-12T09:00:00+08:00"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _counts(out: str) -> tuple[int, int]:
    m = re.search(r"(\d+) passed, (\d+) failed", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_test_new_writes_a_passing_test_from_a_real_case(spec_copy: Path) -> None:
    before = _counts(_run("test", "--processes", str(spec_copy))[1])
    case = spec_copy / "examples" / "water_type_change.json"
    code, out, _ = _run("test", "--processes", str(spec_copy), "--new", str(case), "--as-of", AS_OF)
    assert code == 0, out
    assert "wrote a test to" in out and "water_type_change 2026.1" in out
    text = (spec_copy / "tests" / "water_type_change.yaml").read_text("utf-8")
    assert "note: 'TODO confirm: WT-2026-0042" in text
    assert "approver: deputy_gm" in text and "status: breached" in text
    after = _counts(_run("test", "--processes", str(spec_copy))[1])
    assert after == (before[0] + 1, 0)


def test_test_new_needs_a_fixed_time(spec_copy: Path) -> None:
    case = spec_copy / "examples" / "water_type_change.json"
    code, _, err = _run("test", "--processes", str(spec_copy), "--new", str(case))
    assert code == 2 and "--as-of" in err


def test_failures_print_expected_against_actual_as_labels(spec_copy: Path) -> None:
    edit(
        spec_copy / "tests" / "water_type_change.yaml",
        "approvals: [{rule: WT-APPROVER, approver: deputy_gm}]",
        "approvals: [{rule: WT-APPROVER, approver: business_office_manager}]",
    )
    code, out, _ = _run("test", "--processes", str(spec_copy))
    assert code == 1
    assert "     approvals: expected WT-APPROVER business_office_manager\n" in out
    assert "      got WT-APPROVER deputy_gm\n" in out
    assert "{'" not in out and "'}" not in out
    code, out, _ = _run("test", "--processes", str(spec_copy), "--lang", "zh")
    assert "     approvals: 应为 WT-APPROVER business_office_manager\n" in out
    assert "      实际 WT-APPROVER deputy_gm\n" in out


def test_coverage_reports_a_spec_version_with_no_tests(spec_copy: Path) -> None:
    text = (spec_copy / "water_type_change.yaml").read_text("utf-8")
    (spec_copy / "water_type_change@2027.yaml").write_text(
        text.replace('version: "2026.1"', 'version: "2027.1"').replace(
            'effective_from: "2020-01-01"', 'effective_from: "2027-01-01"'
        ),
        "utf-8",
    )
    code, out, _ = _run("test", "--processes", str(spec_copy), "--coverage")
    assert code == 0
    assert "spec versions: 1 judged by no test" in out
    assert f"  water_type_change 2027.1 ({spec_copy / 'water_type_change@2027.yaml'})" in out
