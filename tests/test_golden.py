"""The text a person reads, pinned: `procrules check` and `explain` of every example, in both
languages, and `check` of the flow cases in golden/cases/ (a refusal for arrears beside the
centre's lateness, a rejected site, a record without its application). A change of wording
shows up here; rewrite on purpose with `pytest --update-golden`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.cli import main

from .conftest import PROCESSES

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = sorted((PROCESSES / "examples").glob("*.json"))
FLOW_CASES = sorted((GOLDEN / "cases").glob("*.json"))
AS_OF = "2026-10-12T09:00:00+08:00"


@pytest.mark.parametrize("command", ["check", "explain"])
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_text_output(
    example: Path, lang: str, command: str, request: pytest.FixtureRequest
) -> None:
    result = CliRunner().invoke(main, [command, str(example), "--as-of", AS_OF, "--lang", lang])
    text = result.stdout.replace(str(PROCESSES), "<processes>")
    golden = GOLDEN / f"{command}-{example.stem}.{lang}.txt"
    if request.config.getoption("--update-golden"):
        golden.write_text(text, "utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run pytest --update-golden"
    assert text == golden.read_text("utf-8")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", FLOW_CASES, ids=lambda p: p.stem)
def test_flow_headline_and_timeline(case: Path, lang: str, request: pytest.FixtureRequest) -> None:
    result = CliRunner().invoke(main, ["check", str(case), "--as-of", AS_OF, "--lang", lang])
    golden = GOLDEN / f"flow-{case.stem}.{lang}.txt"
    if request.config.getoption("--update-golden"):
        golden.write_text(result.stdout, "utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run pytest --update-golden"
    assert result.stdout == golden.read_text("utf-8")
