"""The compiled form of the specs: frozen, fully resolved, fast to evaluate.

Built only by `spec.compile`; read by the engine. Holds no file handles and no mutable state,
so one compiled set serves many threads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from ..expressions import Expression, Missing


@dataclass(frozen=True, slots=True)
class Label:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Catalog:
    customer_types: dict[str, Label]
    roles: dict[str, Label]
    documents: dict[str, Label]
    rules: dict[str, Label]
    document_by_name: dict[str, str]  # Chinese name -> id
    file: str = ""
    positions: dict[tuple[str | int, ...], tuple[int, int]] = field(
        default_factory=dict, repr=False, compare=False
    )  # JSON path -> (line, column) in `file`
    # document id -> the documents it may stand in for (household_register_copy -> id_card_copy)
    substitutes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def accepted(self, document: str) -> tuple[str, ...]:
        """A document asked for, then every document the catalogue lets stand in for it."""
        return (document, *(d for d, instead in self.substitutes.items() if document in instead))


@dataclass(frozen=True)
class Tariff:
    currency: str
    water_types: dict[str, Label]
    prices: dict[str, Decimal]
    file: str = ""
    water_type_by_name: dict[str, str] = field(default_factory=dict)  # 居民生活用水 -> residential

    def water_type(self, value: str) -> str | None:
        """The id of a water-use type given by id, Chinese name or alias; None if unknown."""
        if value in self.prices:
            return value
        return self.water_type_by_name.get(value.strip())

    def price(self, water_type: str) -> Decimal:
        try:
            return self.prices[water_type]
        except KeyError:
            raise Missing(f"tariff.{water_type}") from None

    def direction(self, current: str, target: str) -> str:
        """WT-APPROVER: upgrade (低改高) or downgrade (高改低) by the order of prices."""
        a, b = self.price(current), self.price(target)
        return "upgrade" if b > a else "downgrade" if b < a else "same"


@dataclass(frozen=True)
class Fact:
    name: str
    type: str  # number | integer | money | bool | string | water_type | enum
    label: Label
    values: tuple[str, ...] = ()
    default: object = None
    required_by: str | None = None
    required_when: Expression | None = None
    value_labels: dict[str, Label] = field(default_factory=dict)  # enum value -> its name
    minimum: Decimal | None = None  # of a number fact; money is at least 0 unless given
    maximum: Decimal | None = None


@dataclass(frozen=True)
class Requirement:
    """Documents one rule asks of some customer types; each item lists accepted alternatives."""

    rule: str
    customer_types: frozenset[str]
    items: tuple[tuple[str, ...], ...]
    when: Expression | None = None
    note: Label | None = None  # the condition in words, for the service guide


@dataclass(frozen=True)
class Check:
    """A gate or a check: when `when` holds, the case gets a finding."""

    rule: str
    code: str
    severity: str
    when: Expression
    message: Label
    gate: bool = False


@dataclass(frozen=True)
class Precedence:
    """The step's event must come after `event`. Logs are often partial, so by default only a
    recorded `event` that is later counts; `strict` also flags one never recorded before it."""

    step: str
    event: str
    rule: str
    when: Expression | None = None
    strict: bool = False


@dataclass(frozen=True)
class Step:
    """One step of the flow. `after` lists every step it follows (for charts); `after_groups`
    says how: each group is satisfied by any one of its steps (`any_of` alternatives).
    `requires` are the seed's control points (an error when broken); `after` alone is the
    chart order (a warning). `when` makes a step conditional, `optional` lets it be skipped,
    `repeats` lets it happen more than once, `ends` (completed | rejected | closed) ends the
    flow, `alternative_to` names the steps taken instead of it."""

    id: str
    roles: tuple[str, ...]
    event: str
    label: Label
    rule: str | None = None
    after: tuple[str, ...] = ()
    requires: tuple[Precedence, ...] = ()
    after_groups: tuple[tuple[str, ...], ...] = ()
    when: Expression | None = None
    optional: bool = False
    repeats: bool = False
    ends: str | None = None
    alternative_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Approval:
    rule: str
    approver: str
    when: Expression | None = None
    note: Label | None = None  # the condition in words, for the service guide


@dataclass(frozen=True)
class Amount:
    rule: str
    name: str
    label: Label
    formula: Expression
    when: Expression | None = None
    explain: Label | None = None


@dataclass(frozen=True)
class Duration:
    """How long a deadline runs. kind: working_days, calendar_days, weeks, months, hours,
    working_hours, end_of_month, same_day_cutoff."""

    kind: str
    amount: int = 0
    cutoff: dt.time | None = None
    text: str = ""


@dataclass(frozen=True)
class Counting:
    """How a day-counted period starts and ends (docs/decisions/0003-counting-conventions.md).

    receipt: `calendar_date` (an event on a rest day or after hours counts from its own date) or
    `next_working_day` (deemed received on the next working day; with `receipt_cutoff`, so is an
    event at or after that time). ends: `midnight` (24:00) or `close` (business hours' close).
    count_start_day: the day of receipt counts (a local 含受理当日 commitment), against 民法典
    art. 201's default.
    """

    receipt: str = "calendar_date"
    receipt_cutoff: dt.time | None = None
    ends: str = "midnight"
    count_start_day: bool = False  # 含受理当日: the day of receipt is the first day counted


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    message: Label


@dataclass(frozen=True)
class Deadline:
    rule: str
    id: str
    label: Label
    start: tuple[str, ...]
    stop: tuple[str, ...]
    duration: Duration
    warn_at: float = 0.75
    pause: tuple[str, ...] = ()
    resume: tuple[str, ...] = ()
    restart_on_resume: bool = False
    roll: str = "forward"  # for end_of_month: none | forward (RULES.md's default) | backward
    when: Expression | None = None
    on_breach: Finding | None = None
    counting: Counting = field(default_factory=Counting)
    # steps of other roles the clock may run across, with the reason (lint's exception)
    runs_across: tuple[str, ...] = ()
    runs_across_reason: Label | None = None


@dataclass(frozen=True)
class Informational:
    rule: str
    reason: Label


@dataclass(frozen=True)
class Process:
    id: str
    label: Label
    version: str
    effective_from: dt.date
    description: Label | None
    roles: tuple[str, ...]
    events: dict[str, Label]
    facts: dict[str, Fact]
    derive: tuple[tuple[str, Expression], ...]
    documents: tuple[Requirement, ...]
    gates: tuple[Check, ...]
    checks: tuple[Check, ...]
    steps: tuple[Step, ...]
    approvals: tuple[Approval, ...]
    amounts: tuple[Amount, ...]
    deadlines: tuple[Deadline, ...]
    informational: tuple[Informational, ...]
    file: str
    event_by_name: dict[str, str] = field(default_factory=dict)  # Chinese label -> id
    positions: dict[tuple[str | int, ...], tuple[int, int]] = field(
        default_factory=dict, repr=False, compare=False
    )  # JSON path -> (line, column) in `file`, for analyses that point back at the spec

    # The steps indexed once per compiled process, for the walk over each case's events.
    @cached_property
    def step_by_id(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    @cached_property
    def step_edges(self) -> dict[str, tuple[tuple[tuple[str, ...], tuple[Precedence, ...]], ...]]:
        """Each step's groups of predecessors (`after`, then control points not in `after`),
        each with the control points that may guard it (their `when` decides per case)."""
        out = {}
        for s in self.steps:
            listed = {g for group in s.after_groups for g in group}
            edges = [
                (group, tuple(p for p in s.requires if p.step in group)) for group in s.after_groups
            ]
            edges += [((p.step,), (p,)) for p in s.requires if p.step not in listed]
            out[s.id] = tuple(edges)
        return out

    @cached_property
    def step_plan(
        self,
    ) -> tuple[
        tuple[
            Step,
            str,
            str,
            tuple[tuple[tuple[str, ...], tuple[Precedence, ...]], ...],
            frozenset[str] | None,
        ],
        ...,
    ]:
        """Each step, in order, with what the walk reads of it: id, event, predecessor groups
        (`step_edges`) and rivals (`step_rivals`, None when it has none)."""
        edges, rivals = self.step_edges, self.step_rivals
        return tuple((s, s.id, s.event, edges[s.id], rivals.get(s.id)) for s in self.steps)

    @cached_property
    def steps_owed(self) -> tuple[str, ...]:
        """The steps every case of this flow must take: unconditional, not optional, with no
        alternative and not a rejection."""
        rivals = self.step_rivals
        return tuple(
            s.id
            for s in self.steps
            if s.when is None and not s.optional and s.ends != "rejected" and s.id not in rivals
        )

    @cached_property
    def open_plan(
        self,
    ) -> tuple[
        tuple[
            Step,
            str,
            tuple[tuple[tuple[str, ...], tuple[Precedence, ...]], ...],
            frozenset[str] | None,
            str | None,
        ],
        ...,
    ]:
        """The steps that may become open (not rejections), in order, each with its predecessor
        groups, its rivals and its blocker: a predecessor every case takes, so that the step
        cannot be open before it is done (None when it has none)."""
        live = self.step_live
        out = []
        for s, sid, _, edges, rival in self.step_plan:
            if s.ends == "rejected":
                continue
            blocker = next((g[0] for g, _ in edges if len(g) == 1 and live.get(g[0]) is True), None)
            out.append((s, sid, edges, rival, blocker))
        return tuple(out)

    @cached_property
    def step_roles(self) -> dict[str, tuple[str, ...] | None]:
        """Each step's roles, once each; None for a step in the approver lane (whoever the
        routing rules name decides, per case)."""
        return {
            s.id: None if "approver" in s.roles else tuple(dict.fromkeys(s.roles))
            for s in self.steps
        }

    @cached_property
    def required_facts(self) -> tuple[tuple[Fact, str], ...]:
        """The facts a rule requires, with their name in a case's context."""
        return tuple((f, f"facts.{f.name}") for f in self.facts.values() if f.required_by)

    @cached_property
    def gates_and_checks(self) -> tuple[Check, ...]:
        return (*self.gates, *self.checks)

    @cached_property
    def steps_by_event(self) -> dict[str, tuple[str, ...]]:
        """The steps each event records, in the flow's order."""
        out: dict[str, list[str]] = {}
        for s in self.steps:
            out.setdefault(s.event, []).append(s.id)
        return {event: tuple(ids) for event, ids in out.items()}

    @cached_property
    def step_live(self) -> dict[str, bool]:
        """Whether each unconditional step is live in every case (optional ones never are);
        a conditional step is decided per case by its `when`."""
        return {s.id: not s.optional for s in self.steps if s.when is None or s.optional}

    @cached_property
    def step_order(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.steps)}

    @cached_property
    def step_rivals(self) -> dict[str, frozenset[str]]:
        """Each step's alternatives, both ways round (`alternative_to` is symmetric)."""
        rivals: dict[str, set[str]] = {}
        for s in self.steps:
            for other in s.alternative_to:
                rivals.setdefault(s.id, set()).add(other)
                rivals.setdefault(other, set()).add(s.id)
        return {k: frozenset(v) for k, v in rivals.items()}

    @property
    def rules(self) -> frozenset[str]:
        """Every rule id this spec cites."""
        cited: set[str] = set()
        for group in (
            self.documents,
            self.gates,
            self.checks,
            self.approvals,
            self.amounts,
            self.deadlines,
            self.informational,
        ):
            cited.update(item.rule for item in group)
        cited.update(s.rule for s in self.steps if s.rule)
        cited.update(p.rule for s in self.steps for p in s.requires)
        cited.update(f.required_by for f in self.facts.values() if f.required_by)
        return frozenset(cited)
