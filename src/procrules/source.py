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
from typing import Any

import yaml

from .errors import CaseError, ProcrulesError, SpecError, current_input, json_path
from .limits import DEFAULT, Limits, excerpt

try:  # libyaml is about nine times faster; fall back to the pure-Python loader where absent
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass
class Document:
    """A parsed file: its data and where each value stands in it (1-based line and column)."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

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


def load_yaml(path: Path, text: str | None = None) -> Document:
    """Parse one YAML file. Timestamps stay strings: the schema decides what a date is."""
    text = read_text(path, SpecError) if text is None else text
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"YAML syntax error: {exc.problem or exc}"
        raise SpecError.at(
            str(path), message, line=line, column=column, code="yaml_syntax"
        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError.at(str(path), f"YAML error: {exc}", code="yaml_syntax") from exc
    finally:
        loader.dispose()
    doc = Document(str(path), None)
    if node is not None:
        doc.data = _construct(node, (), doc.positions, loader, str(path))
    return doc


def _construct(
    node: yaml.Node,
    path: Path_,
    positions: dict[Path_, tuple[int, int]],
    loader: yaml.SafeLoader,
    file: str,
) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            key = key if isinstance(key, str) else str(key)
            if key in out:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise SpecError.at(
                    file,
                    f"key '{key}' appears twice",
                    line=line,
                    column=column,
                    path=json_path(path + (key,)),
                    code="duplicate_key",
                )
            out[key] = _construct(value_node, path + (key,), positions, loader, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(n, path + (i,), positions, loader, file) for i, n in enumerate(node.value)
        ]
    if node.tag == _TIMESTAMP:
        return node.value
    return loader.construct_object(node)


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


def _clean(value: Any, limits: Limits, depth: int) -> bool:
    """Whether parsed data holds nothing the limits refuse (the fast pass: no paths kept)."""
    kind = type(value)
    if kind is str:
        return len(value) <= limits.string_chars and not _SURROGATE.search(value)
    if kind is dict:
        if depth >= limits.depth:
            return False
        for key, item in value.items():
            if type(key) is not str or not _clean(key, limits, 0):
                return False
            if not _clean(item, limits, depth + 1):
                return False
        return True
    if kind is list:
        if depth >= limits.depth:
            return False
        return all(_clean(item, limits, depth + 1) for item in value)
    if kind is bool or value is None:
        return True
    if kind is int:
        return bool(abs(value) < 10**limits.number_digits)
    if kind is float:
        return math.isfinite(value)
    return False


def _walk_fault(data: Any, limits: Limits) -> tuple[Path_, str] | None:
    """The first value in parsed data that the limits refuse (depth, strings, numbers, types)."""
    if _clean(data, limits, 0):
        return None
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
