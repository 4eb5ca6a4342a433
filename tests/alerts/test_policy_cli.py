"""alerts.yaml is validated like a spec (file:line:column, JSON path), and the CLI over it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules.alerts.policy import load_alert_policy
from procrules.cli import main
from procrules.errors import SpecError
from procrules.spec.compile import load_specs

from .conftest import water_type_case


def test_the_shipped_ladder_validates() -> None:
    policy = load_alert_policy(load_specs())
    assert [lv.level for lv in policy.levels] == ["red", "yellow", "blue"]
    assert policy.repeat.text == "next working day 09:00"


@pytest.mark.parametrize(
    ("old", "new", "code", "where", "path"),
    [
        (
            "notify: [handler]\n",
            "notify: [handlr]\n",
            "spec_schema",
            (24, 14),
            "$.levels[2].notify[0]",
        ),
        (
            "  design_office: leader_in_charge",
            "  design_ofice: leader_in_charge",
            "alerts_reference",
            (38, 17),
            "$.managers.design_ofice",
        ),
        (
            "repeat: next working day 09:00",
            "repeat: every morning",
            "alerts_schema",
            (50, 9),
            "$.repeat",
        ),
        (
            "  - channels: [desk]",
            "  - channels: [dsk]",
            "alerts_reference",
            (60, 16),
            "$.routes[0].channels[0]",
        ),
        (
            "water_type_change: [WT-VERIFY]",
            "water_type_change: [WT-VERIFI]",
            "alerts_reference",
            (30, 23),
            "$.step_limits.water_type_change[0]",
        ),
    ],
)
def test_faults_are_located(
    tmp_path: Path,
    policy_folder: Path,
    old: str,
    new: str,
    code: str,
    where: tuple[int, int],
    path: str,
) -> None:
    shipped = Path(__file__).parents[2] / "processes" / "alerts.yaml"
    text = shipped.read_text("utf-8")
    assert old in text
    bad = tmp_path / "alerts.yaml"
    bad.write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(SpecError) as info:
        load_alert_policy(load_specs(), bad)
    problem = info.value.problems[0]
    assert (problem.code, (problem.line, problem.column), problem.path) == (code, where, path)


def test_watch_once_twice_then_silence(tmp_path: Path, policy_folder: Path) -> None:
    runner = CliRunner()
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(water_type_case()) + "\n", "utf-8")
    store = str(tmp_path / "cases.db")
    base = ["--store", store, "--cases", str(cases), "--processes", str(policy_folder)]
    first = runner.invoke(
        main, ["watch", "--once", "--as-of", "2026-10-12T10:00", *base, "--format", "json"]
    )
    assert first.exit_code == 0, first.output
    assert len(json.loads(first.output)["recorded"]) == 3
    again = runner.invoke(
        main, ["watch", "--once", "--as-of", "2026-10-12T10:00", *base, "--lang", "zh"]
    )
    assert again.exit_code == 0 and "记录通知 0 条" in again.output
    added = runner.invoke(
        main,
        [
            "alerts",
            "silence",
            "add",
            "case_id=WT-1",
            "--by",
            "李主任",
            "--comment",
            "已电话督办",
            "--duration",
            "48",
            "--as-of",
            "2026-10-12T10:00",
            "--store",
            store,
            "--lang",
            "en",
        ],
    )
    assert added.exit_code == 0 and added.output.startswith("silence ")
    listed = runner.invoke(
        main, ["alerts", "silence", "list", "--store", store, "--format", "json"]
    )
    silence = json.loads(listed.output)[0]
    assert silence["matchers"] == {"case_id": ["WT-1"]} and silence["created_by"] == "李主任"
    muted = runner.invoke(
        main, ["watch", "--once", "--as-of", "2026-10-13T10:00", *base, "--format", "json"]
    )
    assert json.loads(muted.output)["recorded"] == []
    expired = runner.invoke(
        main,
        [
            "alerts",
            "silence",
            "expire",
            silence["id"],
            "--as-of",
            "2026-10-13T11:00",
            "--store",
            store,
        ],
    )
    assert expired.exit_code == 0
    told = runner.invoke(
        main, ["watch", "--once", "--as-of", "2026-10-13T11:30", *base, "--format", "json"]
    )
    assert len(json.loads(told.output)["recorded"]) >= 1
    listing = runner.invoke(main, ["alerts", "list", "--store", store, "--lang", "zh"])
    assert "WT-1" in listing.output and "red" in listing.output


def test_bad_policy_exits_2_without_a_traceback(tmp_path: Path, policy_folder: Path) -> None:
    (policy_folder / "alerts.yaml").write_text("levels: []\nroutes: []\nchannels: {}\n", "utf-8")
    result = CliRunner().invoke(
        main,
        [
            "watch",
            "--once",
            "--as-of",
            "2026-10-12T10:00",
            "--store",
            str(tmp_path / "c.db"),
            "--processes",
            str(policy_folder),
            "--cases",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "alerts.yaml:1:" in result.output and "Traceback" not in result.output


def test_silence_needs_an_end(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "alerts",
            "silence",
            "add",
            "case_id=X",
            "--by",
            "a",
            "--comment",
            "b",
            "--store",
            str(tmp_path / "c.db"),
        ],
    )
    assert result.exit_code == 2 and "--ends" in result.output


def test_lint_reads_alerts_yaml_and_its_channels(policy_folder: Path) -> None:
    text = (policy_folder / "alerts.yaml").read_text("utf-8")
    (policy_folder / "alerts.yaml").write_text(
        text.replace('rate_limit: "off"', 'rate_limit: "often"'), "utf-8"
    )
    result = CliRunner().invoke(main, ["lint", str(policy_folder), "--lang", "en"])
    assert result.exit_code == 2
    assert "alerts.yaml:" in result.output and "$.channels.hook" in result.output


def test_an_unreachable_store_is_exit_2(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-folder" / "c.db")
    for args in (["alerts", "list"], ["alerts", "silence", "list"]):
        result = CliRunner().invoke(main, [*args, "--store", missing])
        assert result.exit_code == 2 and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["watch", "--once", "--store", missing])
    assert result.exit_code == 2 and "Traceback" not in result.output
