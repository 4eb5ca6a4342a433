"""Limits on what one input may hold, so that no case can exhaust memory, time or the stack.

Read by source.py (bytes, depth, strings, digits) and by the engine (numbers, amounts, times).
Each limit has a documented default (docs/limits.md) and may be changed by an environment
variable PROCRULES_MAX_<NAME> (e.g. PROCRULES_MAX_CASE_BYTES=20000000) or by passing a `Limits`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from decimal import Decimal

ENV_PREFIX = "PROCRULES_MAX_"


@dataclass(frozen=True)
class Limits:
    """The bounds on one case; every field is a count of bytes, levels, items or digits."""

    case_bytes: int = 1024 * 1024  # one case file, or standard input (a real case is a few KiB)
    line_bytes: int = 1024 * 1024  # one line of a JSON Lines file
    depth: int = 32  # nesting of arrays and objects
    events: int = 5000
    documents: int = 500
    facts: int = 500
    string_chars: int = 10_000  # one string value or key
    number_digits: int = 40  # digits in one number, before and after the point

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """The defaults, with any PROCRULES_MAX_<FIELD> set to a positive whole number."""
        env = os.environ if environ is None else environ
        changes: dict[str, int] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            if not raw.strip().isascii() or not raw.strip().isdigit() or int(raw) <= 0:
                from .errors import UsageError

                raise UsageError.at(
                    ENV_PREFIX + f.name.upper(),
                    f"'{raw[:40]}' is not a positive whole number",
                    code="usage_error",
                )
            changes[f.name] = int(raw)
        return replace(cls(), **changes)


DEFAULT = Limits()

# Numbers in facts and amounts: finite decimals of at most this magnitude (a thousand trillion
# yuan is beyond any water bill; the bound keeps every product and sum exact in 28 digits).
MAX_NUMBER = Decimal("1e15")
# Times a case may name: the calendar itself covers far less; this bound only keeps date
# arithmetic (offsets, due dates years ahead) clear of the limits of Python's datetime.
MIN_YEAR, MAX_YEAR = 1900, 2200
# Durations a spec may give: at most ten years, in any unit.
MAX_DURATION = {
    "working_days": 2500,
    "working_hours": 20_000,
    "calendar_days": 3660,
    "weeks": 522,
    "months": 120,
    "hours": 87_840,
}
EXCERPT_CHARS = 60  # the most of an offending value a message quotes


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable quotation of a value: cut to `limit` characters, controls escaped."""
    text = value if isinstance(value, str) else repr(value)
    cut = len(text) > limit
    text = text[:limit]
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text + ("…" if cut else "")
