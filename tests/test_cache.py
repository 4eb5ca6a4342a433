"""The parse cache: a hit gives the same document as a parse, an edit is never served stale,
and any trouble with the cache folder is a miss, never an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from procrules import Checker
from procrules.cache import cache_dir, load_policy_yaml
from procrules.errors import SpecError
from procrules.source import load_yaml

from .conftest import PROCESSES, edit


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PROCRULES_CACHE", str(folder))
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.marshal"))


def test_a_hit_equals_a_parse(cache: Path) -> None:
    for file in sorted(PROCESSES.glob("*.yaml")):
        first = load_policy_yaml(file)
        second = load_policy_yaml(file)  # from the cache
        parsed = load_yaml(file)
        assert (second.data, second.positions) == (parsed.data, parsed.positions)
        assert (first.data, first.positions) == (parsed.data, parsed.positions)
        assert second.file == str(file)
    assert len(entries(cache)) == len(list(PROCESSES.glob("*.yaml")))


def test_an_edit_is_never_served_stale(cache: Path, spec_copy: Path) -> None:
    file = spec_copy / "water_type_change.yaml"
    before = load_policy_yaml(file)
    edit(file, "within: 4 working days", "within: 5 working days")
    after = load_policy_yaml(file)
    assert after.data != before.data
    assert after.data == load_yaml(file).data
    assert len(entries(cache)) == 2


def test_errors_are_not_cached_and_keep_their_place(cache: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SpecError) as caught:
            load_policy_yaml(bad)
        assert caught.value.problems[0].code == "yaml_syntax"
    assert entries(cache) == []


def test_a_corrupt_entry_is_a_miss(cache: Path) -> None:
    file = PROCESSES / "catalog.yaml"
    load_policy_yaml(file)
    for entry in entries(cache):
        entry.write_bytes(b"\x00garbage")
    assert load_policy_yaml(file).data == load_yaml(file).data


def test_an_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PROCRULES_CACHE", str(blocker / "cache"))
    assert Checker.load(PROCESSES).specs.processes


def test_off_means_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCRULES_CACHE", "off")
    assert cache_dir() is None
    assert load_policy_yaml(PROCESSES / "rules.yaml").data
    monkeypatch.delenv("PROCRULES_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    if sys.platform.startswith("linux"):
        assert cache_dir() == Path("/somewhere/procrules")


def test_a_warm_check_imports_no_yaml(cache: Path) -> None:
    """The cold-start promise: with the cache warm, `check` never imports PyYAML, and only the
    command's own modules are loaded."""
    example = PROCESSES / "examples" / "water_type_change.json"
    probe = (
        "import sys\n"
        "from procrules.cli import main\n"
        "try:\n"
        f"    main(['check', {str(example)!r}, '--as-of', '2026-10-09T09:00:00+08:00'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ['yaml', 'procrules.explain', 'procrules.diagram', 'procrules.guide',"
        " 'procrules.spec.analysis', 'procrules.spectest', 'holidays']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = dict(os.environ, PROCRULES_CACHE=str(cache))
    for _ in range(2):  # the first run fills the cache
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
        )
    assert out.stdout.strip().splitlines()[-1] == "[]"
