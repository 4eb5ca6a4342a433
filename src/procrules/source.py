"""All file reading: YAML and JSON documents with the line and column of every value.

Nothing here interprets a document; it only turns bytes into plain data plus a source map
(JSON path -> line, column), and turns parser failures into located errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CaseError, ProcrulesError, SpecError, json_path

if TYPE_CHECKING:
    import yaml

# PyYAML is imported on first use, not with this module: a command whose policy files come from
# the parse cache (cache.py) never needs it, and it is a good part of a cold start.

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


def read_text(path: Path, error: type[ProcrulesError]) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error.at(str(path), "no such file", code="file_not_found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error.at(str(path), f"cannot read file: {exc}", code="file_unreadable") from exc


def load_yaml(path: Path, text: str | None = None) -> Document:
    """Parse one YAML file. Timestamps stay strings: the schema decides what a date is."""
    import yaml

    text = read_text(path, SpecError) if text is None else text
    loader = _loader_class()(text)
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


def _loader_class() -> type[yaml.SafeLoader]:
    import yaml

    # libyaml is about nine times faster; fall back to the pure-Python loader where absent
    fast: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
    return fast or yaml.SafeLoader


def _construct(
    node: yaml.Node,
    path: Path_,
    positions: dict[Path_, tuple[int, int]],
    loader: yaml.SafeLoader,
    file: str,
) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    kind = getattr(node, "id", "")  # "mapping", "sequence" or "scalar": no import needed
    if kind == "mapping":
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
    if kind == "sequence":
        return [
            _construct(n, path + (i,), positions, loader, file) for i, n in enumerate(node.value)
        ]
    if node.tag == _TIMESTAMP:
        return node.value
    return loader.construct_object(node)


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
