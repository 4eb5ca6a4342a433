"""The walk through a flow: step order, steps a partial record proves, where the case stands.

Pure: reads the compiled steps and a case's event log, never the clock or files. The engine
turns what the walk finds into findings and lends the implied events to the SLA clocks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from .spec.model import Label, Precedence, Process, Step


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class OrderBreak:
    """`step` happened at `at` before `before` (at `before_at`; None: never recorded, for a
    strict control point). `control`: the seed's control point (an error), else chart order."""

    step: Step
    at: dt.datetime
    before: Step
    before_at: dt.datetime | None
    rule: str | None
    control: bool


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class Implied:
    """A step not recorded, which a later recorded step (`by`, at `at`) proves happened."""

    step: Step
    by: Step
    at: dt.datetime


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class DoneStep:
    step: Step
    at: dt.datetime
    count: int = 1


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class OpenStep:
    """A step whose predecessors are done: whose turn it is, since when."""

    step: Step
    since: dt.datetime | None


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
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
    by_id = process.step_by_id
    first = {event: min(at) if len(at) > 1 else at[0] for event, at in times.items() if at}
    plan = process.step_plan
    recorded = {sid: first[ev] for _, sid, ev, _, _ in plan if ev in first} if first else {}
    breaks: dict[tuple[str, str], OrderBreak] = {}
    implied: dict[str, Implied] = {}
    live_memo = dict(process.step_live)
    holds_memo: dict[int, bool] = {}
    step_edges = process.step_edges

    def guard_of(guards: tuple[Precedence, ...]) -> Precedence | None:
        """The control point guarding an edge in this case: the first whose `when` holds."""
        for p in guards:
            key = id(p)
            if key not in holds_memo:
                holds_memo[key] = holds(p)
            if holds_memo[key]:
                return p
        return None

    def live(step: Step) -> bool:
        alive = live_memo.get(step.id)
        if alive is None:
            alive = live_memo[step.id] = not step.optional and applies(step)
        return alive

    def check(origin: Step, at: dt.datetime, node: Step, control: bool, seen: set[str]) -> None:
        for group, guards in step_edges[node.id]:
            earliest: tuple[dt.datetime, str] | None = None
            if len(group) == 1:
                g = group[0]
                t = recorded.get(g)
                if t is not None:
                    if t <= at:
                        continue
                    earliest = (t, g)
            else:
                in_time = False
                for g in group:
                    t = recorded.get(g)
                    if t is not None:
                        if t <= at:
                            in_time = True
                            break
                        if earliest is None or t < earliest[0]:
                            earliest = (t, g)
                if in_time:
                    continue
            guard = guard_of(guards) if guards else None
            is_control = control and guard is not None
            rule = guard.rule if is_control and guard else origin.rule or node.rule
            if earliest is not None:
                key = (origin.id, earliest[1])
                if key not in breaks:
                    before = by_id[earliest[1]]
                    breaks[key] = OrderBreak(origin, at, before, earliest[0], rule, is_control)
                continue
            if guard is not None and guard.strict and node is origin:
                key = (origin.id, guard.step)
                if key not in breaks:
                    breaks[key] = OrderBreak(origin, at, by_id[guard.step], None, guard.rule, True)
                continue
            candidates = [by_id[g] for g in group if live(by_id[g])]
            if len(candidates) != 1:  # no live step, or alternatives: nothing single to prove
                continue
            missing = candidates[0]
            if missing.id not in implied:
                implied[missing.id] = Implied(missing, origin, at)
            if missing.id not in seen:
                seen.add(missing.id)
                check(origin, at, missing, is_control, seen)  # noqa: F821 (deleted below)

    done_steps = []
    for i, at in sorted(recorded.items(), key=_second):
        step = by_id[i]
        done_steps.append(DoneStep(step, at, len(times[step.event])))
        if step_edges[i]:
            check(step, at, step, True, {i})
    done = tuple(done_steps)
    del check  # the recursive closure refers to itself: free the walk without the collector

    repeated = tuple(d for d in done if d.count > 1 and not d.step.repeats)
    happened = recorded.keys() | implied.keys()

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
        owed = False
        for s, sid, _, _, rival in plan:
            if sid in happened or s.ends == "rejected":
                continue
            alive = live_memo.get(sid)
            if alive is None:
                alive = live(s)
            if alive and (rival is None or rival.isdisjoint(happened)):
                owed = True
                break
        if not owed:
            ended, ended_at = "completed", done[-1].at

    open_steps: list[OpenStep] = []
    if ended is None:
        proved = {i.step.id: i.at for i in implied.values()}
        when_done = {**proved, **recorded}
        for s, sid, _, edges, rival in plan:
            if sid in happened:
                continue
            alive = live_memo.get(sid)
            if alive is None:
                alive = live(s)
            if not alive or s.ends == "rejected":
                continue
            if rival is not None and not rival.isdisjoint(happened):
                continue
            since: dt.datetime | None = None
            ready = True
            for group, _ in edges:
                if len(group) == 1:
                    t = when_done.get(group[0])
                    if t is not None:
                        since = max(since, t) if since else t
                    elif live(by_id[group[0]]):
                        ready = False
                        break
                    continue
                hits = [when_done[g] for g in group if g in when_done]
                if hits:
                    since = max(since, min(hits)) if since else min(hits)
                elif any(live(by_id[g]) for g in group):
                    ready = False
                    break
            if ready:
                open_steps.append(OpenStep(s, since))
    order = process.step_order
    return Walk(
        done,
        tuple(sorted(implied.values(), key=lambda i: order[i.step.id]))
        if len(implied) > 1
        else tuple(implied.values()),
        tuple(breaks.values()),
        tuple(open_steps),
        ended,
        ended_at,
        tuple((e, at) for at, e in after_end),
        repeated,
    )


def _second(pair: tuple[str, dt.datetime]) -> dt.datetime:
    return pair[1]


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class Turn:
    """An open step as the report shows it: whose turn (roles), since when, due by which rule."""

    step: Step
    roles: tuple[str, ...]
    since: dt.datetime | None
    due: dt.datetime | None = None
    rule: str | None = None


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
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
