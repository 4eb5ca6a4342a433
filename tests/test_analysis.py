"""Static analysis in `procrules lint`: routing gaps and conflicts, unproduced deadline events,
unreachable steps, unused documents; each with its location."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from procrules.cli import main
from procrules.spec.analysis import analyse
from procrules.spec.compile import load_specs

from .conftest import PROCESSES, edit

UPGRADE = '    when: direction == "upgrade"        # 低改高'
DOWNGRADE = '    when: direction == "downgrade"      # 高改低'


def found(folder: Path) -> list[tuple[str, str, int, str, str]]:
    return [
        (Path(p.file).name, p.code, p.line, p.path, p.severity) for p in analyse(load_specs(folder))
    ]


def test_shipped_specs_have_no_analysis_errors() -> None:
    assert [p for p in found(PROCESSES) if p[4] == "error"] == []


def test_an_unused_document_is_a_warning() -> None:
    assert (
        "catalog.yaml",
        "unused_document",
        25,
        "$.documents.application_form",
        "warning",
    ) in found(PROCESSES)


def test_a_planted_routing_gap(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        UPGRADE,
        '    when: direction == "upgrade" and customer.type == "unit"',
    )
    [(file, code, line, path, severity)] = [p for p in found(spec_copy) if p[4] == "error"]
    assert (file, code, line, path, severity) == (
        "water_type_change.yaml",
        "routing_gap",
        94,
        "$.approvals[0]",
        "error",
    )
    message = next(p for p in analyse(load_specs(spec_copy)) if p.code == "routing_gap").message
    assert "direction = upgrade, customer.type = individual" in message


def test_a_planted_routing_overlap(spec_copy: Path) -> None:
    edit(spec_copy / "water_type_change.yaml", DOWNGRADE, '    when: direction != "same"')
    [(file, code, line, path, _)] = [p for p in found(spec_copy) if p[4] == "error"]
    assert (file, code, line, path) == (
        "water_type_change.yaml",
        "routing_conflict",
        99,
        "$.approvals[1].when",
    )


def test_the_same_type_is_covered_by_its_check(spec_copy: Path) -> None:
    """direction == "same" has no approver, but the no_change check speaks to it: no gap."""
    edit(
        spec_copy / "water_type_change.yaml",
        '    when: direction == "same"',
        '    when: direction == "same" and customer.type == "unit"',
    )
    assert [p[1] for p in found(spec_copy) if p[4] == "error"] == ["routing_gap"]


def test_a_deadline_no_step_can_start(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        "  - {id: take_order, role: business_office, event: order_received,",
        "  - {id: take_order, role: business_office, event: application_received,",
    )
    codes = {(p[1], p[3]) for p in found(spec_copy)}
    assert ("deadline_event_unproduced", "$.deadlines[0].start") in codes
    assert ("deadline_event_unproduced", "$.deadlines[1].start") in codes


def test_steps_in_a_circle_cannot_be_reached(spec_copy: Path) -> None:
    edit(
        spec_copy / "meter_reading_correction.yaml",
        "  - {id: request, role: business_office, event: correction_requested,",
        "  - {id: request, role: business_office, event: correction_requested, after: [apply],",
    )
    codes = {(p[1], p[3]) for p in found(spec_copy)}
    assert ("unreachable_step", "$.steps[0].after") in codes


def test_lint_exits_2_on_an_analysis_error(spec_copy: Path) -> None:
    edit(spec_copy / "water_type_change.yaml", DOWNGRADE, '    when: direction != "same"')
    result = CliRunner().invoke(main, ["lint", str(spec_copy)])
    assert result.exit_code == 2
    assert "water_type_change.yaml:99:" in result.stderr and "routing_conflict" in result.stderr
