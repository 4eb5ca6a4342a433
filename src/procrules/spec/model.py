"""The compiled form of the specs: frozen, fully resolved, fast to evaluate.

Built only by `spec.compile`; read by the engine. Holds no file handles and no mutable state,
so one compiled set serves many threads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from ..expressions import Expression, Missing


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Tariff:
    currency: str
    water_types: dict[str, Label]
    prices: dict[str, Decimal]
    file: str = ""

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
    id: str
    roles: tuple[str, ...]
    event: str
    label: Label
    rule: str | None = None
    after: tuple[str, ...] = ()
    requires: tuple[Precedence, ...] = ()


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
    """

    receipt: str = "calendar_date"
    receipt_cutoff: dt.time | None = None
    ends: str = "midnight"


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
    roll: str = "none"  # for end_of_month: none | forward | backward
    when: Expression | None = None
    on_breach: Finding | None = None
    counting: Counting = field(default_factory=Counting)


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
