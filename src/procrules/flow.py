"""The walk through a flow: step order, steps a partial record proves, where the case stands.

Pure: reads the compiled steps and a case's event log, never the clock or files. The engine
turns what the walk finds into findings and lends the implied events to the SLA clocks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from .sla import plain_cycles
from .spec.model import Deadline, Label, Precedence, Process, Step

T = TypeVar("T")


class _Built(Generic[T]):
    """A field worked out when first read: the owner's `_build()` fills `_<name>` (and clears
    `_later`, what it is built from)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    @overload
    def __get__(self, obj: None, owner: type) -> _Built[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: Any, owner: type) -> T | _Built[T]:
        if obj is None:
            return self
        if obj._later is not None:
            obj._build()
        value: T = getattr(obj, self.slot)
        return value


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


class Walk:
    """What the walk found: the steps done, implied and broken, the open steps, the end.

    A walk replayed from its shape (see Shape) with nothing implied, broken, repeated or after
    the end builds its steps done and open only when they are read (by the position, when a
    report is shown): a batch that reads the findings and clocks alone never builds them.
    Read-only by convention."""

    __slots__ = (
        "_done", "implied", "breaks", "_open", "ended", "_ended_at", "after_end", "repeated",
        "_later", "shape",
    )  # fmt: skip

    def __init__(
        self,
        done: tuple[DoneStep, ...],
        implied: tuple[Implied, ...],
        breaks: tuple[OrderBreak, ...],
        open: tuple[OpenStep, ...],
        ended: str | None,  # completed | rejected | closed
        ended_at: dt.datetime | None,
        after_end: tuple[tuple[str, dt.datetime], ...],  # events recorded after a terminal step
        repeated: tuple[DoneStep, ...],  # steps that may not repeat, recorded more than once
    ) -> None:
        self._done, self.implied, self.breaks, self._open = done, implied, breaks, open
        self.ended, self._ended_at, self.after_end, self.repeated = (
            ended,
            ended_at,
            after_end,
            repeated,
        )
        self._later: tuple[Shape, list[tuple[dt.datetime, str]]] | None = None
        self.shape: Shape | None = None  # the shape it was replayed from, if any

    @classmethod
    def later(cls, shape: Shape, events: list[tuple[dt.datetime, str]]) -> Walk:
        """A walk of a shape with nothing implied, broken, repeated or after the end."""
        walked = cls.__new__(cls)
        walked.implied, walked.breaks, walked.after_end, walked.repeated = (), (), (), ()
        walked.ended = shape.ended
        walked._later = (shape, events)
        walked.shape = shape
        return walked

    def _build(self) -> None:
        later = self._later
        if later is not None:
            built = later[0].build(later[1])
            self._done, self._open, self._ended_at = built.done, built.open, built.ended_at
            self._later = None

    done: _Built[tuple[DoneStep, ...]] = _Built()
    open: _Built[tuple[OpenStep, ...]] = _Built()
    ended_at: _Built[dt.datetime | None] = _Built()

    def _values(self) -> tuple[object, ...]:
        return (
            self.done, self.implied, self.breaks, self.open, self.ended, self.ended_at,
            self.after_end, self.repeated,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Walk):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        names = ("done", "implied", "breaks", "open", "ended", "ended_at", "after_end", "repeated")
        return (
            "Walk("
            + ", ".join(f"{n}={v!r}" for n, v in zip(names, self._values(), strict=True))
            + ")"
        )

    def __reduce__(self) -> tuple[type[Walk], tuple[object, ...]]:
        return Walk, self._values()

    def implied_event(self, event: str) -> Implied | None:
        return next((i for i in self.implied if i.step.event == event), None)


# A walk's shape: which steps are done, implied, broken, open, and from which event's time,
# given the order of the events and the answers to the conditions the walk asked. Cases of a
# flow share a few shapes, so a walk is looked up by the order of its events and replayed
# when the conditions it asks give the same answers (asked in the same order: a condition
# that reports a missing fact reports it as the walk would).
SHAPES_PER_ORDER = 4  # shapes kept for one order of events (one per set of answers)
Trace = tuple[tuple[bool, "Step | Precedence", bool], ...]  # (is a step, asked of, answer)


@dataclass(slots=True)
class Shape:
    trace: Trace
    done: tuple[tuple[Step, int, int], ...]  # step, index of its time in the events, count
    implied: tuple[tuple[Step, Step, int], ...]
    breaks: tuple[tuple[Step, int, Step, int | None, str | None, bool], ...]
    open: tuple[tuple[Step, int | None], ...]
    ended: str | None
    ended_at: int | None
    after_end: tuple[tuple[str, int], ...]
    repeated: tuple[int, ...]  # indices into done
    names: tuple[str, ...] = ()  # the events, in order
    cycles: tuple[tuple[tuple[int, int | None], ...] | None, ...] | None = None

    def clock_cycles(
        self, deadlines: tuple[Deadline, ...]
    ) -> tuple[tuple[tuple[int, int | None], ...] | None, ...]:
        """Each deadline's cycles in this order of events, as indices of the events that start
        and stop them (None: still running), as `sla.plain_cycles` finds them; None for a deadline
        that pauses (judged from the events themselves). Worked out once per shape."""
        cycles = self.cycles
        if cycles is None:
            found = [
                None if deadline.pause or deadline.resume else plain_cycles(deadline, self.names)
                for deadline in deadlines
            ]
            cycles = self.cycles = tuple(found)
        return cycles

    def build(self, events: list[tuple[dt.datetime, str]]) -> Walk:
        times = [at for at, _ in events]
        done = tuple([DoneStep(step, times[i], count) for step, i, count in self.done])
        return Walk(
            done,
            tuple([Implied(step, by, times[i]) for step, by, i in self.implied])
            if self.implied
            else (),
            tuple(
                [
                    OrderBreak(step, times[i], before, None if j is None else times[j], rule, c)
                    for step, i, before, j, rule, c in self.breaks
                ]
            )
            if self.breaks
            else (),
            tuple([OpenStep(step, None if i is None else times[i]) for step, i in self.open]),
            self.ended,
            None if self.ended_at is None else times[self.ended_at],
            tuple([(e, times[i]) for e, i in self.after_end]) if self.after_end else (),
            tuple([done[i] for i in self.repeated]) if self.repeated else (),
        )


def _shape(result: Walk, events: list[tuple[dt.datetime, str]], trace: Trace) -> Shape | None:
    """The shape of a walk, its times as indices into the events; None if a time is not one
    of the events' own (never expected: then the walk is not kept)."""
    index = {id(at): i for i, (at, _) in enumerate(events)}
    try:
        done_index = {id(d): n for n, d in enumerate(result.done)}
        return Shape(
            trace,
            tuple((d.step, index[id(d.at)], d.count) for d in result.done),
            tuple((m.step, m.by, index[id(m.at)]) for m in result.implied),
            tuple(
                (
                    b.step,
                    index[id(b.at)],
                    b.before,
                    None if b.before_at is None else index[id(b.before_at)],
                    b.rule,
                    b.control,
                )
                for b in result.breaks
            ),
            tuple((o.step, None if o.since is None else index[id(o.since)]) for o in result.open),
            result.ended,
            None if result.ended_at is None else index[id(result.ended_at)],
            tuple((e, index[id(at)]) for e, at in result.after_end),
            tuple(done_index[id(d)] for d in result.repeated),
            tuple(event for _, event in events),
        )
    except KeyError:
        return None


def walk(
    process: Process,
    events: list[tuple[dt.datetime, str]],
    applies: Callable[[Step], bool],
    holds: Callable[[Precedence], bool],
    shapes: dict[tuple[int, tuple[str | None, ...]], list[Shape]] | None = None,
) -> Walk:
    """Replay the recorded events (in time order) over the steps; `shapes`: walks already
    done, by process and order of events (see Shape)."""
    if shapes is None:
        return _walk(process, events, applies, holds)
    order: list[str | None] = []
    previous: dt.datetime | None = None
    for at, event in events:
        if at == previous:
            order.append(None)  # the same time as the event before
        order.append(event)
        previous = at
    key = (id(process), tuple(order))
    answers: dict[int, bool] = {}  # id(step or control point) -> its answer in this case
    known = shapes.get(key)
    if known:
        for shape in known:
            for is_step, of, answer in shape.trace:
                got = answers.get(id(of))
                if got is None:
                    got = answers[id(of)] = applies(of) if is_step else holds(of)  # type: ignore[arg-type]
                if got != answer:
                    break
            else:
                if not (shape.implied or shape.breaks or shape.after_end or shape.repeated):
                    return Walk.later(shape, events)  # nothing to say but the position
                return shape.build(events)
    trace: list[tuple[bool, Step | Precedence, bool]] = []

    def ask(is_step: bool, of: Step | Precedence) -> bool:
        answer = answers.get(id(of))
        if answer is None:
            answer = answers[id(of)] = applies(of) if is_step else holds(of)  # type: ignore[arg-type]
        return answer

    def applies_traced(step: Step) -> bool:
        answer = ask(True, step)
        trace.append((True, step, answer))
        return answer

    def holds_traced(point: Precedence) -> bool:
        answer = ask(False, point)
        trace.append((False, point, answer))
        return answer

    result = _walk(process, events, applies_traced, holds_traced)
    new = _shape(result, events, tuple(trace))
    if new is not None:
        if known is None:
            if len(shapes) >= SHAPES_LIMIT:
                shapes.clear()
            shapes[key] = [new]
        elif len(known) < SHAPES_PER_ORDER:
            known.append(new)
    return result


SHAPES_LIMIT = 4_096  # orders of events kept, all processes together, before starting afresh


def _walk(
    process: Process,
    events: list[tuple[dt.datetime, str]],
    applies: Callable[[Step], bool],
    holds: Callable[[Precedence], bool],
) -> Walk:
    """Replay the recorded events (in time order) over the steps. `applies(step)`: the step's
    `when` holds for this case; `holds(precedence)`: a control point's `when` holds.

    Work follows the steps a case touches: a recorded step whose predecessors were recorded
    before it costs a lookup per predecessor; the search for breaks and implied steps runs
    only for a step with a predecessor missing or late."""
    by_id = process.step_by_id
    steps_of = process.steps_by_event
    step_edges = process.step_edges
    # each event's first time and count, and the steps recorded, in time order
    counts: dict[str, int] = {}
    recorded: dict[str, dt.datetime] = {}
    ties = False
    previous: dt.datetime | None = None
    for at, event in events:
        if event in counts:
            counts[event] += 1
            continue
        counts[event] = 1
        sids = steps_of.get(event)
        if sids:
            if (previous is not None and at == previous) or len(sids) > 1:
                ties = True
            previous = at
            for sid in sids:
                recorded[sid] = at
    if ties:  # equal times: the steps in the flow's order
        order = process.step_order
        sequence = sorted(recorded.items(), key=lambda r: (r[1], order[r[0]]))
    else:
        sequence = list(recorded.items())
    breaks: dict[tuple[str, str], OrderBreak] = {}
    implied: dict[str, Implied] = {}
    live_memo = dict(process.step_live)
    holds_memo: dict[int, bool] = {}

    def live(step: Step) -> bool:
        alive = live_memo.get(step.id)
        if alive is None:
            alive = live_memo[step.id] = not step.optional and applies(step)
        return alive

    done_steps = []
    for sid, at in sequence:
        step = by_id[sid]
        done_steps.append(DoneStep(step, at, counts[step.event]))
        edges = step_edges[sid]
        if not edges:
            continue
        for group, _ in edges:  # the usual case: every predecessor recorded before the step
            if len(group) == 1:
                t = recorded.get(group[0])
                if t is None or t > at:
                    break
            elif not any((t := recorded.get(g)) is not None and t <= at for g in group):
                break
        else:
            continue
        _search(step, at, step, True, {sid}, by_id, step_edges, recorded, breaks, implied, live,
                holds, holds_memo)  # fmt: skip
    done = tuple(done_steps)

    repeated = tuple(d for d in done if d.count > 1 and not d.step.repeats)
    happened: dict[str, dt.datetime] | set[str] = (
        recorded.keys() | implied.keys() if implied else recorded
    )

    # the end: the first terminal step recorded, else every step the case needs is done
    ended: str | None = None
    ended_at: dt.datetime | None = None
    after_end: list[tuple[dt.datetime, str]] = []
    terminal = next((d for d in done if d.step.ends), None)
    if terminal is not None:
        ended, ended_at = terminal.step.ends, terminal.at
        last = terminal.step.event
        after_end = sorted((at, e) for at, e in events if at > terminal.at and e != last)
    elif done:
        # a step every case needs, not done yet, is owed; else look at the conditional ones
        owed = not all(sid in happened for sid in process.steps_owed)
        for s, sid, _, _, rival in () if owed else process.step_plan:
            if sid in happened or s.ends == "rejected":
                continue
            if (rival is None or rival.isdisjoint(happened)) and live(s):
                owed = True
                break
        if not owed:
            ended, ended_at = "completed", done[-1].at

    open_steps: list[OpenStep] = []
    if ended is None:
        if implied:
            when_done = {i.step.id: i.at for i in implied.values()}
            when_done.update(recorded)
        else:
            when_done = recorded
        for s, sid, edges, rival, blocker in process.open_plan:
            if sid in happened or (blocker is not None and blocker not in happened):
                continue
            if rival is not None and not rival.isdisjoint(happened):
                continue
            since: dt.datetime | None = None
            ready = True
            for group, _ in edges:
                if len(group) == 1:
                    g = group[0]
                    t = when_done.get(g)
                    if t is not None:
                        since = max(since, t) if since else t
                        continue
                    alive = live_memo.get(g)
                    if alive or (alive is None and live(by_id[g])):
                        ready = False
                        break
                    continue
                hits = [when_done[g] for g in group if g in when_done]
                if hits:
                    since = max(since, min(hits)) if since else min(hits)
                elif any(live(by_id[g]) for g in group):
                    ready = False
                    break
            if ready and (live_memo.get(sid) or live(s)):
                open_steps.append(OpenStep(s, since))
    if len(implied) > 1:
        order = process.step_order
        implied_steps = tuple(sorted(implied.values(), key=lambda i: order[i.step.id]))
    else:
        implied_steps = tuple(implied.values())
    return Walk(
        done,
        implied_steps,
        tuple(breaks.values()),
        tuple(open_steps),
        ended,
        ended_at,
        tuple((e, at) for at, e in after_end),
        repeated,
    )


def _search(
    origin: Step,
    at: dt.datetime,
    node: Step,
    control: bool,
    seen: set[str],
    by_id: dict[str, Step],
    step_edges: dict[str, tuple[tuple[tuple[str, ...], tuple[Precedence, ...]], ...]],
    recorded: dict[str, dt.datetime],
    breaks: dict[tuple[str, str], OrderBreak],
    implied: dict[str, Implied],
    live: Callable[[Step], bool],
    holds: Callable[[Precedence], bool],
    holds_memo: dict[int, bool],
) -> None:
    """The predecessors of `node` that `origin` (recorded at `at`) needs: a break for one
    recorded later (or a strict control point never recorded), else the single live step of
    each missing group is implied, and its own predecessors searched in turn."""
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
        guard: Precedence | None = None
        for p in guards:  # the control point guarding the edge: the first whose `when` holds
            key = id(p)
            if key not in holds_memo:
                holds_memo[key] = holds(p)
            if holds_memo[key]:
                guard = p
                break
        is_control = control and guard is not None
        rule = guard.rule if is_control and guard else origin.rule or node.rule
        if earliest is not None:
            key2 = (origin.id, earliest[1])
            if key2 not in breaks:
                before = by_id[earliest[1]]
                breaks[key2] = OrderBreak(origin, at, before, earliest[0], rule, is_control)
            continue
        if guard is not None and guard.strict and node is origin:
            key2 = (origin.id, guard.step)
            if key2 not in breaks:
                breaks[key2] = OrderBreak(origin, at, by_id[guard.step], None, guard.rule, True)
            continue
        candidates = [by_id[g] for g in group if live(by_id[g])]
        if len(candidates) != 1:  # no live step, or alternatives: nothing single to prove
            continue
        missing = candidates[0]
        if missing.id not in implied:
            implied[missing.id] = Implied(missing, origin, at)
        if missing.id not in seen:
            seen.add(missing.id)
            _search(origin, at, missing, is_control, seen, by_id, step_edges, recorded, breaks,
                    implied, live, holds, holds_memo)  # fmt: skip


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class Turn:
    """An open step as the report shows it: whose turn (roles), since when, due by which rule."""

    step: Step
    roles: tuple[str, ...]
    since: dt.datetime | None
    due: dt.datetime | None = None
    rule: str | None = None


class Position:
    """Where a case stands: steps done (recorded), steps proven but not recorded, the open
    steps and whose turn each is, and whether the flow has ended.

    Built from a walk (`Position.of`), it works out the turns, roles and their names when they
    are first read (when a report is shown). Read-only by convention."""

    __slots__ = ("_done", "_missing", "_open", "_ended", "_ended_at", "_roles", "_role_labels",
                 "_later")  # fmt: skip

    def __init__(
        self,
        done: tuple[DoneStep, ...],
        missing: tuple[Implied, ...],
        open: tuple[Turn, ...],
        ended: str | None = None,
        ended_at: dt.datetime | None = None,
        roles: dict[str, tuple[str, ...]] | None = None,  # step id -> roles
        role_labels: dict[str, Label] | None = None,
    ) -> None:
        self._done, self._missing, self._open = done, missing, open
        self._ended, self._ended_at = ended, ended_at
        self._roles = {} if roles is None else roles
        self._role_labels = {} if role_labels is None else role_labels
        self._later: (
            tuple[Walk, tuple[Any, ...], tuple[Any, ...], Process, dict[str, Label]] | None
        ) = None

    @classmethod
    def of(
        cls,
        walked: Walk,
        clocks: tuple[Any, ...],
        approvals: tuple[Any, ...],
        process: Process,
        labels: dict[str, Label],
    ) -> Position:
        """The position after a walk, with the case's clocks (the due time of each open step
        whose clock runs), the approvals the routing rules ask for (their `approver`s), and
        the roles' names."""
        position = cls.__new__(cls)
        position._later = (walked, clocks, approvals, process, labels)
        return position

    def _build(self) -> None:
        later = self._later
        if later is None:
            return
        walked, clocks, approvals, process, labels = later
        approvers = tuple([a.approver for a in approvals])
        fixed = process.step_roles  # a step's roles, None for the approver lane
        turns = []
        for o in walked.open:
            step = o.step
            event = step.event
            clock = None
            for c in clocks:  # the clock this step stops, if it is still counting
                if event in c.deadline.stop and c.status in RUNNING:
                    clock = c
                    break
            roles = fixed[step.id]
            turns.append(
                Turn(
                    step,
                    roles if roles is not None else lane_roles(step, approvers),
                    o.since,
                    clock.due if clock else None,
                    clock.deadline.rule if clock else None,
                )
            )
        by_step: dict[str, tuple[str, ...]] = {}
        for d in walked.done:
            step = d.step
            roles = fixed[step.id]
            by_step[step.id] = roles if roles is not None else lane_roles(step, approvers)
        for turn in turns:
            by_step[turn.step.id] = turn.roles
        self._done, self._missing, self._open = walked.done, walked.implied, tuple(turns)
        self._ended, self._ended_at = walked.ended, walked.ended_at
        self._roles = by_step
        self._role_labels = {r: labels[r] for rs in by_step.values() for r in rs if r in labels}
        self._later = None

    done: _Built[tuple[DoneStep, ...]] = _Built()
    missing: _Built[tuple[Implied, ...]] = _Built()
    open: _Built[tuple[Turn, ...]] = _Built()
    ended: _Built[str | None] = _Built()
    ended_at: _Built[dt.datetime | None] = _Built()
    roles: _Built[dict[str, tuple[str, ...]]] = _Built()  # step id -> roles
    role_labels: _Built[dict[str, Label]] = _Built()

    def _values(self) -> tuple[object, ...]:
        return (
            self.done, self.missing, self.open, self.ended, self.ended_at, self.roles,
            self.role_labels,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Position):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # holds dicts

    def __repr__(self) -> str:
        names = ("done", "missing", "open", "ended", "ended_at", "roles", "role_labels")
        return (
            "Position("
            + ", ".join(f"{n}={v!r}" for n, v in zip(names, self._values(), strict=True))
            + ")"
        )

    def __reduce__(self) -> tuple[type[Position], tuple[object, ...]]:
        return Position, self._values()


RUNNING = frozenset({"running", "at_risk", "breached"})  # a clock still counting


def lane_roles(step: Step, approvers: tuple[str, ...]) -> tuple[str, ...]:
    """The step's roles; the `approver` lane is whoever the routing rules name."""
    if "approver" not in step.roles and len(step.roles) < 2:
        return step.roles
    if len(step.roles) == 1 and len(approvers) < 2:  # the approver lane alone
        return (approvers[0],) if approvers else step.roles
    out: list[str] = []
    for role in step.roles:
        if role == "approver":
            out.extend(approvers) if approvers else out.append(role)
        else:
            out.append(role)
    return tuple(dict.fromkeys(out))
