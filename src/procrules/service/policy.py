"""The policy in force: the last good spec set, swapped atomically on reload.

A request takes `holder.current` once and uses only that Checker, so no answer mixes two
revisions. A reload compiles the whole folder beside the one in force; only a set that loads
completely replaces it. A failed reload keeps the last good set and says why (`last_reload`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..api import Checker
from ..calendar import SHANGHAI
from ..errors import Problem, ProcrulesError


@dataclass(frozen=True)
class Policy:
    checker: Checker
    revision: str
    loaded_at: dt.datetime
    folder: Path


@dataclass(frozen=True)
class ReloadResult:
    at: dt.datetime
    ok: bool
    trigger: str
    revision: str | None
    changed: bool
    problems: tuple[Problem, ...] = field(default=())


class PolicyHolder:
    def __init__(
        self,
        processes: Path | None,
        calendar: Path | None,
        *,
        on_reload: Callable[[ReloadResult], None] | None = None,
    ) -> None:
        self.processes = processes
        self.calendar = calendar
        self.current: Policy | None = None
        self.last_reload: ReloadResult | None = None
        self.reloads = 0
        self._lock = threading.Lock()
        self._on_reload = on_reload

    @property
    def folder(self) -> Path | None:
        """The folder being served (known once a set has loaded)."""
        return self.current.folder if self.current else self.processes

    def reload(self, trigger: str) -> ReloadResult:
        """Load the whole folder; swap it in when it loads, else keep the set in force."""
        with self._lock:
            now = dt.datetime.now(SHANGHAI)
            try:
                # one read of each file: the revision names exactly the content loaded
                checker = Checker.load(self.processes, self.calendar)
            except ProcrulesError as exc:
                result = ReloadResult(
                    now,
                    False,
                    trigger,
                    self.current.revision if self.current else None,
                    False,
                    tuple(exc.problems),
                )
            except Exception as exc:  # a fault in loading must never take down the server
                problem = Problem(
                    str(self.processes or "processes"),
                    0,
                    0,
                    "reload_error",
                    f"cannot load the specs: {exc.__class__.__name__}",
                )
                result = ReloadResult(
                    now,
                    False,
                    trigger,
                    self.current.revision if self.current else None,
                    False,
                    (problem,),
                )
            else:
                changed = self.current is None or self.current.revision != checker.revision
                if changed:
                    self.current = Policy(checker, checker.revision, now, checker.specs.folder)
                result = ReloadResult(now, True, trigger, checker.revision, changed)
            self.reloads += 1
            self.last_reload = result
        if self._on_reload:
            self._on_reload(result)
        return result
