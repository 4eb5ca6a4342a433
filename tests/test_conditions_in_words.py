"""The guide and the diagrams say what the spec says: conditional documents, amounts and steps
show their condition in words (a spec label or a rendering, never the expression), gates stand
before every branch, PlantUML branches are labelled in the reader's language; a condition's
label is validated where it is written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.cli import main
from procrules.diagram import render as diagram_render
from procrules.errors import SpecError
from procrules.guide import render as guide_render
from procrules.spec.compile import load_specs

from .conftest import PROCESSES, edit

PROCESS_IDS = sorted(p.stem for p in (PROCESSES / "examples").glob("*.json"))
# what an expression looks like: a dotted name, a call, a comparison operator, a quoted value
RAW = re.compile(r"\b(facts|customer)\.[a-z_]+|happened\(|price\(|direction\(|==|!=|>=|<=")


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


SPECS = load_specs(PROCESSES)
FORMATS = [
    (guide_render, "md"),
    (guide_render, "html"),
    (diagram_render, "mermaid"),
    (diagram_render, "plantuml"),
    (diagram_render, "dot"),
]


@pytest.mark.parametrize("process", PROCESS_IDS)
def test_no_expression_text_for_people(process: str) -> None:
    """Every format of the guide and the diagrams, both languages: no dotted fact or customer
    name, no call, no comparison operator."""
    for render, fmt in FORMATS:
        for lang in ("zh", "en"):
            p = SPECS.processes[process]
            out = (
                render([p], SPECS, fmt, lang)
                if render is guide_render
                else render(p, SPECS, fmt, lang)
            )
            assert not RAW.search(out), (fmt, lang, RAW.search(out))


@pytest.mark.parametrize(
    "process,lang,row",
    [
        (
            "new_connection",
            "zh",
            "| 水费押金（3个月） | 大用量的个人用户 | 3 × 预计月用水量 × 该用水性质水价；",
        ),
        (
            "new_connection",
            "en",
            "| Water-fee deposit (3 months) | large-volume individual customers | 3 x expected",
        ),
        (
            "ownership_transfer",
            "zh",
            "| 过户押金（3个缴费周期） | 过户类型为开发公司过户给居民 | 3 × 每个缴费周期水费 |",
        ),
        (
            "ownership_transfer",
            "en",
            "| Transfer deposit (3 billing cycles) | Kind of transfer is a developer's transfer to "
            "residents |",
        ),
        ("meter_reading_correction", "zh", "| 项目 |"),  # no amounts: no fees table, no failure
    ],
)
def test_the_guide_says_when_an_amount_is_owed(process: str, lang: str, row: str) -> None:
    out = run("guide", process, "--lang", lang)
    if process == "meter_reading_correction":
        assert "收费及押金" not in out
    else:
        assert row in out


def test_the_guide_marks_conditional_steps() -> None:
    out = run("guide", "ownership_transfer", "--lang", "zh")
    assert (
        "| 营业所现场勘查（开发公司过户给居民）（仅当过户类型为开发公司过户给居民） | 营业所 |"
        in out
    )
    assert "| 客服中心经理签字（单位用户）（仅当用户类型为单位用户） |" in out
    out = run("guide", "new_connection", "--lang", "en")
    assert "(only when Project cost (yuan) is at least 100000) |" in out


def _edges(out: str) -> set[tuple[str, str]]:
    return set(re.findall(r"^\s*(\w+) -(?:-|\.)+>(?:\|[^|]*\|)? (\w+)$", out, re.M)) | set(
        re.findall(r"^\s*(\w+) -> (\w+)", out, re.M)
    )


@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_the_arrears_gate_stands_before_every_branch(fmt: str) -> None:
    """OT: the survey and the approval both follow the application; neither may bypass
    OT-ARREARS."""
    out = run("diagram", "ownership_transfer", "--format", fmt, "--lang", "zh")
    edges = _edges(out)
    from_apply = {b for a, b in edges if a == "s_apply"}
    assert from_apply == {"gate_0", "s_change"}  # s_change: the OT-CHANGE deadline's own edge
    assert {("gate_0", "s_survey"), ("gate_0", "s_approve"), ("gate_0", "blocked_0")} <= edges
    assert "OT-ARREARS: 欠费金额（元）大于0？" in out


def test_conditional_steps_are_marked_in_mermaid_and_dot() -> None:
    out = run("diagram", "ownership_transfer", "--format", "mermaid", "--lang", "zh")
    assert "class s_survey,s_sign conditional" in out
    survey = "营业所现场勘查（开发公司过户给居民）（仅当过户类型为开发公司过户给居民）"
    assert f's_survey["{survey} [OT-SURVEY]"]' in out
    out = run("diagram", "ownership_transfer", "--format", "dot", "--lang", "en")
    assert re.search(
        r's_survey \[label="[^"]*only when Kind of transfer[^"]*", style="rounded,dashed"\]', out
    )


@pytest.mark.parametrize(
    "lang,yes,no,question",
    [
        ("zh", "是", "否", "过户类型为开发公司过户给居民？"),
        ("en", "yes", "no", "Kind of transfer is a developer's transfer to residents?"),
    ],
)
def test_plantuml_marks_conditional_steps_and_labels_branches(
    lang: str, yes: str, no: str, question: str
) -> None:
    out = run("diagram", "ownership_transfer", "--format", "plantuml", "--lang", lang)
    lines = out.splitlines()
    i = lines.index(f"if ({question}) then ({yes})")
    assert lines[i + 2].startswith(":") and "[OT-SURVEY]" in lines[i + 2]
    assert lines[i + 3 : i + 5] == [f"else ({no})", "endif"]
    gate = next(n for n, line in enumerate(lines) if line.startswith("if (OT-ARREARS"))
    assert lines[gate].endswith(f"then ({yes})") and f"else ({no})" in lines[gate : gate + 6]
    assert gate < i  # the gate before the first branch
    assert all(
        line.endswith(f"then ({yes})") for line in lines if line.startswith(("if ", "elseif "))
    )


def test_plantuml_reads_the_diagrams(tmp_path: Path) -> None:
    """PlantUML itself reads the flows with conditional steps, gates and routing, in both
    languages; one run, since each start of Java costs seconds."""
    if not shutil.which("plantuml"):
        pytest.skip("PlantUML is not installed (.ci/run installs it)")
    chosen = [("ownership_transfer", "zh"), ("ownership_transfer", "en"), ("new_connection", "zh")]
    for process, lang in chosen:
        out = run("diagram", process, "--format", "plantuml", "--lang", lang)
        (tmp_path / f"{process}.{lang}.puml").write_text(out, "utf-8")
    files = sorted(str(p) for p in tmp_path.glob("*.puml"))
    done = subprocess.run(
        ["plantuml", "-tsvg", "-failfast2", "-nometadata", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list(tmp_path.glob("*.svg"))) == len(files)


# -- the spec side: a condition's label and an enum's value names are checked where written --


def test_a_condition_label_replaces_the_rendering(spec_copy: Path) -> None:
    edit(
        spec_copy / "ownership_transfer.yaml",
        '    when: facts.transfer_kind == "developer_to_residents"\n    formula:',
        '    when:\n      expr: facts.transfer_kind == "developer_to_residents"\n'
        "      label: {zh: 开发公司过户给居民时, en: for a developer's transfer}\n    formula:",
    )
    out = run("guide", "ownership_transfer", "--processes", str(spec_copy), "--lang", "zh")
    assert "| 过户押金（3个缴费周期） | 开发公司过户给居民时 |" in out


@pytest.mark.parametrize(
    "new,code,path,line",
    [
        (  # a label without its English
            '    when:\n      expr: customer.type == "individual" and facts.large_volume\n'
            "      label: {zh: 大用量的个人用户}\n",
            "spec_schema",
            "$.amounts[0].when.label",
            139,
        ),
        (  # an expression fault inside the mapping points at expr
            '    when:\n      expr: customer.type == "individul" and facts.large_volume\n'
            "      label: {zh: 大用量的个人用户, en: large-volume individuals}\n",
            "expression_type",
            "$.amounts[0].when.expr",
            138,
        ),
    ],
)
def test_a_condition_label_is_validated(
    spec_copy: Path, new: str, code: str, path: str, line: int
) -> None:
    spec = spec_copy / "new_connection.yaml"
    text = spec.read_text("utf-8")
    old = re.search(r"    when:\n      expr: [^\n]+\n      label: [^\n]+\n", text)
    assert old
    spec.write_text(text.replace(old.group(0), new), "utf-8")
    with pytest.raises(SpecError) as caught:
        load_specs(spec_copy)
    found = [(p.code, p.path, p.line) for p in caught.value.problems]
    assert any(c == code and p == path and n == line for c, p, n in found), found


def test_enum_value_names_are_validated(spec_copy: Path) -> None:
    edit(
        spec_copy / "ownership_transfer.yaml",
        "      general: {zh: 一般过户, en: an ordinary transfer}",
        "      general: {zh: 一般过户}",
    )
    with pytest.raises(SpecError) as caught:
        load_specs(spec_copy)
    assert any(p.path.startswith("$.facts.transfer_kind.values") for p in caught.value.problems)


@pytest.mark.parametrize("example", sorted((PROCESSES / "examples").glob("*.json")), ids=str)
def test_explain_in_chinese_shows_no_expression_text(example: Path) -> None:
    result = CliRunner().invoke(
        main, ["explain", str(example), "--as-of", "2026-10-12T09:00:00+08:00", "--lang", "zh"]
    )
    assert result.exit_code in (0, 1), result.output
    assert not RAW.search(result.stdout), RAW.search(result.stdout)
    assert "happened" not in result.stdout and "True" not in result.stdout
