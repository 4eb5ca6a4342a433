"""All file reading: YAML and JSON documents with the line and column of every value.

Nothing here interprets a document; it only turns bytes into plain data plus a source map
(JSON path -> line, column), and turns parser failures into located errors.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CaseError, Problem, ProcrulesError, SpecError, current_input, json_path
from .limits import DEFAULT, Limits, excerpt

if TYPE_CHECKING:
    import yaml

# PyYAML is imported on first use, not with this module: a command whose policy files come from
# the parse cache (cache.py) never needs it, and it is a good part of a cold start.

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


SPEC_MAX_BYTES = 4 * 1024 * 1024  # one spec, catalogue or calendar file


def read_bytes(path: Path, error: type[ProcrulesError], max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`. A FIFO, a device such as /dev/zero or
    a folder is refused at once (opened without blocking, checked before anything is read)."""
    file = str(path)
    current_input.set(file)  # named by an unforeseen error while this input is in hand
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error.at(file, "no such file", code="file_not_found") from None
    except IsADirectoryError:
        raise error.at(file, "not a regular file", code="file_unreadable") from None
    except OSError as exc:
        raise error.at(
            file, f"cannot read file: {exc.strerror or exc}", code="file_unreadable"
        ) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error.at(file, "not a regular file", code="file_unreadable")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise error.at(
            file, f"cannot read file: {exc.strerror or exc}", code="file_unreadable"
        ) from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise error.at(file, f"larger than {max_bytes} bytes", code="input_too_large")
    return data


def read_text(path: Path, error: type[ProcrulesError], max_bytes: int = SPEC_MAX_BYTES) -> str:
    data = read_bytes(path, error, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _byte_position(data, exc.start)
        raise error.at(
            str(path),
            f"bad UTF-8 byte 0x{data[exc.start]:02x}",
            line=line,
            column=column,
            code="file_unreadable",
        ) from None


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


def read_policy_bytes(path: Path) -> bytes:
    """A policy file's bytes, read once: a regular file of bounded size (never a FIFO or a
    device). What is parsed and what the policy revision hashes are these same bytes."""
    try:
        if path.exists() and not path.is_file():
            raise SpecError.at(str(path), "not a regular file", code="file_unreadable")
        with path.open("rb") as f:
            data = f.read(MAX_YAML_BYTES + 1)
    except FileNotFoundError:
        raise SpecError.at(str(path), "no such file", code="file_not_found") from None
    except OSError as exc:
        raise SpecError.at(str(path), f"cannot read file: {exc}", code="file_unreadable") from exc
    if len(data) > MAX_YAML_BYTES:
        raise SpecError.at(
            str(path),
            f"file larger than {MAX_YAML_BYTES // (1024 * 1024)} MiB",
            code="file_too_large",
        )
    return data


def policy_text(path: Path, data: bytes) -> str:
    """The text of a policy file's bytes (UTF-8; a byte order mark is allowed)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError.at(str(path), f"cannot read file: {exc}", code="file_unreadable") from exc


def read_policy_text(path: Path) -> str:
    """A policy file's text: a regular file of bounded size (never a FIFO or a device)."""
    return policy_text(path, read_policy_bytes(path))


def load_yaml(path: Path, text: str | None = None) -> Document:
    """Parse one YAML file. Timestamps stay strings: the schema decides what a date is.

    Refused, each with its line and column: tags (`!!python/...`, `!foo`), anchors and aliases,
    merge keys (`<<`), nesting deeper than MAX_YAML_DEPTH, integers longer than
    MAX_NUMBER_DIGITS, and a key written with a full-width colon. Parser errors for the common
    slips (a tab, an unquoted colon in a value, a wrong indent, an unclosed quote or bracket)
    become a message that says how to write it."""
    import yaml

    file = str(path)
    text = read_policy_text(path) if text is None else text
    loader = _loader_class()(text)
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


def _loader_class() -> type[yaml.SafeLoader]:
    import yaml

    # libyaml is about nine times faster; fall back to the pure-Python loader where absent
    fast: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
    return fast or yaml.SafeLoader


class _Builder:
    """Plain data and a source map straight from the parser's events: no node graph, so nothing
    an alias could multiply is ever built."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader: Any = loader  # PyYAML's parser methods are untyped
        self.file = file
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}

    def document(self) -> tuple[Any, dict[Path_, tuple[int, int]]]:
        import yaml  # loaded by load_yaml already: a dictionary look-up

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
        import yaml  # loaded by load_yaml already: a dictionary look-up

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
        import yaml  # loaded by load_yaml already: a dictionary look-up

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
        import yaml  # loaded by load_yaml already: a dictionary look-up

        tag: str = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        return tag

    def scalar(self, event: yaml.ScalarEvent, path: Path_) -> Any:
        import yaml  # loaded by load_yaml already: a dictionary look-up

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


# -- JSON cases: strict and bounded ----------------------------------------------------------
#
# The standard library's C parser reads; hooks refuse what strict JSON and the limits refuse
# (duplicate keys, NaN/Infinity, over-long numbers); one walk over the result bounds depth and
# strings. Only when something is refused does a slower scanner find its line, column and path.


class _Fault(Exception):
    pass


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONSTANTS = ("NaN", "Infinity", "-Infinity")


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def _text_position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _number_fault(token: str, limits: Limits) -> str | None:
    mantissa = re.split(r"[eE]", token, maxsplit=1)[0]
    digits = sum(c.isdigit() for c in mantissa)
    if digits > limits.number_digits:
        return f"a number with more than {limits.number_digits} digits"
    if token.lstrip("-").isdigit():
        return None
    value = float(token)
    if value in (float("inf"), float("-inf")):
        return f"number {excerpt(token, 30)} is out of range"
    return None


def _string_fault(value: str, limits: Limits) -> str | None:
    if len(value) > limits.string_chars:
        return f"a string longer than {limits.string_chars} characters"
    found = _SURROGATE.search(value)
    if found:
        return f"a lone surrogate \\u{ord(found.group()):04x} in a string"
    return None


@functools.lru_cache(maxsize=8)
def _strict_hooks(limits: Limits) -> dict[str, Any]:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            raise _Fault
        return out

    def constant(token: str) -> Any:
        raise _Fault

    def integer(token: str) -> int:
        if len(token) > limits.number_digits + 1 and _number_fault(token, limits):
            raise _Fault
        return int(token)

    def number(token: str) -> float:
        if _number_fault(token, limits):
            raise _Fault
        return float(token)

    return {
        "object_pairs_hook": pairs,
        "parse_constant": constant,
        "parse_int": integer,
        "parse_float": number,
    }


@dataclass
class _Frame:
    is_object: bool
    keys: set[str] = field(default_factory=set)
    key: str | None = None
    index: int = 0


def _locate(text: str, limits: Limits) -> tuple[int, Path_, str] | None:
    """The first fault in `text` that strict, bounded JSON refuses: (offset, path, message).
    None when the text has none of these faults (a plain syntax error is the parser's to say)."""
    stack: list[_Frame] = []

    def here(*extra: str | int) -> Path_:
        parts: list[str | int] = []
        for frame in stack:
            if frame.is_object:
                if frame.key is not None:
                    parts.append(frame.key)
            else:
                parts.append(frame.index)
        return (*parts, *extra)

    i, n = 0, len(text)
    while True:
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if i >= n:
            return None
        c = text[i]
        if c in "{[":
            if len(stack) >= limits.depth:
                return i, here(), f"nested deeper than {limits.depth} levels"
            stack.append(_Frame(c == "{"))
            i += 1
        elif c in "}]":
            if stack:
                stack.pop()
            i += 1
        elif c == ",":
            if stack and stack[-1].is_object:
                stack[-1].key = None
            elif stack:
                stack[-1].index += 1
            i += 1
        elif c == ":":
            i += 1
        elif c == '"':
            try:
                value, end = scanstring(text, i + 1, True)
            except ValueError:
                return None
            top = stack[-1] if stack else None
            if top is not None and top.is_object and top.key is None:
                fault = _string_fault(value, limits)
                if fault:
                    return i, here(), f"key: {fault}"
                if value in top.keys:
                    return i, here(value), f"key '{excerpt(value)}' appears twice"
                top.keys.add(value)
                top.key = value
            else:
                fault = _string_fault(value, limits)
                if fault:
                    return i, here(), fault
            i = end
        else:
            for word in _CONSTANTS:
                if text.startswith(word, i):
                    return i, here(), f"{word} is not a JSON number"
            m = _NUMBER.match(text, i)
            if m:
                fault = _number_fault(m.group(), limits)
                if fault:
                    return i, here(), fault
                i = m.end()
                continue
            for word in ("true", "false", "null"):
                if text.startswith(word, i):
                    i += len(word)
                    break
            else:
                return None


@functools.lru_cache(maxsize=8)
def _number_bound(digits: int) -> int:
    bound: int = 10**digits
    return bound


def _clean(value: Any, limits: Limits, depth: int) -> bool:
    """Whether parsed data holds nothing the limits refuse (the fast pass: no paths kept; one
    walk without recursion, keys taken a mapping at a time, and the lengths and the lone
    surrogates of all the text checked at once)."""
    max_depth = limits.depth
    bound = _number_bound(limits.number_digits)
    strings: list[str] = []
    append, extend = strings.append, strings.extend
    todo: list[tuple[Any, int]] = [(value, depth)]
    pop, push = todo.pop, todo.append
    while todo:
        node, level = pop()
        kind = type(node)
        items: Any
        if kind is dict:
            if level >= max_depth:
                return False
            extend(node)  # the keys: a key that is not text fails the join below
            items = node.values()
        elif kind is list:
            if level >= max_depth:
                return False
            items = node
        else:  # a scalar at the top
            items, level = (node,), level - 1
        level += 1
        for item in items:
            kind = type(item)
            if kind is str:
                append(item)
            elif kind is dict or kind is list:
                push((item, level))
            elif kind is bool or item is None:
                continue
            elif kind is int:
                if not -bound < item < bound:
                    return False
            elif kind is float:
                if not math.isfinite(item):
                    return False
            else:
                return False
    try:
        text = "".join(strings)
    except TypeError:  # a key that is not text
        return False
    max_chars = limits.string_chars
    if len(text) > max_chars and max(map(len, strings)) > max_chars:
        return False
    return writable(text)


def writable(text: str) -> bool:
    """Whether text holds no lone surrogate (the one code point UTF-8 cannot write)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_fault(data: Any, limits: Limits) -> tuple[Path_, str] | None:
    """The first value in parsed data that the limits refuse, with its path (the slow pass)."""
    todo: list[tuple[Any, Path_, int]] = [(data, (), 0)]
    while todo:
        value, path, depth = todo.pop()
        if isinstance(value, dict):
            if depth >= limits.depth:
                return path, f"nested deeper than {limits.depth} levels"
            for key, item in value.items():
                if not isinstance(key, str):
                    return path, f"a key must be text, not {excerpt(key, 30)}"
                fault = _string_fault(key, limits)
                if fault:
                    return path, f"key: {fault}"
                todo.append((item, (*path, key), depth + 1))
        elif isinstance(value, list):
            if depth >= limits.depth:
                return path, f"nested deeper than {limits.depth} levels"
            todo.extend((item, (*path, i), depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            fault = _string_fault(value, limits)
            if fault:
                return path, fault
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) >= 10**limits.number_digits:
                return path, f"a number with more than {limits.number_digits} digits"
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return path, f"{value} is not a finite number"
        else:
            return path, f"{type(value).__name__} is not a JSON value"
    return None


def _walk_fault(data: Any, limits: Limits) -> tuple[Path_, str] | None:
    """The first value in parsed data that the limits refuse (depth, strings, numbers, types)."""
    return None if _clean(data, limits, 0) else _first_fault(data, limits)


def check_json_value(data: Any, file: str, limits: Limits = DEFAULT) -> None:
    """Refuse parsed data (a dict given to the API) that JSON text could not hold or that the
    limits refuse: non-finite numbers, lone surrogates, depth, long strings, other types."""
    fault = _walk_fault(data, limits)
    if fault:
        path, message = fault
        raise CaseError.at(file, message, path=json_path(path), code="case_limit")


def parse_json(
    text: str | bytes, file: str, limits: Limits = DEFAULT, *, max_bytes: int | None = None
) -> Any:
    """Parse a JSON case strictly and within the limits; every refusal names line and column."""
    max_bytes = limits.case_bytes if max_bytes is None else max_bytes
    if len(text) > max_bytes:
        raise CaseError.at(file, f"larger than {max_bytes} bytes", code="input_too_large")
    if isinstance(text, bytes):
        raw = text.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line, column = _byte_position(raw, exc.start)
            raise CaseError.at(
                file,
                f"bad UTF-8 byte 0x{raw[exc.start]:02x}",
                line=line,
                column=column,
                code="json_encoding",
            ) from None
    try:
        data = json.loads(text, **_strict_hooks(limits))
    except json.JSONDecodeError as exc:
        raise CaseError.at(
            file,
            f"malformed JSON: {exc.msg}",
            line=exc.lineno,
            column=exc.colno,
            code="json_syntax",
        ) from None
    except (_Fault, RecursionError, ValueError):
        data = None
        fault: tuple[Path_, str] | None = ((), "refused by the JSON reader")
    else:
        # The walk is needed only when the text could hold a fault the hooks do not see: a
        # \u escape (a lone surrogate), a string longer than the limit, or deep nesting.
        simple = (
            len(text) <= limits.string_chars
            and "\\u" not in text
            and not _SURROGATE.search(text)  # text given as str may hold a raw surrogate
            and text.count("[") + text.count("{") <= limits.depth
        )
        fault = None if simple else _walk_fault(data, limits)
    if fault is None:
        return data
    located = _locate(text, limits)
    if located is None:
        path, message = fault
        raise CaseError.at(file, message, path=json_path(path), code="json_strict")
    offset, path, message = located
    line, column = _text_position(text, offset)
    raise CaseError.at(
        file, message, line=line, column=column, path=json_path(path), code="json_strict"
    )


def load_json(path: Path, limits: Limits = DEFAULT) -> Any:
    """A JSON case from a regular file of at most `limits.case_bytes` bytes."""
    return parse_json(read_bytes(path, CaseError, limits.case_bytes), str(path), limits)


def iter_json_lines(
    path: Path, limits: Limits = DEFAULT
) -> Iterator[tuple[int, Any | ProcrulesError]]:
    """(line number, parsed case or the error of that line) for each non-blank line of a JSON
    Lines file. Lines split on \\n only; a line over `limits.line_bytes` is refused alone."""
    file = str(path)
    current_input.set(file)  # named by an unforeseen error while this input is in hand
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        yield (
            0,
            CaseError.at(file, f"cannot read file: {exc.strerror or exc}", code="file_unreadable"),
        )
        return
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            yield 0, CaseError.at(file, "not a regular file", code="file_unreadable")
            return
        with os.fdopen(fd, "rb", closefd=False) as handle:
            number = 0
            while True:
                line = handle.readline(limits.line_bytes + 1)
                if not line:
                    return
                number += 1
                if len(line) > limits.line_bytes and not line.endswith(b"\n"):
                    while line and not line.endswith(b"\n"):  # skip the rest of this line
                        line = handle.readline(limits.line_bytes + 1)
                    yield (
                        number,
                        CaseError.at(
                            file,
                            f"line longer than {limits.line_bytes} bytes",
                            line=number,
                            column=1,
                            code="input_too_large",
                        ),
                    )
                    continue
                if not line.strip():
                    continue
                try:
                    yield number, parse_json(line, file, limits, max_bytes=limits.line_bytes + 1)
                except ProcrulesError as exc:  # placed at this line of the file: FILE:LINE:COL
                    yield (
                        number,
                        type(exc)(
                            [
                                dataclasses.replace(p, line=number, column=p.column or 1)
                                for p in exc.problems
                            ]
                        ),
                    )
    finally:
        os.close(fd)
