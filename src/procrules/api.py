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
from .errors import CaseError, InternalError, Problem, ProcrulesError, SpecError, json_path
from .limits import DEFAULT, Limits, excerpt
from .plain_case import plain_case
from .plain_case import validator as one_pass_validator
from .policy import PolicyFolder, find_policy_folder
from .source import check_json_value, load_json, parse_json
from .spec.compile import SpecSet, load_specs, shipped_schema


@cache
def _case_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(shipped_schema("application.schema.json"))


_TEXT = (str, bytes)
_COUNTED = ("events", "documents", "facts")  # each bounded by the limit of that name
_COLLECTIONS = (list, dict)


def validate_case(data: Any, file: str, limits: Limits = DEFAULT) -> dict[str, Any]:
    """Check a parsed case against the limits and schemas/application.schema.json."""
    if isinstance(data, dict):
        for key in _COUNTED:
            value = data.get(key)
            if isinstance(value, _COLLECTIONS) and len(value) > (bound := getattr(limits, key)):
                raise CaseError.at(
                    file, f"more than {bound} {key}", path=json_path((key,)), code="case_limit"
                )
    validator = _case_validator()
    if validator.is_valid(data):
        return dict(data)
    problems = [  # the validator quotes the instance: a hostile value is cut short
        Problem(file, 0, 0, "case_schema", excerpt(e.message, 200), json_path(e.instance_path))
        for e in validator.iter_errors(data)
    ]
    raise CaseError(problems[:20])


def accept_case(data: Any, file: str, limits: Limits = DEFAULT) -> dict[str, Any]:
    """Check case data given as a parsed value (not read from JSON text) against the limits
    (`source.check_json_value`), then as `validate_case` does; the usual case is proven good by
    both in one pass (plain_case.py), any other goes through both in full."""
    if plain_case(data, limits, one_pass_validator()):
        return dict(data)
    check_json_value(data, file, limits)
    return validate_case(data, file, limits)


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
        self,
        specs: SpecSet,
        calendar: Calendar,
        policy: PolicyFolder | None = None,
        limits: Limits = DEFAULT,
    ) -> None:
        from .spec.fit import calendar_fit

        unfit = [p for p in calendar_fit(specs, calendar) if p.severity == "error"]
        if unfit:  # every check of such a case would fail: refuse the pair at once
            raise SpecError(unfit)
        self.specs = specs
        self.calendar = calendar
        self.limits = limits
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
        cls,
        processes: str | Path | None = None,
        calendar: str | Path | None = None,
        limits: Limits | None = None,
    ) -> Checker:
        """Specs from `processes`, else the folder `find_policy_folder` finds
        ($PROCRULES_PROCESSES, ./processes, a procrules.toml upward, the shipped specs); the
        calendar overrides from `calendar`, else the specs folder's calendar.yaml if any;
        `limits` on each case (default: Limits.from_env(), see docs/limits.md)."""
        where = str(processes or "processes")
        limits = limits or Limits.from_env()
        try:
            policy = find_policy_folder(processes)
            where = str(policy.path)
            specs = load_specs(policy.path)
            if calendar:
                where = str(calendar)
                return cls(specs, load_calendar(Path(calendar)), policy, limits)
            # the folder's calendar.yaml as it was read with the specs (the revision names it)
            found = specs.calendar_file
            where = str(found or where)
            text = specs.sources.get("calendar.yaml") if found is not None else None
            return cls(specs, load_calendar(found, text), policy, limits)
        except ProcrulesError:
            raise
        except Exception as exc:  # one boundary: never a bare crash out of the API
            raise InternalError.wrap(exc, where) from exc

    def check(
        self,
        case: dict[str, Any] | str | bytes | Path,
        as_of: str | dt.datetime | None = None,
        *,
        file: str = "<case>",
        policy_date: dt.date | None = None,
    ) -> Report:
        """Judge one case: a parsed dict, JSON text, or a path to a JSON file.

        The case is judged by the spec versions in force on `policy_date`, by default the day
        its application was received. A case that cannot be judged raises a ProcrulesError:
        CaseError for bad input, InternalError (the cause chained) for anything unforeseen."""
        if type(case) is not dict and isinstance(case, Path):
            file = str(case)
        try:
            if type(case) is dict:  # the usual: parsed data
                valid = accept_case(case, file, self.limits)
            elif isinstance(case, Path):
                valid = validate_case(load_json(case, self.limits), file, self.limits)
            elif isinstance(case, _TEXT):
                valid = validate_case(parse_json(case, file, self.limits), file, self.limits)
            else:
                valid = accept_case(case, file, self.limits)
            if type(as_of) is not dt.datetime or as_of.tzinfo is None:
                as_of = resolve_as_of(as_of)  # (an aware datetime stands as it is)
            # Engine.check without its own boundary: this one words the same InternalError
            return self.engine.judge(valid, as_of, file, policy_date).run()
        except ProcrulesError:
            raise
        except Exception as exc:  # one boundary: never a bare crash out of the API
            raise InternalError.wrap(exc, file) from exc
