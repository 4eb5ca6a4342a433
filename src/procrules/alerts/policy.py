"""alerts.yaml: the escalation ladder, recipients, routes and channels, read and validated.

Reading and checking only (every fault located by file, line, column and JSON path); nothing here
looks at a case, the clock or the network.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from ..errors import Problem, SpecError, did_you_mean
from ..source import Document, load_yaml
from ..spec.compile import (
    SpecSet,
    _Collector,
    _schema_keys,
    _schema_problems,
    shipped_processes_dir,
    shipped_schema,
)
from ..spec.model import Label

LEVELS = ("blue", "yellow", "red")  # in rising order
_REPEAT = re.compile(
    r"^(?:next working day|(?P<n>\d+) working days? later|下一个工作日|(?P<nzh>\d+)个工作日后)"
    r"\s+(?P<at>\d{1,2}:\d{2})$"
)
_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class Condition:
    """When a level holds: any one of the given tests (they are alternatives)."""

    breached: str | None = None  # committed | step | any
    working_days_left_at_most: float | None = None
    used_at_least: float | None = None


@dataclass(frozen=True)
class Repeat:
    """Repeat an unchanged notification on the n-th working day after the last one, at `at`."""

    working_days: int
    at: dt.time
    text: str


@dataclass(frozen=True)
class Level:
    level: str
    name: Label
    when: Condition
    notify: tuple[str, ...]
    any_time: bool = False
    send_resolved: bool = True
    repeat: Repeat | None = None


@dataclass(frozen=True)
class Matchers:
    """label -> accepted values; all must hold. A missing label matches only ''."""

    items: tuple[tuple[str, frozenset[str]], ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(name, "") in values for name, values in self.items)


@dataclass(frozen=True)
class Inhibit:
    source: Matchers
    target: Matchers
    equal: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    match: Matchers
    channels: tuple[str, ...]
    cont: bool = False


@dataclass(frozen=True)
class AlertPolicy:
    levels: tuple[Level, ...]  # in checking order (highest first as written)
    step_limits: dict[str, frozenset[str]]
    managers: dict[str, str]
    supervisor: str
    recipient_names: dict[str, Label]
    group_by: tuple[str, ...]
    repeat: Repeat
    window: tuple[dt.time, dt.time]
    link: str
    inhibit: tuple[Inhibit, ...]
    routes: tuple[Route, ...]
    channels: dict[str, dict[str, Any]]
    file: str = ""
    positions: dict[tuple[str | int, ...], tuple[int, int]] = field(default_factory=dict)

    def level(self, name: str) -> Level:
        return next(lv for lv in self.levels if lv.level == name)

    def repeat_for(self, level: str) -> Repeat:
        return self.level(level).repeat or self.repeat

    def routes_for(self, labels: dict[str, str]) -> tuple[str, ...]:
        """The channels a notification with these labels goes to (first match, or on with
        `continue`)."""
        out: list[str] = []
        for route in self.routes:
            if route.match.matches(labels):
                out.extend(c for c in route.channels if c not in out)
                if not route.cont:
                    break
        return tuple(out)


@cache
def _validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(shipped_schema("alerts.schema.json"))


_KEYS = _schema_keys(shipped_schema("alerts.schema.json"))


def alerts_file(folder: Path | None) -> Path:
    return (folder or shipped_processes_dir()) / "alerts.yaml"


def parse_repeat(text: str) -> Repeat | None:
    found = _REPEAT.match(text.strip())
    if not found:
        return None
    hour, minute = (int(x) for x in found.group("at").split(":"))
    if hour > 23 or minute > 59:
        return None
    n = int(found.group("n") or found.group("nzh") or 1)
    return Repeat(n, dt.time(hour, minute), text)


def load_alert_policy(specs: SpecSet, file: Path | None = None) -> AlertPolicy:
    """Read alerts.yaml from the policy folder (or `file`); every fault at once, located."""
    path = file or alerts_file(specs.folder)
    # the folder's alerts.yaml as it was read with the specs (the revision names that content)
    text = specs.sources.get(path.name) if file is None else None
    if text is None and not path.exists():
        path = alerts_file(None)  # a policy folder without alerts.yaml: the shipped ladder
    doc = load_yaml(path, text)
    problems = _schema_problems(doc, _validator(), _KEYS)
    if problems:
        raise SpecError(problems)
    policy = _compile(doc, specs, problems)
    if problems:
        raise SpecError(problems)
    assert policy is not None
    return policy


def _matchers(raw: dict[str, Any] | None) -> Matchers:
    items = []
    for name, value in sorted((raw or {}).items()):
        values = [value] if isinstance(value, str) else list(value)
        items.append((name, frozenset(values)))
    return Matchers(tuple(items))


def _compile(doc: Document, specs: SpecSet, problems: list[Problem]) -> AlertPolicy | None:
    data: dict[str, Any] = doc.data
    col = _Collector(doc, problems)
    roles = set(specs.catalog.roles)
    names: dict[str, Label] = dict(specs.catalog.roles)
    for rid, label in (data.get("recipients") or {}).items():
        names[rid] = Label(label["zh"], label["en"])

    def known_recipient(path: tuple[str | int, ...], value: str) -> None:
        if value not in names:
            col.add(
                path,
                "alerts_reference",
                f"unknown role or recipient '{value}'",
                did_you_mean(value, names),
            )

    default_repeat = parse_repeat(str(data.get("repeat", "next working day 09:00")))
    if default_repeat is None:
        col.add(("repeat",), "alerts_schema", _REPEAT_HELP.format(data.get("repeat")))
        default_repeat = Repeat(1, dt.time(9), "next working day 09:00")
    levels: list[Level] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["levels"]):
        if raw["level"] in seen:
            col.add(("levels", i, "level"), "alerts_schema", f"level '{raw['level']}' twice")
        seen.add(raw["level"])
        repeat = None
        if "repeat" in raw:
            repeat = parse_repeat(str(raw["repeat"]))
            if repeat is None:
                col.add(
                    ("levels", i, "repeat"), "alerts_schema", _REPEAT_HELP.format(raw["repeat"])
                )
        when = raw["when"]
        levels.append(
            Level(
                raw["level"],
                Label(raw["name"]["zh"], raw["name"]["en"]),
                Condition(
                    when.get("breached"),
                    when.get("working_days_left_at_most"),
                    when.get("used_at_least"),
                ),
                tuple(raw["notify"]),
                raw.get("send_at", "window") == "any_time",
                bool(raw.get("send_resolved", True)),
                repeat,
            )
        )
    step_limits: dict[str, frozenset[str]] = {}
    processes = specs.processes
    for pid, rules in (data.get("step_limits") or {}).items():
        if pid not in processes:
            col.add(
                ("step_limits", pid),
                "alerts_reference",
                f"unknown process '{pid}'",
                did_you_mean(pid, processes),
            )
            continue
        known = {d.rule for d in processes[pid].deadlines}
        for j, rule in enumerate(rules):
            if rule not in known:
                col.add(
                    ("step_limits", pid, j),
                    "alerts_reference",
                    f"'{rule}' is not a deadline of '{pid}'",
                    did_you_mean(rule, known),
                )
        step_limits[pid] = frozenset(rules)
    managers = dict(data.get("managers") or {})
    for role, manager in managers.items():
        if role not in roles:
            col.add(
                ("managers", role),
                "alerts_reference",
                f"unknown role '{role}'",
                did_you_mean(role, roles),
            )
        known_recipient(("managers", role), manager)
    supervisor = str(data.get("supervisor", "supervision_office"))
    known_recipient(("supervisor",), supervisor)
    window_text = str(data.get("window", "08:30-17:30"))
    found = _WINDOW.match(window_text)
    window = (dt.time(8, 30), dt.time(17, 30))
    if found:
        h1, m1, h2, m2 = (int(x) for x in found.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60 and (h1, m1) < (h2, m2):
            window = (dt.time(h1, m1), dt.time(h2, m2))
        else:
            col.add(
                ("window",), "alerts_schema", f"'{window_text}' is not a window like 08:30-17:30"
            )
    channels = dict(data["channels"])
    _check_channels(doc, channels, problems)
    routes: list[Route] = []
    for i, raw in enumerate(data["routes"]):
        for j, name in enumerate(raw["channels"]):
            if name not in channels:
                col.add(
                    ("routes", i, "channels", j),
                    "alerts_reference",
                    f"unknown channel '{name}'",
                    did_you_mean(name, channels),
                )
        routes.append(
            Route(
                _matchers(raw.get("match")),
                tuple(raw["channels"]),
                bool(raw.get("continue", False)),
            )
        )
    inhibit = tuple(
        Inhibit(_matchers(r["source"]), _matchers(r["target"]), tuple(r.get("equal", ())))
        for r in data.get("inhibit") or ()
    )
    return AlertPolicy(
        levels=tuple(levels),
        step_limits=step_limits,
        managers=managers,
        supervisor=supervisor,
        recipient_names=names,
        group_by=tuple(data.get("group_by", ("recipient", "level"))),
        repeat=default_repeat,
        window=window,
        link=str(data.get("link", "")),
        inhibit=inhibit,
        routes=tuple(routes),
        channels=channels,
        file=doc.file,
        positions=doc.positions,
    )


_REPEAT_HELP = "'{}' is not a repeat like 'next working day 09:00' or '2 working days later 09:00'"


def _check_channels(doc: Document, channels: dict[str, Any], problems: list[Problem]) -> None:
    """Each channel entry as the channels module reads it (the secrets' variables are checked
    when the watcher starts, not here), located at the entry."""
    from dataclasses import replace

    from .channels import validate_channel

    for name, spec in channels.items():
        line, column = doc.where(("channels", name))
        for problem in validate_channel(spec, file=doc.file, path=f"$.channels.{name}"):
            problems.append(
                replace(problem, line=problem.line or line, column=problem.column or column)
            )
