"""The decision log: one JSON line per decision, with personal data masked before it is written.

Masks are JSON paths into the logged record (`$.input.customer.name`, `$.input..phone` for a key
at any depth, `[*]` for every item); by default the customer's name, and ID numbers and phone
numbers both under their usual keys and wherever they appear inside text (PIPL).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import UsageError

MASK = "***"
DEFAULT_MASKS = (
    "$.input.customer.name",
    "$.input..name",
    "$.input..contact",
    "$.input..id_number",
    "$.input..id_card",
    "$.input..phone",
    "$.input..mobile",
    "$.input..telephone",
)
# Resident ID numbers (18 characters, the last a digit or X) and mainland mobile numbers, found
# inside any text of the input (a note, a free-form fact).
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_SEGMENT = re.compile(r"\.\.([^.\[\]]+)|\.([^.\[\]]+)|\[(\*|\d+)\]")


def parse_mask(path: str) -> list[tuple[str, str]]:
    """A mask path as steps: ("key", k), ("any", k) for ..k, ("index", n), ("all", "*")."""
    if not path.startswith("$"):
        raise UsageError.at("--mask", f"'{path}' is not a JSON path starting with $")
    steps: list[tuple[str, str]] = []
    pos = 1
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None:
            raise UsageError.at("--mask", f"'{path}' is not a JSON path (at character {pos})")
        if m.group(1):
            steps.append(("any", m.group(1)))
        elif m.group(2):
            steps.append(("key", m.group(2)))
        else:
            steps.append(("all", "*") if m.group(3) == "*" else ("index", m.group(3)))
        pos = m.end()
    return steps


def _apply(node: Any, steps: list[tuple[str, str]], here: str, hits: list[str]) -> Any:
    if not steps:
        hits.append(here)
        return MASK
    kind, arg = steps[0]
    rest = steps[1:]
    if kind == "key" and isinstance(node, dict) and arg in node:
        node[arg] = _apply(node[arg], rest, f"{here}.{arg}", hits)
    elif kind == "index" and isinstance(node, list) and int(arg) < len(node):
        i = int(arg)
        node[i] = _apply(node[i], rest, f"{here}[{i}]", hits)
    elif kind == "all":
        if isinstance(node, list):
            for i, item in enumerate(node):
                node[i] = _apply(item, rest, f"{here}[{i}]", hits)
        elif isinstance(node, dict):
            for k in list(node):
                node[k] = _apply(node[k], rest, f"{here}.{k}", hits)
    elif kind == "any":
        if isinstance(node, dict):
            for k in list(node):
                if k == arg:
                    node[k] = _apply(node[k], rest, f"{here}.{k}", hits)
                else:
                    node[k] = _apply(node[k], steps, f"{here}.{k}", hits)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                node[i] = _apply(item, steps, f"{here}[{i}]", hits)
    return node


def _scrub_text(node: Any, here: str, hits: list[str]) -> Any:
    if isinstance(node, str):
        masked = _MOBILE.sub(MASK, _ID_NUMBER.sub(MASK, node))
        if masked != node:
            hits.append(here)
        return masked
    if isinstance(node, dict):
        return {k: _scrub_text(v, f"{here}.{k}", hits) for k, v in node.items()}
    if isinstance(node, list):
        return [_scrub_text(v, f"{here}[{i}]", hits) for i, v in enumerate(node)]
    return node


class Masker:
    def __init__(self, paths: Iterable[str] = DEFAULT_MASKS, scrub_text: bool = True) -> None:
        self.paths = list(paths)
        self.steps = [parse_mask(p) for p in self.paths]
        self.scrub_text = scrub_text

    def mask(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """A masked deep copy of the record, and the paths that were masked."""
        copy: dict[str, Any] = json.loads(json.dumps(record, default=str))
        hits: list[str] = []
        for steps in self.steps:
            _apply(copy, steps, "$", hits)
        if self.scrub_text and "input" in copy:
            copy["input"] = _scrub_text(copy["input"], "$.input", hits)
        return copy, sorted(set(hits))


class DecisionLog:
    """Appends masked decisions to a JSON Lines file; safe to call from several threads."""

    def __init__(self, path: Path, masker: Masker) -> None:
        self.path = path
        self.masker = masker
        self.written = 0
        self._lock = threading.Lock()
        try:
            self._file = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError.at(
                str(path), f"cannot write the decision log: {exc.strerror}"
            ) from exc

    def write(self, record: dict[str, Any]) -> None:
        masked, hits = self.masker.mask(record)
        if hits:
            masked["masked"] = hits
        line = json.dumps(masked, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            self.written += 1

    def close(self) -> None:
        with self._lock:
            self._file.close()
