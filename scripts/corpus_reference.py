"""Record, or compare against, the reference output of the case corpus (tests/corpus.py).

    python scripts/corpus_reference.py            # compare: list the cases whose output moved
    python scripts/corpus_reference.py --write    # rewrite tests/corpus/reference.json, on purpose
    python scripts/corpus_reference.py --dump DIR # every case's full output, one file each

The reference is a hash per case (of its input and of its output: the JSON report and the text
report and explain, in Chinese and English). Rewrite it only when a report is meant to change,
from the code whose output is the reference.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from procrules import Checker  # noqa: E402
from tests.corpus import REFERENCE, fingerprints, items, output, variant_policy  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the reference")
    parser.add_argument("--dump", type=Path, help="write every case's output into this folder")
    args = parser.parse_args()
    checker = Checker.load(ROOT / "processes")
    with tempfile.TemporaryDirectory() as tmp:
        return run(args, checker, Checker.load(variant_policy(Path(tmp))))


def run(args: argparse.Namespace, checker: Checker, variant: Checker) -> int:
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for item in items(checker, variant):
            name = item.key.replace("/", "__").replace(":", "_")
            (args.dump / f"{name}.txt").write_text(
                json.dumps(item.case, ensure_ascii=False)
                + f"\nas_of {item.as_of}\n"
                + output(variant if item.key.startswith("counting/") else checker, item),
                "utf-8",
            )
        return 0
    got = fingerprints(checker, variant)
    if args.write:
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        REFERENCE.write_text(json.dumps(got, indent=0, sort_keys=True) + "\n", "utf-8")
        print(f"{len(got)} cases written to {REFERENCE.relative_to(ROOT)}")
        return 0
    want = json.loads(REFERENCE.read_text("utf-8"))
    moved = [k for k in got if k in want and got[k] != want[k]]
    for key in moved:
        what = "input" if got[key][0] != want[key][0] else "output"
        print(f"{key}: {what} differs")
    new = len(set(got) - set(want))
    print(f"{len(got)} cases, {len(moved)} differ, {new} not in the reference")
    return 1 if moved else 0


if __name__ == "__main__":
    raise SystemExit(main())
