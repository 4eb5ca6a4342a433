"""The policy revision names exactly the content that was loaded: each file of the folder is
read once, and the revision hashes those bytes (an editor saving a file while the folder loads
cannot give a set whose revision names other content)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

import procrules.spec.compile as compile_module
from procrules.alerts.policy import load_alert_policy
from procrules.api import Checker
from procrules.spec.compile import load_specs, policy_revision, shipped_processes_dir


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "processes"
    shutil.copytree(shipped_processes_dir(), target, ignore=shutil.ignore_patterns("examples"))
    return target


def _edit_after_read(
    monkeypatch: pytest.MonkeyPatch, name: str, old: str, new: str
) -> dict[str, int]:
    """Rewrite `name` on disk right after the loader has read it (as an editor saving mid-load)."""
    real = compile_module.read_policy_bytes
    reads: dict[str, int] = {}

    def read_then_edit(path: Path) -> bytes:
        data = real(path)
        reads[path.name] = reads.get(path.name, 0) + 1
        if path.name == name and reads[name] == 1:
            text = path.read_text("utf-8")
            assert old in text
            path.write_text(text.replace(old, new), "utf-8")
        return data

    monkeypatch.setattr(compile_module, "read_policy_bytes", read_then_edit)
    return reads


def test_an_edit_during_the_load_does_not_reach_the_revision(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tmp_path / "before"
    shutil.copytree(folder, before)
    reads = _edit_after_read(monkeypatch, "water_type_change.yaml", "用水性质变更", "用水性质更改")
    specs = load_specs(folder)
    assert set(reads.values()) == {1}  # every file read once
    assert specs.processes["water_type_change"].label.zh == "用水性质变更"  # what was read
    assert specs.revision == policy_revision(before)  # names that content
    assert specs.revision != policy_revision(folder)  # not the file as it is now
    monkeypatch.undo()
    assert load_specs(folder).revision == policy_revision(folder)


def test_calendar_and_alerts_are_parsed_from_the_bytes_the_revision_names(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = "closures: [{date: 2026-12-31, name: 年终盘点}]"
    _edit_after_read(monkeypatch, "calendar.yaml", "closures: []", closed)
    checker = Checker.load(folder)
    assert checker.calendar.is_working_day(dt.date(2026, 12, 31))  # the calendar that was read
    monkeypatch.undo()
    assert not Checker.load(folder).calendar.is_working_day(dt.date(2026, 12, 31))
    red = "name: {zh: 红牌, en: Red card}"
    _edit_after_read(monkeypatch, "alerts.yaml", red, "name: {zh: 红色, en: Red}")
    specs = load_specs(folder)
    assert load_alert_policy(specs).levels[0].name.zh == "红牌"
