"""Every message the tools print exists in Chinese and English."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.cli import main
from procrules.messages import TOOL, to_zh

from .conftest import PROCESSES, edit


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_tool_string_has_both_languages() -> None:
    for key, (en, zh) in TOOL.items():
        assert en and zh and en != zh, key


def test_locale_chooses_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _ = run("lint", str(PROCESSES))
    assert code == 0 and out.startswith("通过：7 个流程规格")


@pytest.mark.parametrize(
    "message,expected",
    [
        ("unknown role 'busines_office'", "未知的角色 'busines_office'"),
        ("unknown key 'approvr'", "未知的键 'approvr'"),
        ("rule 'WT-VERIFI' is not in the rule register", "规则 'WT-VERIFI' 不在规则登记表中"),
        (
            "WT-APPROVER: no approver when direction = same",
            "WT-APPROVER：以下情形无人审批：direction = same",
        ),
        ("malformed JSON: Expecting value", "JSON 格式错误：Expecting value"),
        ("something new", "格式错误：something new"),
    ],
)
def test_problem_messages_in_chinese(message: str, expected: str) -> None:
    assert to_zh(message) == expected


def test_lint_in_chinese(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        "roles: [customer, csc, business_office,",
        "roles: [customer, csc, busines_office,",
    )
    code, _, err = run("lint", str(spec_copy), "--lang", "zh")
    assert code == 2
    expected = "未知的角色 'busines_office'（是否应为 'business_office'？），位于 $.roles[2]"
    assert f"spec_reference_error: {expected}" in err
    assert "1 个问题" in err


def test_case_errors_in_chinese(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", "utf-8")
    code, _, err = run("check", str(bad), "--lang", "zh")
    assert code == 2 and "JSON 格式错误" in err and "bad.json:1:2" in err


def test_sla_diff_calendar_and_test_in_chinese(tmp_path: Path) -> None:
    example = PROCESSES / "examples" / "water_type_change.json"
    as_of = ["--as-of", "2026-10-12T09:00:00+08:00"]
    out = run("sla", str(example), *as_of, "--lang", "zh")[1]
    assert (
        "已超期" in out
        and "10月10日（周六）24:00前（已超期1个工作日）" in out
        and "1 件，预警 1 条，无法读取 0 件" in out
    )
    out = run(
        "diff", str(PROCESSES), str(PROCESSES), "--cases", str(example), *as_of, "--lang", "zh"
    )[1]
    assert "1 件，变化 0 件，无法读取 0 件" in out
    out = run("calendar", "due", "2026-09-30T17:45", "7wd", "--lang", "zh")[1]
    assert (
        out.startswith("期限: 10月15日（周四）24:00前")
        and "跳过  国庆节" in out
        and "计入  调休上班" in out
    )
    out = run("calendar", "show", "2026-10", "--lang", "zh")[1]
    assert " 一  二  三  四  五  六  日" in out
    out = run("calendar", "status", "--lang", "zh")[1]
    assert "已公布年度:\n  2010-2026  随软件提供的放假表" in out and "  2027-2036  预估" in out
    out = run("test", "--coverage", "--lang", "zh")[1]
    assert "覆盖：60 条规则中 60 条已测试" in out and out.rstrip().endswith("项，失败 0 项")


def test_report_and_findings_in_both_languages(tmp_path: Path) -> None:
    example = PROCESSES / "examples" / "new_connection.json"
    args = ["check", str(example), "--format", "json", "--as-of", "2026-10-12T09:00:00+08:00"]
    zh = json.loads(run(*args, "--lang", "zh")[1])
    en = json.loads(run(*args, "--lang", "en")[1])
    assert [f["code"] for f in zh["findings"]] == [f["code"] for f in en["findings"]]
    missing_zh = next(f for f in zh["findings"] if f["code"] == "missing_document")
    missing_en = next(f for f in en["findings"] if f["code"] == "missing_document")
    assert missing_zh["message"] == "缺少资料：规划定点图"
    assert missing_en["message"] == "missing document: Planning location map"
