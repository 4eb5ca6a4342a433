"""Safe YAML for specs and calendars, and the common slips of people who edit them.

Each slip has a golden message in both languages with its line and column; each refused YAML
feature (tags, anchors and aliases, merge keys, deep nesting, huge numbers) is refused at once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.cli import main
from procrules.errors import SpecError
from procrules.source import load_yaml

from .conftest import edit

# (note, YAML text, golden English line, golden Chinese line)
SLIPS = [
    (
        "tab",
        "name: a\nitems:\n\t- x\n",
        "f.yaml:3:1: yaml_syntax: a tab character: indent with spaces, never tabs at $",
        "f.yaml:3:1: yaml_syntax: 出现了制表符（Tab）：请用空格缩进，不要用 Tab，位于 $",
    ),
    (
        "full-width colon",
        "id: x\nversion： 2026.1\nname: y\n",
        "f.yaml:2:8: yaml_syntax: full-width colon '：' after 'version': write an ASCII colon "
        "and a space, 'version: ...' at $",
        "f.yaml:2:8: yaml_syntax: 'version' 后面用了全角冒号 '：'：请改为半角冒号加一个空格，"
        "写成 'version: ...'，位于 $",
    ),
    (
        "unquoted colon in a value",
        "id: x\nmessage: 注意: 带上身份证\n",
        "f.yaml:2:12: yaml_syntax: the value of 'message' contains ': ': put the whole value in "
        'quotes, message: "..." at $',
        "f.yaml:2:12: yaml_syntax: 'message' 的值里有 ': '：请把整个值加上引号，"
        '写成 message: "..."，位于 $',
    ),
    (
        "wrong indent",
        "steps:\n  verify:\n    role: csc\n   after: x\n",
        "f.yaml:4:4: yaml_syntax: this line is not indented like the lines above it: keys of "
        "one mapping start in the same column (two spaces a level) at $",
        "f.yaml:4:4: yaml_syntax: 此行的缩进与上文不一致：同一层的键必须从同一列开始"
        "（每层缩进两个空格），位于 $",
    ),
    (
        "unclosed quote",
        'name: "用水性质变更\nversion: 1\n',
        'f.yaml:1:7: yaml_syntax: the quote " opened here is never closed: end the text '
        'with " at $',
        'f.yaml:1:7: yaml_syntax: 此处开始的引号 " 没有闭合：请在文字末尾补上 "，位于 $',
    ),
    (
        "unclosed bracket",
        "roles: [customer, csc\nversion: 1\n",
        "f.yaml:1:8: yaml_syntax: the '[' opened here is never closed: end the list with ']' at $",
        "f.yaml:1:8: yaml_syntax: 此处开始的 '[' 没有闭合：请在列表末尾补上 ']'，位于 $",
    ),
    (
        "unclosed brace",
        "name: {zh: 过户, en: Transfer\nversion: 1\n",
        "f.yaml:1:7: yaml_syntax: the '{' opened here is never closed: end the mapping with '}' "
        "at $",
        "f.yaml:1:7: yaml_syntax: 此处开始的 '{' 没有闭合：请在末尾补上 '}'，位于 $",
    ),
]


@pytest.mark.parametrize(("note", "text", "en", "zh"), SLIPS, ids=[s[0] for s in SLIPS])
def test_yaml_slip_golden_message(note: str, text: str, en: str, zh: str) -> None:
    with pytest.raises(SpecError) as exc:
        load_yaml(Path("f.yaml"), text)
    assert exc.value.render("en") == en
    assert exc.value.render("zh") == zh
    assert "格式错误" not in exc.value.render("zh")  # never the parser's English behind a lead-in


def test_equals_for_double_equals_in_lint(spec_copy: Path) -> None:
    edit(
        spec_copy / "water_type_change.yaml",
        'when: direction == "downgrade"',
        'when: direction = "downgrade"',
    )
    runner = CliRunner()
    en = runner.invoke(main, ["lint", str(spec_copy), "--lang", "en"])
    zh = runner.invoke(main, ["lint", str(spec_copy), "--lang", "zh"])
    assert en.exit_code == zh.exit_code == 2
    where = f"{spec_copy / 'water_type_change.yaml'}:99:21: expression_syntax: "
    assert (
        where + "'=' assigns a value: to compare, write '==' (e.g. direction == \"downgrade\") "
        "at $.approvals[1].when"
    ) in en.output
    assert (
        where + "'=' 是赋值：比较相等请写 '=='，如 direction == \"downgrade\"，"
        "位于 $.approvals[1].when"
    ) in zh.output


def test_a_slip_in_a_spec_reaches_lint_with_file_line_and_column(spec_copy: Path) -> None:
    edit(spec_copy / "water_type_change.yaml", "version: ", "version： ")
    result = CliRunner().invoke(main, ["lint", str(spec_copy), "--lang", "zh"])
    assert result.exit_code == 2
    assert "water_type_change.yaml:" in result.output
    assert "全角冒号" in result.output
    assert "Traceback" not in result.output


LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)
BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
)

# (note, YAML text, code, line, column, JSON path, words of the zh message)
REFUSED = [
    ("python tag", "id: !!python/object/apply:os.system [ls]\n", "yaml_tag", 1, 5, "$.id", "标签"),
    ("local tag", "id: !foo x\n", "yaml_tag", 1, 5, "$.id", "标签"),
    ("binary tag", "id: !!binary aGVsbG8=\n", "yaml_tag", 1, 5, "$.id", "标签"),
    ("str tag", "id: !!str 12\n", "yaml_tag", 1, 5, "$.id", "标签"),
    ("anchor", "a: &x 1\nb: 2\n", "yaml_anchor", 1, 4, "$.a", "锚点"),
    ("alias", "a: 1\nb: [*x]\n", "yaml_alias", 2, 5, "$.b[0]", "别名"),
    ("recursive alias", "a: &a [*a]\n", "yaml_anchor", 1, 4, "$.a", "锚点"),
    ("merge key", "a:\n  <<: {x: 1}\n  y: 2\n", "yaml_merge_key", 2, 3, "$.a", "合并键"),
    ("deep nesting", "a: " + "[" * 60 + "]" * 60 + "\n", "yaml_depth", 1, 43, None, "嵌套"),
    ("huge integer", "a: " + "9" * 5000 + "\n", "yaml_number", 1, 4, "$.a", "数字"),
    ("non-scalar key", "? [a, b]\n: 1\n", "yaml_key", 1, 3, "$", "键"),
    ("340-byte alias bomb", BOMB, "yaml_anchor", 1, 4, "$.a", "锚点"),
    ("9-level billion laughs", LAUGHS, "yaml_anchor", 1, 5, "$.a0", "锚点"),
]


@pytest.mark.parametrize(
    ("note", "text", "code", "line", "column", "path", "zh"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_refused_yaml_features(
    note: str, text: str, code: str, line: int, column: int, path: str | None, zh: str
) -> None:
    with pytest.raises(SpecError) as exc:
        load_yaml(Path("f.yaml"), text)
    [problem] = exc.value.problems
    assert (problem.code, problem.line, problem.column) == (code, line, column)
    if path is not None:
        assert problem.path == path
    assert zh in exc.value.render("zh")
    assert "格式错误" not in exc.value.render("zh")


def test_merge_key_message_says_how_to_write_it() -> None:
    with pytest.raises(SpecError) as exc:
        load_yaml(Path("f.yaml"), "base: {x: 1}\nb:\n  <<: {x: 1}\n")
    assert "write each key of the mapping out in full" in exc.value.render("en")
    assert "逐一写出" in exc.value.render("zh")


@pytest.mark.parametrize("text", [BOMB, LAUGHS], ids=["alias bomb", "billion laughs"])
def test_bombs_are_refused_by_lint_and_check_in_well_under_a_second(
    spec_copy: Path, text: str, tmp_path: Path
) -> None:
    assert len(BOMB.encode()) <= 340
    (spec_copy / "bomb.yaml").write_text(text, encoding="utf-8")
    runner = CliRunner()
    start = time.process_time()
    lint = runner.invoke(main, ["lint", str(spec_copy)])
    cal = runner.invoke(main, ["calendar", "status", "--calendar", str(spec_copy / "bomb.yaml")])
    spent = time.process_time() - start
    assert lint.exit_code == 2 and "yaml_anchor" in lint.output
    assert cal.exit_code == 2 and "yaml_anchor" in cal.output
    assert spent < 1.0  # a bound on a refusal, not a benchmark: the old loader took minutes


def test_plain_yaml_still_reads_as_before() -> None:
    doc = load_yaml(
        Path("f.yaml"),
        "a: 1\nb: [x, 'y', 2026-10-01, 1.5, true, null, ~]\nc: {d: e}\n'3': q\n4: r\n",
    )
    assert doc.data == {
        "a": 1,
        "b": ["x", "y", "2026-10-01", 1.5, True, None, None],
        "c": {"d": "e"},
        "3": "q",
        "4": "r",
    }
    assert doc.positions[("b", 2)] == (2, 13)
    assert doc.positions[("c", "d")] == (3, 8)


def test_a_full_width_colon_read_as_text_is_still_caught() -> None:
    with pytest.raises(SpecError) as exc:
        load_yaml(Path("f.yaml"), "a:\n  x: 1\n  b： 1\n")
    assert exc.value.problems[0].line == 3 and "全角冒号" in exc.value.render("zh")
    # inside a block of text a full-width colon is just punctuation
    assert load_yaml(Path("f.yaml"), "d: |\n  步骤1：受理\n").data == {"d": "步骤1：受理\n"}


def test_a_fifo_or_a_device_as_a_calendar_is_refused_at_once(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "calendar.yaml"
    os.mkfifo(fifo)
    for target in (fifo, Path("/dev/zero"), tmp_path):
        result = CliRunner().invoke(main, ["calendar", "status", "--calendar", str(target)])
        assert result.exit_code == 2
        assert "not a regular file" in result.stderr
