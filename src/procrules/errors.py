"""One error hierarchy for everything procrules refuses to judge (exit code 2).

A business "no" is a finding in the report, never one of these. Each error has a stable code, a
message, and as much of a location as is known: file, line, column and JSON path.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field

# The input being read or judged right now, for the message of an unforeseen error.
current_input: ContextVar[str | None] = ContextVar("procrules_current_input", default=None)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest known name to a mistyped one, or None when nothing is close (or when the
    word is too long to be a slip of the hand: matching is quadratic in its length)."""
    if len(word) > 100:
        return None
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def json_path(parts: Iterable[str | int]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True, order=True)
class Problem:
    """One fault at one place; sorts by file, line and column."""

    file: str
    line: int
    column: int
    code: str
    message: str
    path: str = "$"
    suggestion: str | None = field(default=None, compare=False)
    severity: str = field(default="error", compare=False)
    # the message in Chinese when it is built in both languages at once (else from patterns)
    message_zh: str | None = field(default=None, compare=False)

    def render(self, lang: str = "en") -> str:
        from .messages import localise

        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}"
        severity = (
            {"warning": "提醒", "info": "提示"}.get(self.severity, self.severity)
            if lang == "zh"
            else self.severity
        )
        code = self.code if self.severity == "error" else f"{self.code} ({severity})"
        own_zh = lang == "zh" and bool(self.message_zh)
        message = (self.message_zh or "") if own_zh else self.message
        if len(message) > MAX_MESSAGE_CHARS:  # a message never echoes a whole hostile value
            message = message[:MAX_MESSAGE_CHARS] + "…"
        text = f"{where}: {code}: {message if own_zh else localise(message, lang)}"
        if self.suggestion:
            text += (
                f"（是否应为 '{self.suggestion}'？）"
                if lang == "zh"
                else f" (did you mean '{self.suggestion}'?)"
            )
        return f"{text}，位于 {self.path}" if lang == "zh" else f"{text} at {self.path}"


MAX_PROBLEMS = 100  # shown at once; the rest are counted


class ProcrulesError(Exception):
    """Base of every error that makes a command exit 2."""

    code = "error"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(p.render() for p in self.problems))

    def render(self, lang: str = "en") -> str:
        lines = [p.render(lang) for p in self.problems[:MAX_PROBLEMS]]
        more = len(self.problems) - MAX_PROBLEMS
        if more > 0:
            lines.append(f"（另有 {more} 个问题未列出）" if lang == "zh" else f"(and {more} more)")
        return "\n".join(lines)

    @classmethod
    def at(
        cls,
        file: str,
        message: str,
        *,
        line: int = 0,
        column: int = 0,
        path: str = "$",
        code: str | None = None,
        suggestion: str | None = None,
    ) -> ProcrulesError:
        return cls([Problem(file, line, column, code or cls.code, message, path, suggestion)])


class SpecError(ProcrulesError):
    """A process spec, the tariff, the catalogue or a calendar file does not validate."""

    code = "spec_error"


class CaseError(ProcrulesError):
    """An application (case) cannot be read or does not match the application schema."""

    code = "case_error"


class UsageError(ProcrulesError):
    """The command line asks for something that cannot be done (unknown process, bad time)."""

    code = "usage_error"


class InternalError(ProcrulesError):
    """Something went wrong inside procrules while judging an input: the input could not be
    judged (exit 2), the original exception is chained as __cause__. Never a verdict."""

    code = "internal_error"

    @classmethod
    def wrap(cls, exc: BaseException, file: str) -> InternalError:
        from .limits import excerpt

        detail = excerpt(str(exc), 120)
        what = type(exc).__name__ + (f": {detail}" if detail else "")
        error = cls([Problem(file, 0, 0, cls.code, f"could not judge ({what})")])
        error.__cause__ = exc
        return error
