from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from procrules import Checker

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output (on purpose, never in CI)",
    )


PROCESSES = ROOT / "processes"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def checker() -> Checker:
    return Checker.load(PROCESSES)


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped specs, for tests that break or change them."""
    target = tmp_path / "processes"
    shutil.copytree(PROCESSES, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their language with --lang; the machine's locale must not choose for them."""
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(autouse=True, scope="session")
def private_parse_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The parse cache (cache.py) of the test run lives in a temporary folder, not the user's."""
    import os

    os.environ["PROCRULES_CACHE"] = str(tmp_path_factory.mktemp("procrules-cache"))
