"""The embedding API: load the specs once, check many cases.

    from procrules import Checker
    checker = Checker.load()                 # the shipped specs and calendar
    report = checker.check({"process": ..., "customer": {...}}, as_of="2026-10-12T09:00+08:00")
    report.ok, report.to_dict(lang="zh")

A Checker holds no global state, and its specs are immutable once loaded (its one mutable part
is a bounded memo of calendar arithmetic): share it between threads.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from .calendar import SHANGHAI, Calendar, load_calendar
from .engine import Engine, Report, parse_time
from .errors import CaseError, Problem, json_path
from .policy import PolicyFolder, find_policy_folder
from .source import load_json, parse_json
from .spec.compile import SpecSet, load_specs, shipped_schema


@cache
def _case_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(shipped_schema("application.schema.json"))


def validate_case(data: Any, file: str) -> dict[str, Any]:
    """Check a parsed case against schemas/application.schema.json; all faults at once."""
    validator = _case_validator()
    if validator.is_valid(data):
        return dict(data)
    problems = [
        Problem(file, 0, 0, "case_schema", e.message, json_path(e.instance_path))
        for e in validator.iter_errors(data)
    ]
    raise CaseError(problems[:20])


def resolve_as_of(value: str | dt.datetime | None) -> dt.datetime:
    """as_of for a check: given, or now. The engine itself never reads the clock."""
    if value is None:
        return dt.datetime.now(SHANGHAI).replace(microsecond=0)
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    return parse_time(value, (), "--as-of")


class Checker:
    """Compiled specs and a calendar; `check` is pure and thread-safe."""

    def __init__(
        self, specs: SpecSet, calendar: Calendar, policy: PolicyFolder | None = None
    ) -> None:
        self.specs = specs
        self.calendar = calendar
        self.engine = Engine(specs, calendar)
        # the specs folder and how it was found (an explicit folder when built by hand)
        self.policy = policy or PolicyFolder(specs.folder, "option")

    @property
    def revision(self) -> str:
        """The policy revision: the specs folder's content hash, with the calendar's version."""
        return self.engine.revision

    @property
    def folder(self) -> Path:
        return self.specs.folder

    @classmethod
    def load(
        cls, processes: str | Path | None = None, calendar: str | Path | None = None
    ) -> Checker:
        """Specs from `processes`, else the folder `find_policy_folder` finds
        ($PROCRULES_PROCESSES, ./processes, a procrules.toml upward, the shipped specs); the
        calendar overrides from `calendar`, else the specs folder's calendar.yaml if any."""
        policy = find_policy_folder(processes)
        specs = load_specs(policy.path)
        override = Path(calendar) if calendar else specs.calendar_file
        return cls(specs, load_calendar(override), policy)

    def check(
        self,
        case: dict[str, Any] | str | Path,
        as_of: str | dt.datetime | None = None,
        *,
        file: str = "<case>",
        policy_date: dt.date | None = None,
    ) -> Report:
        """Judge one case: a parsed dict, JSON text, or a path to a JSON file.

        The case is judged by the spec versions in force on `policy_date`, by default the day
        its application was received."""
        if isinstance(case, Path):
            file, data = str(case), load_json(case)
        elif isinstance(case, str):
            data = parse_json(case, file)
        else:
            data = case
        return self.engine.check(validate_case(data, file), resolve_as_of(as_of), file, policy_date)
