"""The walk through a flow: step order, steps a partial record proves, where the case stands.

Pure: reads the compiled steps and a case's event log, never the clock or files. The engine
turns what the walk finds into findings and lends the implied events to the SLA clocks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from .spec.model import Label, Precedence, Process, Step


@dataclass(frozen=True)
class OrderBreak:
    """`step` happened at `at` before `before` (at `before_at`; None: never recorded, for a
    strict control point). `control`: the seed's control point (an error), else chart order."""

    step: Step
    at: dt.datetime
    before: Step
    before_at: dt.datetime | None
    rule: str | None
    control: bool


@dataclass(frozen=True)
class Implied:
    """A step not recorded, which a later recorded step (`by`, at `at`) proves happened."""

    step: Step
    by: Step
    at: dt.datetime


@dataclass(frozen=True)
class DoneStep:
    step: Step
    at: dt.datetime
    count: int = 1


@dataclass(frozen=True)
class OpenStep:
    """A step whose predecessors are done: whose turn it is, since when."""

    step: Step
    since: dt.datetime | None


@dataclass(frozen=True)
class Walk:
    done: tuple[DoneStep, ...]
    implied: tuple[Implied, ...]
    breaks: tuple[OrderBreak, ...]
    open: tuple[OpenStep, ...]
    ended: str | None  # completed | rejected | closed
    ended_at: dt.datetime | None
    after_end: tuple[tuple[str, dt.datetime], ...]  # events recorded after a terminal step
    repeated: tuple[DoneStep, ...]  # steps that may not repeat, recorded more than once

    def implied_event(self, event: str) -> Implied | None:
        return next((i for i in self.implied if i.step.event == event), None)


def walk(
    process: Process,
    times: dict[str, list[dt.datetime]],
    applies: Callable[[Step], bool],
    holds: Callable[[Precedence], bool],
) -> Walk:
    """Replay the recorded events over the steps. `applies(step)`: the step's `when` holds for
    this case; `holds(precedence)`: a control point's `when` holds."""
    by_id = {s.id: s for s in process.steps}
    first = {event: min(at) for event, at in times.items() if at}
    recorded = {s.id: first[s.event] for s in process.steps if s.event in first}
    breaks: dict[tuple[str, str], OrderBreak] = {}
    implied: dict[str, Implied] = {}

    def edges(step: Step) -> list[tuple[tuple[str, ...], Precedence | None]]:
        """Each group of predecessors, with the control point that guards it (if any)."""
        controls = {p.step: p for p in step.requires if holds(p)}
        out: list[tuple[tuple[str, ...], Precedence | None]] = []
        for group in step.after_groups:
            guard = next((controls[g] for g in group if g in controls), None)
            out.append((group, guard))
        listed = {g for group in step.after_groups for g in group}
        out.extend(((p,), controls[p]) for p in controls if p not in listed)
        return out

    def live(step: Step) -> bool:
        return applies(step) and not step.optional

    def check(origin: Step, at: dt.datetime, node: Step, control: bool, seen: set[str]) -> None:
        for group, guard in edges(node):
            members = [by_id[g] for g in group if g in by_id]
            hits = sorted((recorded[m.id], m.id) for m in members if m.id in recorded)
            if any(t <= at for t, _ in hits):
                continue
            is_control = control and guard is not None
            rule = guard.rule if is_control and guard else origin.rule or node.rule
            if hits:
                t, ident = hits[0]
                key = (origin.id, ident)
                if key not in breaks:
                    breaks[key] = OrderBreak(origin, at, by_id[ident], t, rule, is_control)
                continue
            if guard is not None and guard.strict and node is origin:
                key = (origin.id, guard.step)
                if key not in breaks:
                    breaks[key] = OrderBreak(origin, at, by_id[guard.step], None, guard.rule, True)
                continue
            candidates = [m for m in members if live(m)]
            if len(candidates) != 1:  # no live step, or alternatives: nothing single to prove
                continue
            missing = candidates[0]
            if missing.id not in implied:
                implied[missing.id] = Implied(missing, origin, at)
            if missing.id not in seen:
                seen.add(missing.id)
                check(origin, at, missing, is_control, seen)

    for step in sorted(
        (s for s in process.steps if s.id in recorded), key=lambda s: recorded[s.id]
    ):
        check(step, recorded[step.id], step, True, {step.id})

    done = tuple(
        sorted(
            (
                DoneStep(s, recorded[s.id], len(times[s.event]))
                for s in process.steps
                if s.id in recorded
            ),
            key=lambda d: d.at,
        )
    )
    repeated = tuple(d for d in done if d.count > 1 and not d.step.repeats)
    happened = set(recorded) | set(implied)

    def excluded(step: Step) -> bool:
        rivals = set(step.alternative_to) | {
            s.id for s in process.steps if step.id in s.alternative_to
        }
        return bool(rivals & happened)

    # the end: the first terminal step recorded, else every step the case needs is done
    ended: str | None = None
    ended_at: dt.datetime | None = None
    after_end: list[tuple[dt.datetime, str]] = []
    terminal = [d for d in done if d.step.ends]
    if terminal:
        ended, ended_at = terminal[0].step.ends, terminal[0].at
        after_end = sorted(
            (at, event)
            for event, ats in times.items()
            for at in ats
            if at > terminal[0].at and event != terminal[0].step.event
        )
    elif done:
        needed = [
            s
            for s in process.steps
            if live(s) and s.ends != "rejected" and not excluded(s) and s.id not in happened
        ]
        if not needed:
            ended, ended_at = "completed", done[-1].at

    open_steps: list[OpenStep] = []
    if ended is None:
        proved = {i.step.id: i.at for i in implied.values()}
        when_done = {**proved, **recorded}
        for s in process.steps:
            if s.id in happened or not live(s) or s.ends == "rejected" or excluded(s):
                continue
            since: dt.datetime | None = None
            ready = True
            for group, _ in edges(s):
                members = [by_id[g] for g in group if g in by_id]
                hits = [when_done[m.id] for m in members if m.id in when_done]
                if hits:
                    since = max(since, min(hits)) if since else min(hits)
                elif any(live(m) and not excluded(m) for m in members):
                    ready = False
                    break
            if ready:
                open_steps.append(OpenStep(s, since))
    order = {s.id: i for i, s in enumerate(process.steps)}
    return Walk(
        done,
        tuple(sorted(implied.values(), key=lambda i: order[i.step.id])),
        tuple(breaks.values()),
        tuple(open_steps),
        ended,
        ended_at,
        tuple((e, at) for at, e in after_end),
        repeated,
    )


@dataclass(frozen=True)
class Turn:
    """An open step as the report shows it: whose turn (roles), since when, due by which rule."""

    step: Step
    roles: tuple[str, ...]
    since: dt.datetime | None
    due: dt.datetime | None = None
    rule: str | None = None


@dataclass(frozen=True)
class Position:
    """Where a case stands: steps done (recorded), steps proven but not recorded, the open
    steps and whose turn each is, and whether the flow has ended."""

    done: tuple[DoneStep, ...]
    missing: tuple[Implied, ...]
    open: tuple[Turn, ...]
    ended: str | None = None
    ended_at: dt.datetime | None = None
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # step id -> roles
    role_labels: dict[str, Label] = field(default_factory=dict)
