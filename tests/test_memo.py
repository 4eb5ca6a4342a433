"""The engine's memo of calendar arithmetic is an optimisation only: a copy of it (pickled for
another process) starts empty, since its keys name deadlines by id; a memo that fills up starts
afresh; the reports stay the same."""

from __future__ import annotations

import json
import pickle
from copy import deepcopy

import pytest

from procrules import Checker, sla
from procrules.report import report_to_dict

from .conftest import PROCESSES

AS_OF = "2026-10-12T09:00:00+08:00"


def reports(checker: Checker) -> list[str]:
    out = []
    for path in sorted((PROCESSES / "examples").glob("*.json")):
        report = checker.check(path, as_of=AS_OF)
        out.append(json.dumps(report_to_dict(report, "en"), ensure_ascii=False))
    return out


def test_a_copied_memo_starts_empty(checker: Checker) -> None:
    reports(checker)
    memo = checker.engine.memo
    assert memo.due and memo.left, "the examples fill the memo"
    for copy in (pickle.loads(pickle.dumps(memo)), deepcopy(memo)):
        assert not copy.due and not copy.left


def test_a_full_memo_starts_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = Checker.load(PROCESSES)
    want = reports(Checker.load(PROCESSES))
    monkeypatch.setattr(sla, "MEMO_LIMIT", 2)
    assert reports(fresh) == want == reports(fresh)
    assert len(fresh.engine.memo.due) <= 2 and len(fresh.engine.memo.left) <= 2
