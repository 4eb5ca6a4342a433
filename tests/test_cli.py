"""The procrules command: exit codes, reports, errors that name file and place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.cli import main

from .conftest import PROCESSES, SHARED

EXAMPLES = PROCESSES / "examples"
AS_OF = ["--as-of", "2026-10-12T09:00:00+08:00"]


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:  # noqa: A002
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, data: object, name: str = "case.json") -> str:
    path = tmp_path / name
    path.write_text(
        data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), "utf-8"
    )
    return str(path)


CASE = {
    "case_id": "T-1",
    "process": "water_type_change",
    "customer": {"type": "individual", "water_type": "special", "arrears": "0.00"},
    "documents": ["id_card_copy"],
    "facts": {"target_water_type": "residential"},
    "events": [
        {"event": "order_received", "at": "2026-09-29T10:00:00+08:00"},
        {"event": "site_verified", "at": "2026-10-09T15:30:00+08:00"},
    ],
}


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_is_judged(example: Path) -> None:
    code, out, err = run("check", str(example), "--format", "json", *AS_OF)
    assert code in (0, 1), err
    report = json.loads(out)
    assert report["process"] == example.stem
    assert report["ok"] is (code == 0)


def test_json_report_follows_the_contract(tmp_path: Path) -> None:
    code, out, _ = run("check", write(tmp_path, CASE), "--format", "json", *AS_OF)
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert list(report)[:9] == [
        "case_id",
        "process",
        "process_version",
        "as_of",
        "ok",
        "missing_documents",
        "findings",
        "approvals",
        "amounts",
    ]
    assert report["as_of"] == "2026-10-12T09:00:00+08:00"
    assert {"rule": "WT-APPROVER", "approver": "deputy_gm"}.items() <= report["approvals"][
        0
    ].items()
    verify = next(d for d in report["deadlines"] if d["rule"] == "WT-VERIFY")
    assert (verify["due"], verify["status"]) == ("2026-10-08T23:59:59+08:00", "late")
    approve = next(d for d in report["deadlines"] if d["rule"] == "WT-APPROVER")
    assert (approve["due"], approve["status"]) == ("2026-10-10T23:59:59+08:00", "breached")
    for finding in report["findings"]:
        assert {"code", "severity", "rule", "message"} <= set(finding)


def test_text_report_puts_the_verdict_first_and_lists_every_missing_document(
    tmp_path: Path,
) -> None:
    case = {
        **CASE,
        "customer": {"type": "unit", "arrears": "88.00", "water_type": "commercial"},
        "process": "new_connection",
        "documents": ["sealed_application_form"],
        "facts": {"project_cost": 20000},
        "events": [],
    }
    code, out, _ = run("check", write(tmp_path, case), "--lang", "zh", *AS_OF)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("✘ 不予办理：欠费")  # the clerk's answer first
    listed = [line for line in lines if line.strip()[:2] in {f"{i}." for i in range(1, 10)}]
    assert len(listed) == 5 and any("拟用水地址" in line for line in listed)
    assert "arrears_outstanding" in out and "\x1b[" not in out  # no colour off a terminal


def test_english_text(tmp_path: Path) -> None:
    code, out, _ = run("check", write(tmp_path, CASE), "--lang", "en", *AS_OF)
    # the centre's own lateness does not turn the customer away: it has a line of its own
    lines = out.splitlines()
    assert lines[0].startswith("✔ OK to proceed") and "Deputy general manager" in out
    assert lines[1].strip() == "Our deadlines: 1 breached" and code == 1


def test_stdin_and_several_cases(tmp_path: Path) -> None:
    code, out, _ = run("check", "-", "--format", "json", *AS_OF, input=json.dumps(CASE))
    assert code == 1 and json.loads(out)["case_id"] == "T-1"
    ok_case = {**CASE, "events": []}
    code, out, _ = run(
        "check",
        write(tmp_path, ok_case, "a.json"),
        write(tmp_path, CASE, "b.json"),
        "--format",
        "json",
        *AS_OF,
    )
    reports = json.loads(out)
    assert code == 1 and [r["ok"] for r in reports] == [True, False]


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, '{"process": "new_connection",\n "customer": ')
    code, out, err = run("check", path)
    assert code == 2 and out == ""
    assert f"{path}:2:" in err and "malformed JSON" in err and "Traceback" not in err


def test_schema_error_names_the_json_path(tmp_path: Path) -> None:
    bad = {**CASE, "customer": {"type": "person"}}
    code, _, err = run("check", write(tmp_path, bad), *AS_OF)
    assert code == 2 and "$.customer.type" in err


def test_a_fact_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    bad = {**CASE, "facts": {"target_water_type": "residental"}}
    code, _, err = run("check", write(tmp_path, bad), *AS_OF)
    assert code == 2 and "$.facts.target_water_type" in err and "did you mean 'residential'" in err


def test_unknown_process_suggests(tmp_path: Path) -> None:
    code, _, err = run("check", write(tmp_path, {**CASE, "process": "water_type_chnage"}), *AS_OF)
    assert code == 2 and "$.process" in err and "water_type_change" in err


def test_unknown_document_and_event_are_reported_not_dropped(tmp_path: Path) -> None:
    case = {
        **CASE,
        "documents": ["id_crad_copy"],
        "events": [*CASE["events"], {"event": "site_verifed", "at": "2026-10-09T16:00:00"}],
    }
    code, out, _ = run("check", write(tmp_path, case), "--format", "json", *AS_OF)
    findings = {f["code"]: f for f in json.loads(out)["findings"]}
    assert findings["unknown_document"]["suggestion"] == "id_card_copy"
    assert findings["unknown_event"]["suggestion"] == "site_verified"
    assert findings["unknown_document"]["severity"] == "warning"


def test_document_aliases(tmp_path: Path) -> None:
    case = {**CASE, "documents": ["身份证"], "events": []}
    code, out, _ = run("check", write(tmp_path, case), "--format", "json", *AS_OF)
    assert json.loads(out)["missing_documents"] == []


def test_chinese_names_for_documents_and_events(tmp_path: Path) -> None:
    case = {
        **CASE,
        "documents": ["户口本复印件"],
        "events": [{"event": "营业所接单", "at": "2026-09-29T10:00:00"}],
    }
    code, out, _ = run("check", write(tmp_path, case), "--format", "json", *AS_OF)
    report = json.loads(out)
    assert report["missing_documents"] == []
    assert (
        next(d for d in report["deadlines"] if d["rule"] == "WT-VERIFY")["start"]
        == "2026-09-29T10:00:00+08:00"
    )


def test_an_event_after_as_of_is_not_counted(tmp_path: Path) -> None:
    code, out, _ = run(
        "check", write(tmp_path, CASE), "--format", "json", "--as-of", "2026-10-01T09:00:00+08:00"
    )
    report = json.loads(out)
    assert any(f["code"] == "event_after_as_of" for f in report["findings"])
    assert next(d for d in report["deadlines"] if d["rule"] == "WT-VERIFY")["done"] is None


def test_bad_as_of_and_bad_processes_folder(tmp_path: Path) -> None:
    assert run("check", write(tmp_path, CASE), "--as-of", "yesterday")[0] == 2
    code, _, err = run("check", write(tmp_path, CASE), "--processes", str(tmp_path / "none"))
    assert code == 2 and "none" in err


def test_processes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCRULES_PROCESSES", str(tmp_path / "elsewhere"))
    code, _, err = run("check", write(tmp_path, CASE), *AS_OF)
    assert code == 2 and "elsewhere" in err


def test_calendar_due_explains_skipped_days() -> None:
    code, out, _ = run("calendar", "due", "2026-09-30T17:45", "7wd")
    assert code == 0
    assert out.splitlines()[0] == "due: Thu 15 Oct, 24:00"
    assert "Thu 1 Oct  skipped  国庆节" in out
    assert "Sat 10 Oct  counted  调休上班" in out


@pytest.mark.parametrize(
    "duration,expected",
    [("24h", "Thu 1 Oct, 17:45"), ("1mo", "Fri 30 Oct, 24:00")],
)
def test_calendar_due_units(duration: str, expected: str) -> None:
    code, out, _ = run("calendar", "due", "2026-09-30T17:45", duration)
    assert code == 0 and expected in out.splitlines()[0]


def test_calendar_due_rejects_nonsense() -> None:
    assert run("calendar", "due", "2026-09-30", "7 fortnights")[0] == 2


def test_calendar_show_and_status() -> None:
    code, out, _ = run("calendar", "show", "2026-10")
    assert code == 0 and " 10班" in out and "  1休" in out and "Thu 1 Oct 国庆节" in out
    code, out, _ = run("calendar", "status")
    assert code == 0 and "  2010-2026  shipped table: holidays" in out
    assert "  2027-2036  estimate: holidays" in out


def test_sla_over_files_folders_and_jsonl(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    write(folder, CASE, "one.json")
    write(folder, "{broken", "two.json")
    lines = [json.dumps({**CASE, "case_id": f"L-{i}"}) for i in range(3)]
    (folder / "more.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    code, out, err = run("sla", str(folder), "--format", "json", *AS_OF)
    data = json.loads(out)
    assert code == 2  # one case could not be read; the rest were judged
    assert "two.json" in err
    assert data["summary"]["cases"] == 4 and data["summary"]["unreadable"] == 1
    assert {a["status"] for a in data["alerts"]} == {"breached"}
    assert data["alerts"][0]["rule"] == "WT-APPROVER"


def test_sla_exit_1_on_a_breach_and_0_when_calm(tmp_path: Path) -> None:
    assert run("sla", write(tmp_path, CASE), *AS_OF)[0] == 1
    calm = {**CASE, "events": []}
    code, out, _ = run("sla", write(tmp_path, calm, "calm.json"), *AS_OF)
    assert code == 0 and "1 cases, 0 alerts" in out


def test_sla_orders_breaches_first(tmp_path: Path) -> None:
    at_risk = {
        **CASE,
        "case_id": "R",
        "events": [{"event": "order_received", "at": "2026-10-12T08:00:00+08:00"}],
    }
    lines = [json.dumps(at_risk), json.dumps(CASE)]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines), "utf-8")
    code, out, _ = run("sla", str(path), "--format", "json", "--as-of", "2026-10-13T20:00:00+08:00")
    statuses = [a["status"] for a in json.loads(out)["alerts"]]
    assert statuses == sorted(statuses, key=lambda s: s != "breached")


def test_spec_tests_command(tmp_path: Path) -> None:
    code, out, _ = run("test", "--coverage")
    assert code == 0 and out.rstrip().endswith("0 failed")
    assert "60 of 60 rules exercised, 0 more informational only" in out
    bad = tmp_path / "tests"
    bad.mkdir()
    (bad / "t.yaml").write_text(
        "- note: a typo'd document\n  process: water_type_change\n"
        "  as_of: 2026-06-01T09:00:00+08:00\n"
        "  case: {facts: {target_water_type: commercial}}\n"
        "  expect: {missing_documents: [id_crad_copy]}\n",
        "utf-8",
    )
    code, out, _ = run("test", str(bad))
    assert code == 1 and "t.yaml:1" in out and "0 passed, 1 failed" in out
    assert "unknown document 'id_crad_copy' in expect (did you mean 'id_card_copy'?)" in out
    (bad / "t.yaml").write_text(
        "- note: a typo'd document in the case\n  process: water_type_change\n"
        "  as_of: 2026-06-01T09:00:00+08:00\n"
        "  case: {documents: [id_crad_copy], facts: {target_water_type: commercial}}\n"
        "  expect: {approvals: [{rule: WT-APPROVER}]}\n",
        "utf-8",
    )
    code, out, _ = run("test", str(bad))
    assert code == 1 and "unknown document 'id_crad_copy' was not counted" in out
    assert "did you mean 'id_card_copy'" in out


@pytest.mark.skipif(
    not (SHARED / "acceptance" / "cases").exists(), reason="no shared acceptance cases"
)
def test_acceptance_cases_in_process() -> None:
    for case in sorted((SHARED / "acceptance" / "cases").glob("*.case.json")):
        expect = json.loads(
            case.with_name(case.name.replace(".case.", ".expect.")).read_text("utf-8")
        )
        code, _, _ = run("check", str(case), "--format", "json", *expect.get("args", []))
        if "exit" in expect:
            assert code == expect["exit"], case.name


def test_coverage_names_untaken_routing_branches(tmp_path: Path) -> None:
    folder = tmp_path / "tests"
    folder.mkdir()
    (folder / "one.yaml").write_text(
        "- note: only a downgrade\n  process: water_type_change\n"
        "  as_of: 2026-06-01T09:00:00+08:00\n"
        "  case: {customer: {water_type: special}, facts: {target_water_type: residential}}\n"
        "  expect: {approvals: [{approver: deputy_gm}]}\n",
        "utf-8",
    )
    code, out, _ = run("test", str(folder), "--coverage")
    assert code == 0 and "1 passed, 0 failed" in out
    assert (
        "water_type_change approvals[0] (WT-APPROVER -> business_office_manager, "
        'when direction == "upgrade"): never taken'
    ) in out
    assert "approvals[1] (WT-APPROVER -> deputy_gm" in out and "never skipped" in out
    assert "not exercised: NC-GM" in out


def test_a_time_outside_the_calendar_names_its_place(tmp_path: Path) -> None:
    old = {**CASE, "events": [{"event": "order_received", "at": "1999-09-29T10:00:00+08:00"}]}
    code, out, err = run("check", write(tmp_path, old), *AS_OF)
    assert code == 2 and "$.events[0].at" in err and "outside the calendar" in err
    code, _, err = run("check", write(tmp_path, CASE), "--as-of", "2099-01-01")
    assert code == 2 and "--as-of" in err
