"""All file reading: YAML and JSON documents with the line and column of every value.

Nothing here interprets a document; it only turns bytes into plain data plus a source map
(JSON path -> line, column), and turns parser failures into located errors.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import CaseError, Problem, ProcrulesError, SpecError, json_path

try:  # libyaml is about nine times faster; fall back to the pure-Python loader where absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """A parsed file: its data and where each value stands in it (1-based line and column)."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # where each mapping key itself is written (its value may start on the next line)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path_) -> tuple[int, int]:
        """The position of a path, or of its nearest ancestor that has one."""
        parts = tuple(path)
        while parts:
            if parts in self.positions:
                return self.positions[parts]
            parts = parts[:-1]
        return self.positions.get((), (1, 1))

    def problem_at(
        self,
        error: type[ProcrulesError],
        path: Path_,
        message: str,
        *,
        code: str | None = None,
        suggestion: str | None = None,
    ) -> ProcrulesError:
        line, column = self.where(path)
        return error.at(
            self.file,
            message,
            line=line,
            column=column,
            path=json_path(path),
            code=code,
            suggestion=suggestion,
        )


def read_text(path: Path, error: type[ProcrulesError]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error.at(str(path), "no such file", code="file_not_found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error.at(str(path), f"cannot read file: {exc}", code="file_unreadable") from exc


# Bounds on a policy file (issue 10: a 340-byte alias bomb once took 270 s and 2 GiB). Specs
# need none of YAML's object graph features, so tags, anchors, aliases and merge keys are refused
# outright while the events stream past, before anything is expanded.
MAX_YAML_BYTES = 4 * 1024 * 1024
MAX_YAML_DEPTH = 40
MAX_NUMBER_DIGITS = 30
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"


def read_policy_text(path: Path) -> str:
    """A policy file's text: a regular file of bounded size (never a FIFO or a device)."""
    try:
        if path.exists() and not path.is_file():
            raise SpecError.at(str(path), "not a regular file", code="file_unreadable")
        size = path.stat().st_size if path.exists() else 0
    except OSError as exc:
        raise SpecError.at(str(path), f"cannot read file: {exc}", code="file_unreadable") from exc
    if size > MAX_YAML_BYTES:
        raise SpecError.at(
            str(path),
            f"file larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB",
            code="file_too_large",
        )
    return read_text(path, SpecError)


def load_yaml(path: Path, text: str | None = None) -> Document:
    """Parse one YAML file. Timestamps stay strings: the schema decides what a date is.

    Refused, each with its line and column: tags (`!!python/...`, `!foo`), anchors and aliases,
    merge keys (`<<`), nesting deeper than MAX_YAML_DEPTH, integers longer than
    MAX_NUMBER_DIGITS, and a key written with a full-width colon. Parser errors for the common
    slips (a tab, an unquoted colon in a value, a wrong indent, an unclosed quote or bracket)
    become a message that says how to write it."""
    file = str(path)
    text = read_policy_text(path) if text is None else text
    loader = _Loader(text)
    try:
        builder = _Builder(loader, file)
        data, positions = builder.document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if "\uff1a" in text:  # a key written `version： 1` often shows up as a later error
            _full_width_colon(file, text, mark.line + 1 if mark else None)
        raise _syntax_error(file, text, exc) from exc
    except yaml.YAMLError as exc:
        raise SpecError.at(file, f"YAML syntax error: {exc}", code="yaml_syntax") from exc
    finally:
        loader.dispose()
    return Document(file, data, positions, builder.keys)


class _Builder:
    """Plain data and a source map straight from the parser's events: no node graph, so nothing
    an alias could multiply is ever built."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader: Any = loader  # PyYAML's parser methods are untyped
        self.file = file
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}

    def document(self) -> tuple[Any, dict[Path_, tuple[int, int]]]:
        loader = self.loader
        loader.get_event()  # StreamStart
        if loader.check_event(yaml.StreamEndEvent):
            return None, self.positions
        loader.get_event()  # DocumentStart
        data = self.value(loader.get_event(), (), 0)
        loader.get_event()  # DocumentEnd
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            raise self.fail(event, "more than one YAML document ('---'): keep one", "yaml_syntax")
        return data, self.positions

    def fail(self, event: yaml.Event, message: str, code: str, path: Path_ = ()) -> SpecError:
        mark: Any = event.start_mark
        return SpecError(
            [Problem(self.file, mark.line + 1, mark.column + 1, code, message, json_path(path))]
        )

    def refuse_features(self, event: yaml.Event, path: Path_) -> None:
        if isinstance(event, yaml.AliasEvent):
            raise self.fail(
                event,
                f"YAML alias '*{event.anchor}' is not allowed: write the value out in full here",
                "yaml_alias",
                path,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise self.fail(
                event,
                f"YAML anchor '&{anchor}' is not allowed: write the value out where it is used",
                "yaml_anchor",
                path,
            )
        tag = getattr(event, "tag", None)
        if tag is not None and not (isinstance(event, yaml.ScalarEvent) and tag == "!"):
            raise self.fail(
                event,
                f"YAML tag '{_short_tag(tag)}' is not allowed: write the plain value",
                "yaml_tag",
                path,
            )

    def value(self, event: yaml.Event, path: Path_, depth: int) -> Any:
        self.refuse_features(event, path)
        mark: Any = event.start_mark
        self.positions[path] = (mark.line + 1, mark.column + 1)
        if isinstance(event, yaml.ScalarEvent):
            return self.scalar(event, path)
        if depth >= MAX_YAML_DEPTH:
            raise self.fail(
                event, f"nested deeper than {MAX_YAML_DEPTH} levels", "yaml_depth", path
            )
        loader = self.loader
        if isinstance(event, yaml.SequenceStartEvent):
            items: list[Any] = []
            while not loader.check_event(yaml.SequenceEndEvent):
                items.append(self.value(loader.get_event(), path + (len(items),), depth + 1))
            loader.get_event()
            return items
        out: dict[str, Any] = {}
        while not loader.check_event(yaml.MappingEndEvent):
            key_event = loader.get_event()
            self.refuse_features(key_event, path)
            if not isinstance(key_event, yaml.ScalarEvent):
                raise self.fail(
                    key_event, "a key must be a plain word, not a list or mapping", "yaml_key", path
                )
            if key_event.implicit[0] and self.tag_of(key_event) == _MERGE:
                raise self.fail(
                    key_event,
                    "merge keys ('<<') are not allowed: write each key of the mapping out "
                    "in full here",
                    "yaml_merge_key",
                    path,
                )
            raw = self.scalar(key_event, path)
            key = raw if isinstance(raw, str) else str(raw)
            if key in out:
                raise self.fail(
                    key_event, f"key '{key}' appears twice", "duplicate_key", path + (key,)
                )
            start: Any = key_event.start_mark
            self.keys[path + (key,)] = (start.line + 1, start.column + 1)
            out[key] = self.value(loader.get_event(), path + (key,), depth + 1)
        loader.get_event()
        return out

    def tag_of(self, event: yaml.ScalarEvent) -> str:
        tag: str = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        return tag

    def scalar(self, event: yaml.ScalarEvent, path: Path_) -> Any:
        value = event.value
        if not event.implicit[0]:
            return value  # quoted: always a string
        if "\uff1a" in value and _FULL_WIDTH_START.match(value):
            mark: Any = event.start_mark  # `b： 1` read as the text 'b： 1' where a key was meant
            _full_width_colon(self.file, value, None, mark.line, mark.column)
        tag = self.tag_of(event)
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return self.loader.bool_values[value.lower()]
        if tag in (_INT, _FLOAT):
            digits = sum(c.isdigit() for c in value)
            if digits > MAX_NUMBER_DIGITS:
                raise self.fail(
                    event,
                    f"a number with {digits} digits (at most {MAX_NUMBER_DIGITS}): "
                    "put it in quotes if it is text",
                    "yaml_number",
                    path,
                )
            node = yaml.ScalarNode(tag, value)
            if tag == _INT:
                return self.loader.construct_yaml_int(node)
            return self.loader.construct_yaml_float(node)
        return value  # str, timestamps (the schema decides what a date is), anything else


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:") :] if tag.startswith("tag:yaml.org,2002:") else tag


_FULL_WIDTH_KEY = re.compile(
    r"^(\s*(?:-\s+)?)([A-Za-z0-9_][A-Za-z0-9_.@-]*)\s*\uff1a", re.MULTILINE
)
_FULL_WIDTH_START = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]*\s*\uff1a")


def _full_width_colon(
    file: str, text: str, upto: int | None, line_offset: int = 0, column_offset: int = 0
) -> None:
    """Raise for the first `key：` in `text` (on or before line `upto`, when given)."""
    m = _FULL_WIDTH_KEY.search(text)
    if m is None:
        return
    line = text.count("\n", 0, m.start()) + 1
    if upto is not None and line > upto:
        return
    column = m.end() - (text.rfind("\n", 0, m.start()) + 1)
    key = m.group(2)
    raise SpecError.at(
        file,
        f"full-width colon '\uff1a' after '{key}': write an ASCII colon and a space, '{key}: ...'",
        line=line + line_offset,
        column=column + (column_offset if line == 1 else 0),
        code="yaml_syntax",
    )


_KEY_BEFORE = re.compile(r"^\s*(?:-\s+)?([^\s:#'\"][^:#]*?):\s+\S")


def _syntax_error(file: str, text: str, exc: yaml.MarkedYAMLError) -> ProcrulesError:
    """A parser error as a clerk can fix it: what is wrong and how to write it, with where."""
    problem = exc.problem or ""
    context = exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    lines = text.split("\n")
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    char = here[column - 1] if 0 < column <= len(here) else ""
    opened = exc.context_mark
    if "tab" in problem or char == "\t":
        message = "a tab character: indent with spaces, never tabs"
    elif "quoted scalar" in context and opened is not None:
        line, column = opened.line + 1, opened.column + 1
        quote = lines[line - 1][column - 1] if line <= len(lines) else '"'
        message = f"the quote {quote} opened here is never closed: end the text with {quote}"
    elif "flow sequence" in context and opened is not None:
        line, column = opened.line + 1, opened.column + 1
        message = "the '[' opened here is never closed: end the list with ']'"
    elif "flow mapping" in context and opened is not None:
        line, column = opened.line + 1, opened.column + 1
        message = "the '{' opened here is never closed: end the mapping with '}'"
    elif "mapping values are not allowed" in problem and _KEY_BEFORE.match(here[: column - 1]):
        key = _KEY_BEFORE.match(here[: column - 1]).group(1).strip()  # type: ignore[union-attr]
        message = (
            f"the value of '{key}' contains ': ': put the whole value in quotes, {key}: \"...\""
        )
    elif (
        "mapping values are not allowed" in problem
        or "did not find expected key" in problem
        or "expected '-' indicator" in problem
        or "could not find expected ':'" in problem
    ):
        message = (
            "this line is not indented like the lines above it: keys of one mapping start "
            "in the same column (two spaces a level)"
        )
    else:
        message = f"YAML syntax error: {problem or exc}"
    return SpecError.at(file, message, line=line, column=column, code="yaml_syntax")


def parse_json(text: str, file: str) -> Any:
    """Parse a JSON case; a syntax error names the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError.at(
            file,
            f"malformed JSON: {exc.msg}",
            line=exc.lineno,
            column=exc.colno,
            code="json_syntax",
        ) from exc


def load_json(path: Path) -> Any:
    return parse_json(read_text(path, CaseError), str(path))
