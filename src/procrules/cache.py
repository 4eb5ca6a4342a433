"""The parse cache: policy files (specs, catalogue, tariff, rules, calendar overrides) read once
as YAML, then kept as marshal data in the user's cache folder, so that a cold command skips YAML.

An entry is the parsed document (data, where each value and key stands) of one file, named by a hash
of the file's bytes, the procrules version and the code that reads YAML: it can never be stale, only
unused. Compiled specs hold closures and are rebuilt from the cached documents every time (a few
ms), so every check that compile and lint make still runs. Any trouble with the cache (no folder, no
permission, a corrupt or truncated entry) is a miss, never an error; the folder is safe to delete.
`PROCRULES_CACHE=off` turns it off; `PROCRULES_CACHE=DIR` moves it.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
from functools import cache
from pathlib import Path

from . import __version__
from .source import Document, load_yaml, read_policy_text

ENV_CACHE = "PROCRULES_CACHE"
_FORMAT = b"procrules-parse-2"


def cache_dir() -> Path | None:
    """The cache folder: $PROCRULES_CACHE, else the platform's user cache folder; None if off."""
    chosen = os.environ.get(ENV_CACHE, "")
    if chosen.lower() in ("off", "0", "no", "false"):
        return None
    if chosen:
        return Path(chosen)
    try:
        if sys.platform == "win32":  # pragma: no cover - platform specific
            base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        elif sys.platform == "darwin":  # pragma: no cover - platform specific
            base = Path.home() / "Library" / "Caches"
        else:
            base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except (RuntimeError, KeyError):  # no home folder (a service account): no cache
        return None
    return base / "procrules"


@cache
def _code_key() -> bytes:
    """What else an entry depends on: the version, Python's marshal format, the YAML reader."""
    digest = hashlib.sha256(_FORMAT)
    digest.update(f"{__version__}\0{sys.version}\0{marshal.version}\0".encode())
    try:
        digest.update(Path(__file__).with_name("source.py").read_bytes())
    except OSError:  # pragma: no cover - an installation without its sources
        digest.update(b"<no source>")
    return digest.digest()


def load_policy_yaml(path: Path, text: str | None = None) -> Document:
    """`source.load_yaml` (of `text`, when the caller has read the file already), through the
    cache. Errors are never cached: a file that fails to parse is parsed (and fails) again next
    time, with the same message."""
    folder = cache_dir()
    if folder is None:
        return load_yaml(path, text)
    if text is None:
        text = read_policy_text(path)  # a regular file of bounded size, as load_yaml reads it
    key = hashlib.sha256(_code_key() + text.encode("utf-8", "surrogatepass")).hexdigest()
    entry = folder / "parsed" / key[:2] / f"{key[2:]}.marshal"
    try:
        data, positions, keys = marshal.loads(entry.read_bytes())
        if isinstance(positions, dict) and isinstance(keys, dict):
            return Document(str(path), data, positions, keys)
    except (OSError, EOFError, ValueError, TypeError):
        pass  # no entry yet, or one we cannot use: parse the file
    doc = load_yaml(path, text)
    _store(entry, doc)
    return doc


def _store(entry: Path, doc: Document) -> None:
    try:
        blob = marshal.dumps((doc.data, doc.positions, doc.keys))
    except ValueError:  # a value marshal cannot hold: simply not cached
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_name(f"{entry.name}.{os.getpid()}.tmp")
        partial.write_bytes(blob)
        os.replace(partial, entry)  # atomic: a reader sees the whole entry or none
    except OSError:
        pass  # a read-only home or a full disk: run without the cache
