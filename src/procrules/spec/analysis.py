"""Static analysis of compiled specs, for `procrules lint`: faults that no single line shows.

- routing: every combination of the enumerable inputs of an approval rule (customer type x
  water-use types x enumerated facts) must route to exactly one approver, unless a gate or
  check of the spec speaks to that combination (a routing gap or a conflict is an error);
- deadlines whose start or stop event no step produces (error);
- steps that cannot be reached because their `after` order runs in a circle (error);
- deadlines whose clock runs across a step owned by another role (warning), unless the
  deadline names the step in `runs_across` with its reason (HM-HANDOFF starts at step 2);
- documents in the catalogue that no spec requires (warning);
- divisions whose divisor may be zero, by the ranges of facts and the conditions around them
  (error: `customer.arrears / customer.arrears_months` fails whenever arrears_months is 0);
- deadlines that count business hours when the calendar has none (`calendar_fit`).
Reads compiled specs only; changes nothing.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

from ..errors import Problem, json_path
from ..expressions import EVENTS_KEY, TARIFF_KEY, Expression, Missing
from .compile import SpecSet
from .fit import calendar_fit as calendar_fit
from .fit import located as _at
from .model import Approval, Process

MAX_COMBINATIONS = 20_000
MAX_EXAMPLES = 3


def analyse(specs: SpecSet) -> list[Problem]:
    problems: list[Problem] = []
    for versions in specs.versions.values():
        for process in versions:
            problems.extend(routing(process, specs))
            problems.extend(deadline_events(process))
            problems.extend(step_cycles(process))
            problems.extend(deadlines_across_roles(process))
            problems.extend(divisions(process))
    problems.extend(unused_documents(specs))
    return sorted(problems)


# -- routing ------------------------------------------------------------------------------------


def _domains(process: Process, specs: SpecSet) -> dict[str, list[Any]]:
    """Every input name whose values can be listed, with its values."""
    domains: dict[str, list[Any]] = {
        "customer.type": list(specs.catalog.customer_types),
        "customer.water_type": list(specs.tariff.prices),
    }
    for fact in process.facts.values():
        if fact.type in ("enum", "water_type"):
            domains[f"facts.{fact.name}"] = list(fact.values)
        elif fact.type == "bool":
            domains[f"facts.{fact.name}"] = [False, True]
    return domains


def _inputs(expr: Expression | None, derived: dict[str, Expression]) -> set[str]:
    if expr is None:
        return set()
    names: set[str] = set()
    for name in expr.names:
        names |= _inputs(derived[name], derived) if name in derived else {name}
    return names


def routing(process: Process, specs: SpecSet) -> Iterator[Problem]:
    derived = dict(process.derive)
    domains = _domains(process, specs)
    groups: dict[str, list[tuple[int, Approval]]] = {}
    for i, approval in enumerate(process.approvals):
        groups.setdefault(approval.rule, []).append((i, approval))
    checks = [
        c
        for c in (*process.gates, *process.checks)
        if _inputs(c.when, derived) <= set(domains) and not c.when.events
    ]
    for rule, entries in groups.items():
        if all(a.when is None for _, a in entries):
            continue
        names = set().union(*(_inputs(a.when, derived) for _, a in entries))
        if not names <= set(domains) or any(a.when and a.when.events for _, a in entries):
            continue  # a condition on amounts or events: its values cannot be listed
        ordered = sorted(names)
        combos = list(
            itertools.islice(itertools.product(*(domains[n] for n in ordered)), MAX_COMBINATIONS)
        )
        gaps: list[str] = []
        conflicts: dict[int, list[str]] = {}
        for values in combos:
            ctx: dict[str, Any] = dict(zip(ordered, values, strict=True))
            ctx[TARIFF_KEY], ctx[EVENTS_KEY] = specs.tariff, {}
            for name, expr in process.derive:
                try:
                    ctx[name] = expr(ctx)
                except (Missing, ArithmeticError):
                    pass
            fired = [(i, a) for i, a in entries if _true(a.when, ctx)]
            shown = [
                n
                for n in derived
                if n in ctx and any(n in (a.when.names if a.when else ()) for _, a in entries)
            ] + ordered
            described = ", ".join(f"{n} = {ctx[n]}" for n in shown)
            if not fired:
                if not any(_true(c.when, ctx) for c in checks):
                    gaps.append(described)
                continue
            approvers = {a.approver for _, a in fired}
            if len(approvers) > 1:
                conflicts.setdefault(fired[1][0], []).append(
                    f"{described} ({' and '.join(sorted(approvers))})"
                )
        first = entries[0][0]
        if gaps:
            yield _at(
                process,
                ("approvals", first),
                "routing_gap",
                f"{rule}: no approver when {'; '.join(gaps[:MAX_EXAMPLES])}"
                + (f" (and {len(gaps) - MAX_EXAMPLES} more)" if len(gaps) > MAX_EXAMPLES else ""),
            )
        for index, found in conflicts.items():
            yield _at(
                process,
                ("approvals", index, "when"),
                "routing_conflict",
                f"{rule}: two approvers when {'; '.join(found[:MAX_EXAMPLES])}"
                + (f" (and {len(found) - MAX_EXAMPLES} more)" if len(found) > MAX_EXAMPLES else ""),
            )


def _true(expr: Expression | None, ctx: dict[str, Any]) -> bool:
    if expr is None:
        return True
    try:
        return bool(expr(ctx))
    except (Missing, ArithmeticError):  # divisions are lint's own finding (divisions())
        return False


# -- deadlines, steps, documents -----------------------------------------------------------------


def deadline_events(process: Process) -> Iterator[Problem]:
    produced = {s.event for s in process.steps}
    for i, deadline in enumerate(process.deadlines):
        for key in ("start", "stop", "pause", "resume"):
            for event in getattr(deadline, key):
                if event not in produced:
                    yield _at(
                        process,
                        ("deadlines", i, key),
                        "deadline_event_unproduced",
                        f"{deadline.rule}: no step produces the {key} event '{event}'",
                    )


def step_cycles(process: Process) -> Iterator[Problem]:
    after = {s.id: s.after for s in process.steps}
    reachable: set[str] = {s.id for s in process.steps if not s.after}
    changed = True
    while changed:
        changed = False
        for step_id, before in after.items():
            if step_id not in reachable and any(b in reachable for b in before):
                reachable.add(step_id)
                changed = True
    for i, step in enumerate(process.steps):
        if step.id not in reachable:
            yield _at(
                process,
                ("steps", i, "after"),
                "unreachable_step",
                f"step '{step.id}' cannot be reached: its 'after' steps run in a circle",
            )


def deadlines_across_roles(process: Process) -> Iterator[Problem]:
    """A deadline must not start before the step that hands the work to its role: a clock that
    runs across another role's step counts that role's time against this one."""
    after = {s.id: set(s.after) | {p.step for p in s.requires} for s in process.steps}

    def ancestors(step_id: str) -> set[str]:
        seen: set[str] = set()
        todo = list(after.get(step_id, ()))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(after.get(current, ()))
        return seen

    for i, deadline in enumerate(process.deadlines):
        starts = {s.id for s in process.steps if s.event in deadline.start}
        for stop in (s for s in process.steps if s.event in deadline.stop):
            before = ancestors(stop.id)
            between = {
                step_id
                for step_id in before
                if step_id not in starts and ancestors(step_id) & starts
            }
            for step in process.steps:
                if step.id not in between or step.id in deadline.runs_across:
                    continue
                if set(step.roles) & set(stop.roles):
                    continue
                yield _at(
                    process,
                    ("deadlines", i, "start"),
                    "deadline_across_roles",
                    f"{deadline.rule}: the clock for '{stop.id}' ({', '.join(stop.roles)}) runs "
                    f"across step '{step.id}' of {', '.join(step.roles)}; start it at the step "
                    "that hands the work over, or name the step in runs_across with a reason",
                    "warning",
                )


def unused_documents(specs: SpecSet) -> Iterator[Problem]:
    required = {
        doc
        for versions in specs.versions.values()
        for p in versions
        for req in p.documents
        for item in req.items
        for doc in item
    }
    catalog = specs.catalog
    for ident in catalog.documents:
        if ident not in required:
            line, column = catalog.positions.get(("documents", ident), (1, 1))
            yield Problem(
                catalog.file,
                line,
                column,
                "unused_document",
                f"document '{ident}' is required by no spec",
                json_path(("documents", ident)),
                None,
                "warning",
            )


# -- arithmetic and the calendar -------------------------------------------------------------


def expressions(value: Any) -> Iterator[Expression]:
    """Every compiled expression in a process (conditions, formulas, derived names)."""
    if isinstance(value, Expression):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name not in ("positions", "events", "event_by_name", "label"):
                yield from expressions(getattr(value, f.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from expressions(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from expressions(item)


def divisions(process: Process) -> Iterator[Problem]:
    """A division whose divisor may be zero for some case: lint's error (a check still runs
    and reports formula_error for the case where it is zero)."""
    seen: set[tuple[str, int, int, str]] = set()
    for expr in expressions(process):
        for column, divisor in expr.cautions:
            file, line, start, path = expr.where
            key = (path, line, start + column - 1, divisor)
            if key in seen:
                continue
            seen.add(key)
            yield Problem(
                file or process.file,
                line,
                start + column - 1,
                "division_by_zero",
                f"'{divisor}' may be zero here: give the fact a minimum above 0, or guard the "
                f"division ('... if {divisor} > 0 else 0', or '{divisor} > 0 and ...')",
                path,
            )
