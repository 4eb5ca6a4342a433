"""A flow walk looked up by its shape (flow.Shape) is the walk done afresh: the same steps done,
implied, broken and open, from the same times, and the same findings in the same order, for
every case of the corpus (tests/corpus.py), judged after all the others have filled the memo."""

from __future__ import annotations

from pathlib import Path

from procrules import Checker
from procrules.api import resolve_as_of, validate_case
from procrules.errors import ProcrulesError
from procrules.flow import walk

from .corpus import items, variant_policy


def test_walks_replayed_from_their_shape_equal_fresh_walks(
    checker: Checker, tmp_path: Path
) -> None:
    variant = Checker.load(variant_policy(tmp_path))
    cases = list(items(checker, variant))
    shapes: dict = {}
    compared = replayed = 0
    for round_ in (1, 2):  # the second round finds every order of events in the memo
        for item in cases:
            judge_with = variant if item.key.startswith("counting/") else checker
            try:
                judgement = judge_with.engine.judge(
                    validate_case(item.case, item.key), resolve_as_of(item.as_of), item.key
                )
                judgement.read_customer()
                judgement.read_facts()
                judgement.read_documents()
                judgement.read_events()
                judgement.derive()
            except ProcrulesError:
                continue
            before = len(judgement.found.items)
            reported = set(judgement.found.missing_reported)
            fresh = walk(judgement.process, judgement.events, judgement.applies, judgement.holds)
            fresh_findings = judgement.found.items[before:]
            del judgement.found.items[before:]
            judgement.found.missing_reported = reported
            known = sum(map(len, shapes.values()))
            memo = walk(
                judgement.process, judgement.events, judgement.applies, judgement.holds, shapes
            )
            assert memo == fresh, item.key
            assert judgement.found.items[before:] == fresh_findings, item.key
            compared += 1
            replayed += round_ == 2 and sum(map(len, shapes.values())) == known
    assert compared > 3000
    assert replayed > 1000  # most walks of the second round came from a shape


def test_a_position_worked_out_when_read_compares_as_built(checker: Checker) -> None:
    import json

    from procrules.flow import Position

    case = json.loads((checker.folder / "examples" / "household_meter.json").read_text("utf-8"))
    as_of = resolve_as_of("2026-10-12T09:00+08:00")
    checker.check(case, as_of)  # the walk's shape is in the memo now
    report, again = checker.check(case, as_of), checker.check(case, as_of)
    assert again == report  # compared: both positions worked out
    position = report.position
    assert position is not None
    built = Position(
        position.done,
        position.missing,
        position.open,
        position.ended,
        position.ended_at,
        position.roles,
        position.role_labels,
    )
    assert built == position and again.position == built
    assert [d.step.id for d in position.done] and position.open and position.role_labels
