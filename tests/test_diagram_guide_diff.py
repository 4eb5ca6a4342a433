"""procrules diagram, guide and diff, including their error paths; the guide printed to PDF in a
real browser and the dot diagram rendered by Graphviz where they are installed (.ci/run installs
them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.cli import main

from .conftest import PROCESSES, edit

AS_OF = ["--as-of", "2026-10-12T09:00:00+08:00"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# -- diagram ----------------------------------------------------------------------------------


def test_mermaid_has_lanes_decisions_and_deadlines() -> None:
    code, out, _ = run("diagram", "water_type_change", "--lang", "zh")
    assert code == 0 and out.startswith("flowchart LR")
    assert 'subgraph lane_business_office["营业所"]' in out
    assert 'gate_0{"WT-ARREARS: 欠费金额（元）大于0？"}' in out
    assert 'route_approve -->|"变更方向为高改低"| approver_deputy_gm' in out
    assert 's_take_order -->|"WT-VERIFY 2个工作日内"| s_verify' in out


def test_a_step_named_like_a_keyword_is_drawn_safely(spec_copy: Path) -> None:
    edit(spec_copy / "meter_reading_correction.yaml", "  - id: apply\n", "  - id: end\n")
    code, out, _ = run("diagram", "meter_reading_correction", "--processes", str(spec_copy))
    assert code == 0 and "s_end[" in out and "s_approve --> s_end" in out


def test_plantuml_has_swimlanes() -> None:
    code, out, _ = run(
        "diagram", "meter_reading_correction", "--format", "plantuml", "--lang", "en"
    )
    assert code == 0 and out.startswith("@startuml") and out.rstrip().endswith("@enduml")
    assert "|Business office manager|" in out


@pytest.mark.parametrize("process", sorted(p.stem for p in (PROCESSES / "examples").glob("*.json")))
def test_dot_renders_to_svg(process: str) -> None:
    if not shutil.which("dot"):
        pytest.skip("Graphviz is not installed (.ci/run installs it)")
    code, out, _ = run("diagram", process, "--format", "dot", "--lang", "zh")
    assert code == 0
    svg = subprocess.run(["dot", "-Tsvg"], input=out, capture_output=True, text=True, check=True)
    assert svg.stdout.lstrip().startswith("<?xml") and "<svg" in svg.stdout


def test_diagram_of_an_unknown_process() -> None:
    code, out, err = run("diagram", "water_type_chnage")
    assert code == 2 and out == "" and "did you mean 'water_type_change'" in err


# -- guide ------------------------------------------------------------------------------------


def test_markdown_guide_says_what_the_engine_enforces() -> None:
    code, out, _ = run("guide", "ownership_transfer", "--lang", "zh")
    assert code == 0 and out.startswith("# 过户（更名） 办事指南")
    assert "| 购房契税发票（合同） | 单位用户（仅限开发公司过户给居民） | OT-DEV |" in out
    assert "| 开发公司过户给居民 | 营业所经理 | OT-APPROVER |" in out
    assert "当月月底前" in out and "3 × 每个缴费周期水费" in out


def test_guide_all_in_english() -> None:
    code, out, _ = run("guide", "--all", "--lang", "en")
    assert code == 0 and out.count("Service guide\n") == 7
    assert "within 7 working days, from 'Forwarded to the design office'" in out


def test_guide_errors() -> None:
    assert run("guide")[0] == 2
    code, _, err = run("guide", "new_conection")
    assert code == 2 and "new_connection" in err


def test_html_guide_prints_on_a4_in_a_real_browser(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser or not shutil.which("pdftotext"):
        pytest.skip("chromium and poppler-utils are not installed (.ci/run installs them)")
    code, out, _ = run("guide", "new_connection", "--format", "html", "--lang", "zh")
    assert code == 0 and "<style>" in out and "http" not in out.split("<body>")[1]
    page = tmp_path / "guide.html"
    page.write_text(out, "utf-8")
    pdf = tmp_path / "guide.pdf"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert pdf.exists(), "chromium wrote no PDF"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "(A4)" in info
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    flat = "".join(text.split())
    for expected in (
        "新装接水办事指南",
        "规划定点图",
        "单位银行帐号及开户行",
        "7个工作日内",
        "分管副总经理",
        "NC-DEPOSIT",
        "工程造价10万元以上（含10万元）",
        "大用量的个人用户",  # NC-DEPOSIT: the deposit says whom it is for
        "仅当工程造价（元）不少于100000",  # NC-GM: the deputy GM's review, a conditional step
    ):
        assert expected in flat, expected
    # no table cut off at the right edge: every rule id of the last column is whole
    for rule in ("NC-DOC-UNIT", "NC-AGREEMENT", "NC-CONTRACT"):
        assert rule in text, rule


# -- diff -------------------------------------------------------------------------------------


def test_diff_lists_exactly_the_cases_whose_approver_moves(spec_copy: Path, tmp_path: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        "    approver: deputy_gm\n    note: {zh: 高价改低价",
        "    approver: business_office_manager\n    note: {zh: 高价改低价",
    )
    cases = tmp_path / "cases"
    cases.mkdir()
    base = {"customer": {"type": "individual", "arrears": 0}, "documents": ["id_card_copy"]}
    for name, current, target in [
        ("down", "special", "residential"),
        ("up", "residential", "commercial"),
        ("down2", "commercial", "administrative"),
    ]:
        case = {
            **base,
            "case_id": name,
            "process": "water_type_change",
            "customer": {**base["customer"], "water_type": current},
            "facts": {"target_water_type": target},
        }
        (cases / f"{name}.json").write_text(json.dumps(case), "utf-8")
    other = {**base, "case_id": "ac", "process": "account_closure"}
    (cases / "ac.json").write_text(json.dumps(other), "utf-8")
    code, out, _ = run(
        "diff", str(PROCESSES), str(spec_copy), "--cases", str(cases), "--format", "json", *AS_OF
    )
    data = json.loads(out)
    assert code == 1
    assert sorted(c["case_id"] for c in data["changed"]) == ["down", "down2"]
    assert data["changed"][0]["changes"]["approvals"] == {
        "before": ["WT-APPROVER: deputy_gm"],
        "after": ["WT-APPROVER: business_office_manager"],
    }
    assert data["summary"] == {
        "cases": 4,
        "changed": 2,
        "unreadable": 0,
        "by_process": {"water_type_change/approvals": 2},
    }


def test_diff_without_changes_exits_0() -> None:
    code, out, _ = run(
        "diff", str(PROCESSES), str(PROCESSES), "--cases", str(PROCESSES / "examples"), *AS_OF
    )
    assert code == 0 and "7 cases, 0 changed, 0 unreadable" in out


def test_diff_a_calendar_change(spec_copy: Path) -> None:
    (spec_copy / "calendar.yaml").write_text(
        "closures:\n  - {date: 2026-10-09, name: 停业}\n", "utf-8"
    )
    code, out, _ = run(
        "diff",
        str(PROCESSES),
        str(spec_copy),
        "--cases",
        str(PROCESSES / "examples" / "water_type_change.json"),
        *AS_OF,
    )
    assert code == 1
    assert (
        "  deadlines: Approval of the change Sat 10 Oct, 24:00 (breached) -> "
        "Mon 12 Oct, 24:00 (at risk) [WT-APPROVER]\n"
    ) in out
    assert "  findings: no longer error Approval of the change: 1 working day overdue" in out
    assert "verdict: Cannot proceed -> OK to proceed" in out
    assert "Change of water-use type / deadlines: 1" in out


def test_diff_text_names_approvers_and_documents_not_ids(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        "    approver: deputy_gm\n    note: {zh: 高价改低价",
        "    approver: business_office_manager\n    note: {zh: 高价改低价",
    )
    edit(
        spec_copy / "new_connection.yaml",
        "      - property_certificate_copy\n",
        "      - property_certificate_copy\n      - application_form\n",
    )
    code, out, _ = run(
        "diff",
        str(PROCESSES),
        str(spec_copy),
        "--cases",
        str(PROCESSES / "examples"),
        *AS_OF,
        "--lang",
        "zh",
    )
    assert code == 1
    assert "  审批: 分管副总经理 -> 营业所经理 [WT-APPROVER]\n" in out
    assert "  缺少资料: 新增 申请表\n" in out
    assert "用水性质变更 / 审批: 1" in out
    for raw in ("[", "deputy_gm", "application_form", "'", "T23:59"):
        assert raw not in out.replace("[WT-APPROVER]", "").replace("[NC-", ""), raw


def test_diff_over_a_folder_with_an_unreadable_case(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(
        (PROCESSES / "examples" / "water_type_change.json").read_text("utf-8"), "utf-8"
    )
    (tmp_path / "bad.json").write_text("{not json", "utf-8")
    code, out, err = run("diff", str(PROCESSES), str(PROCESSES), "--cases", str(tmp_path), *AS_OF)
    assert code == 2 and "bad.json:1:" in err and "1 cases, 0 changed, 1 unreadable" in out


def test_diff_with_an_unreadable_spec_folder(tmp_path: Path) -> None:
    code, _, err = run("diff", str(PROCESSES), str(tmp_path / "none"), "--cases", str(tmp_path))
    assert code == 2 and "none" in err
