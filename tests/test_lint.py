"""procrules lint: the shipped specs validate; each kind of fault is reported once, located."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.cli import main
from procrules.errors import SpecError
from procrules.spec.compile import load_specs

from .conftest import PROCESSES, edit


def test_every_shipped_spec_validates() -> None:
    specs = load_specs(PROCESSES)
    assert sorted(specs.processes) == sorted(
        p.stem
        for p in PROCESSES.glob("*.yaml")
        if p.stem not in {"catalog", "tariff", "rules", "calendar", "alerts"}
    )


def test_lint_passes_on_the_shipped_specs() -> None:
    result = CliRunner().invoke(main, ["lint", str(PROCESSES)])
    assert result.exit_code == 0, result.output
    assert "7 process specs" in result.output


def faults(folder: Path) -> list[tuple[str, str, int, str, str | None]]:
    with pytest.raises(SpecError) as exc:
        load_specs(folder)
    return [(Path(p.file).name, p.code, p.line, p.path, p.suggestion) for p in exc.value.problems]


# (file, old text, new text, expected fault: code, line, JSON path, suggestion)
BREAKAGES = [
    (
        "water_type_change.yaml",
        "roles: [customer, csc, business_office, inspection",
        "roles: [customer, csc, busines_office, inspection",
        ("spec_reference_error", 11, "$.roles[2]", "business_office"),
    ),
    (
        "water_type_change.yaml",
        'when: direction == "downgrade"',
        'when: direction == "downgrde"',
        ("expression_type", 99, "$.approvals[1].when", "downgrade"),
    ),
    (
        "water_type_change.yaml",
        "when: customer.arrears > 0",
        "when: customer.arears > 0",
        ("expression_unknown_name", 52, "$.gates[0].when", "customer.arrears"),
    ),
    (
        "water_type_change.yaml",
        "when: customer.arrears > 0",
        "when: customer.arrears >",
        ("expression_syntax", 52, "$.gates[0].when", None),
    ),
    (
        "water_type_change.yaml",
        "  - {id: take_order,",
        "  - {id: apply, role: customer, event: application_received,"
        " name: {zh: 重复, en: Again}}\n"
        "  - {id: take_order,",
        ("duplicate_step", 69, "$.steps[1].id", None),
    ),
    (
        "water_type_change.yaml",
        "within: 2 working days",
        "within: 2 working dayz",
        ("bad_duration", 108, "$.deadlines[0].within", None),
    ),
    (
        "water_type_change.yaml",
        "  - rule: WT-VERIFY",
        "  - rule: WT-VERIFI",
        ("unknown_rule", 104, "$.deadlines[0].rule", "WT-VERIFY"),
    ),
    (
        "water_type_change.yaml",
        "    stop: site_verified",
        "    stop: site_verifed",
        ("spec_reference_error", 107, "$.deadlines[0].stop", "site_verified"),
    ),
    (
        "water_type_change.yaml",
        "    approver: deputy_gm",
        "    approvr: deputy_gm",
        ("spec_schema", 100, "$.approvals[1].approvr", "approver"),
    ),
    (
        "water_type_change.yaml",
        "id: water_type_change",
        "id: water_type_chang",
        ("spec_id_mismatch", 2, "$.id", None),
    ),
    (
        "catalog.yaml",
        "  planning_location_map: {zh: 规划定点图, en: Planning location map}",
        "  planning_location_map: {en: Planning location map}",
        ("missing_label", 33, "$.documents.planning_location_map", None),
    ),
    (
        "catalog.yaml",
        "substitutes: [id_card_copy]",
        "substitutes: [id_crad_copy]",
        (
            "spec_reference_error",
            31,
            "$.documents.household_register_copy.substitutes[0]",
            "id_card_copy",
        ),
    ),
    (
        "new_connection.yaml",
        "      - planning_location_map       #",
        "      - planing_location_map       #",
        ("spec_reference_error", 61, "$.documents[0].require[2]", "planning_location_map"),
    ),
    (
        "water_type_change.yaml",
        "      zh: 用户尚欠水费 {customer.arrears} 元",
        "      zh: 用户尚欠水费 {customer.arears} 元",
        ("expression_unknown_name", 54, "$.gates[0].message.zh", "customer.arrears"),
    ),
]


@pytest.mark.parametrize(
    "file,old,new,fault", BREAKAGES, ids=[b[3][0] + ":" + b[3][2] for b in BREAKAGES]
)
def test_one_clear_message_per_fault(
    spec_copy: Path, file: str, old: str, new: str, fault: tuple[str, int, str, str | None]
) -> None:
    edit(spec_copy / file, old, new)
    assert faults(spec_copy) == [(file, *fault)]


def test_all_faults_are_collected_sorted_and_printed(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        "roles: [customer, csc, business_office,",
        "roles: [customer, csc, busines_office,",
    )
    edit(spec_copy / "water_type_change.yaml", "within: 2 working days", "within: 2 wd")
    edit(
        spec_copy / "meter_reading_correction.yaml",
        "approver: business_office_manager",
        "approver: deputy_gm",
    )
    result = CliRunner().invoke(main, ["lint", str(spec_copy)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if ": " in line and ".yaml:" in line]
    assert len(lines) == 3
    assert lines[0].startswith(str(spec_copy / "meter_reading_correction.yaml"))
    assert (
        "water_type_change.yaml:11:" in lines[1] and "(did you mean 'business_office'?)" in lines[1]
    )
    assert lines[1].endswith("at $.roles[2]")


def test_counting_options_are_checked(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        "    within: 2 working days",
        '    within: 2 working days\n    receipt: next_working_day\n    receipt_cutoff: "25:00"',
    )
    [(file, code, line, path, _)] = faults(spec_copy)
    assert (code, line, path) == ("spec_schema", 110, "$.deadlines[0].receipt_cutoff")


def test_yaml_syntax_error_has_line_and_column(spec_copy: Path) -> None:
    edit(spec_copy / "water_type_change.yaml", "roles: [customer,", "roles: [customer,: ]]")
    [(file, code, line, _, _)] = faults(spec_copy)
    assert (file, code, line) == ("water_type_change.yaml", "yaml_syntax", 11)


def test_duplicate_yaml_key(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml", 'version: "2026.1"', 'version: "2026.1"\nversion: "2"'
    )
    [(file, code, line, path, _)] = faults(spec_copy)
    assert (code, line, path) == ("duplicate_key", 5, "$.version")


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["lint", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a folder" in result.output


def test_a_flood_of_problems_is_capped() -> None:
    from procrules.errors import MAX_PROBLEMS, Problem

    problems = [Problem("f.yaml", i, 1, "spec_schema", "x") for i in range(1, 151)]
    lines = SpecError(problems).render().splitlines()
    assert len(lines) == MAX_PROBLEMS + 1 and lines[-1] == "(and 50 more)"
