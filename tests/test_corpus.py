"""The reports of a few thousand cases stay byte for byte what tests/corpus/reference.json
recorded: every example, acceptance case and spec test, and seeded variants of each flow, on
the shipped specs and on a copy whose deadlines pause, count working hours and follow the other
counting rules (see tests/corpus.py). A speed-up must not move a single character; a change of
wording or behaviour rewrites the reference on purpose:
`python scripts/corpus_reference.py --write`."""

from __future__ import annotations

import json
from pathlib import Path

from procrules import Checker

from .corpus import REFERENCE, VARIANTS_PER_FLOW, fingerprints, variant_policy


def test_corpus_reports_unchanged(checker: Checker, tmp_path: Path) -> None:
    want = json.loads(REFERENCE.read_text("utf-8"))
    got = fingerprints(checker, Checker.load(variant_policy(tmp_path)))
    assert len(got) >= 7 * VARIANTS_PER_FLOW
    missing = sorted(set(want) - set(got) - {k for k in want if k.startswith("acceptance/")})
    assert not missing, f"cases of the reference no longer generated: {missing[:10]}"
    inputs = [k for k in got if k in want and got[k][0] != want[k][0]]
    assert not inputs, (
        f"{len(inputs)} generated cases changed (e.g. {inputs[:5]}): the corpus generator or the "
        "specs moved; rewrite the reference on purpose"
    )
    moved = [k for k in got if k in want and got[k][1] != want[k][1]]
    assert not moved, (
        f"{len(moved)} of {len(got)} reports differ from the reference, e.g. {moved[:10]}; "
        "see `python scripts/corpus_reference.py --dump DIR`"
    )
