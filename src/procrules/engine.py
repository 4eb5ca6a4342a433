"""Judge one case against its compiled process: pure evaluation, no I/O, no clock.

Input is a parsed application (already checked against the application schema) and `as_of`;
output is a `Report`. A business "no" becomes a finding; only input that cannot be judged at
all (a fact of the wrong type, an unreadable time) raises CaseError.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .calendar import SHANGHAI, Calendar
from .errors import (
    CaseError,
    InternalError,
    ProcrulesError,
    UsageError,
    did_you_mean,
    json_path,
)
from .expressions import (
    EVENTS_KEY,
    TARIFF_KEY,
    Broken,
    Expression,
    Missing,
    Unknown,
    arithmetic_reason,
    to_decimal,
)
from .limits import MAX_NUMBER, MAX_YEAR, MIN_YEAR, excerpt
from .sla import Clock, judge
from .spec.compile import SpecSet
from .spec.model import Label, Process

FEN = Decimal("0.01")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class FindingResult:
    code: str
    severity: str
    rule: str | None
    message: Label
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AmountResult:
    rule: str
    name: str
    label: Label
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ApprovalResult:
    rule: str
    approver: str
    label: Label


@dataclass(frozen=True)
class Report:
    """The verdict on one case; `report.to_dict()` is the JSON report of CONTRACT.md."""

    case_id: str | None
    process: Process
    as_of: dt.datetime
    missing_documents: tuple[str, ...]
    findings: tuple[FindingResult, ...]
    approvals: tuple[ApprovalResult, ...]
    amounts: tuple[AmountResult, ...]
    deadlines: tuple[Clock, ...]
    calendar_version: str
    source: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        from .report import report_to_dict

        return report_to_dict(self, lang)


def parse_time(value: str, path: tuple[str | int, ...], file: str) -> dt.datetime:
    """A case time keeps its offset; without one it is Asia/Shanghai; a bare date is 00:00."""
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CaseError.at(
            file,
            f"'{excerpt(value)}' is not a date or time",
            path=json_path(path),
            code="case_time",
        ) from None
    if not MIN_YEAR <= t.year <= MAX_YEAR:  # far years overflow offset and date arithmetic
        raise CaseError.at(
            file,
            f"{excerpt(value)} is outside the supported years {MIN_YEAR}-{MAX_YEAR}",
            path=json_path(path),
            code="case_time",
        )
    return t.replace(tzinfo=SHANGHAI) if t.tzinfo is None else t


def case_number(
    value: Any,
    file: str,
    path: str,
    what: str,
    low: Decimal | None = None,
    high: Decimal | None = None,
) -> Decimal:
    """A number of the case: a finite decimal (ASCII digits only) within [low, high], which
    default to -MAX_NUMBER and MAX_NUMBER (docs/limits.md)."""
    try:
        number = to_decimal(value)
    except TypeError:
        raise CaseError.at(
            file, f"{what} must be a number, not {excerpt(value)}", path=path, code="case_value"
        ) from None
    low = -MAX_NUMBER if low is None else max(low, -MAX_NUMBER)
    high = MAX_NUMBER if high is None else min(high, MAX_NUMBER)
    if number < low:
        message = f"{what} must be at least {low:f}" if low != -MAX_NUMBER else ""
        raise CaseError.at(
            file,
            message or f"{what} must be between {low:f} and {high:f}",
            path=path,
            code="case_value",
        )
    if number > high:
        raise CaseError.at(file, f"{what} must be at most {high:f}", path=path, code="case_value")
    return number


class _Findings:
    def __init__(self) -> None:
        self.items: list[FindingResult] = []
        self.missing_reported: set[str] = set()

    def add(
        self, code: str, severity: str, rule: str | None, zh: str, en: str, **extra: Any
    ) -> None:
        self.items.append(
            FindingResult(
                code,
                severity,
                rule,
                Label(zh, en),
                {k: v for k, v in extra.items() if v is not None},
            )
        )

    def missing(self, rule: str, name: str, severity: str = "error") -> None:
        if name in self.missing_reported:
            return
        self.missing_reported.add(name)
        self.add(
            "missing_fact",
            severity,
            rule,
            f"缺少 {name}，无法判断 {rule}",
            f"{rule} needs {name}, which the case does not give",
            fact=name,
        )


class Engine:
    """Compiled specs plus a calendar: check many cases, from many threads."""

    def __init__(self, specs: SpecSet, calendar: Calendar) -> None:
        self.specs = specs
        self.calendar = calendar

    def process(self, process_id: str) -> Process | None:
        return self.specs.processes.get(process_id)

    def check(
        self,
        case: dict[str, Any],
        as_of: dt.datetime,
        file: str = "<case>",
        policy_date: dt.date | None = None,
    ) -> Report:
        """Judge a validated case by the version of its process in force on the policy date.
        Anything unforeseen becomes an InternalError naming the case: never a verdict."""
        try:
            return self.judge(case, as_of, file, policy_date).run()
        except ProcrulesError:
            raise
        except Exception as exc:
            raise InternalError.wrap(exc, file) from exc

    def judge(
        self,
        case: dict[str, Any],
        as_of: dt.datetime,
        file: str = "<case>",
        policy_date: dt.date | None = None,
    ) -> _Judgement:
        process_id = case["process"]
        if process_id not in self.specs.versions:
            raise CaseError.at(
                file,
                f"unknown process '{process_id}'",
                path="$.process",
                code="unknown_process",
                suggestion=did_you_mean(process_id, self.specs.versions),
            )
        if not self.calendar.covers(as_of.astimezone(SHANGHAI).date()):
            raise CaseError.at(
                "--as-of", f"{as_of.isoformat()} is outside the calendar", code="case_time"
            )
        versions = self.specs.versions[process_id]
        if len(versions) == 1:  # the usual case: no policy date to work out
            return _Judgement(self, versions[0], case, as_of, file)
        process = self.specs.in_force(process_id, policy_date or received_on(case, as_of, file))
        assert process is not None
        return _Judgement(self, process, case, as_of, file)


def received_on(case: dict[str, Any], as_of: dt.datetime, file: str) -> dt.date:
    """The policy date of a case: when its application was received (the event, or the case's
    received_at), else its earliest event, else as_of; always a date in Asia/Shanghai."""
    times = []
    for i, item in enumerate(case.get("events") or []):
        at = parse_time(item["at"], ("events", i, "at"), file)
        if item["event"] == "application_received":
            return at.astimezone(SHANGHAI).date()
        times.append(at)
    if case.get("received_at"):
        return parse_time(case["received_at"], ("received_at",), file).astimezone(SHANGHAI).date()
    return min(times, default=as_of).astimezone(SHANGHAI).date()


class _Judgement:
    """The state of judging one case; lives for one call."""

    def __init__(
        self, engine: Engine, process: Process, case: dict[str, Any], as_of: dt.datetime, file: str
    ) -> None:
        self.engine = engine
        self.process = process
        self.case = case
        self.as_of = as_of
        self.file = file
        self.found = _Findings()
        self.ctx: dict[str, Any] = {TARIFF_KEY: engine.specs.tariff}
        self.events: list[tuple[dt.datetime, str]] = []
        self.required: set[str] = set()  # inputs the spec requires of this case
        self.given: set[str] = set()  # the documents given, by id

    # -- reading the case ------------------------------------------------------------------
    def read_customer(self) -> None:
        customer = self.case["customer"]
        for key, value in customer.items():
            if key in ("arrears", "arrears_months") and value is not None:
                # money is never negative; arrears_months is a whole number (the schema says)
                value = case_number(value, self.file, f"$.customer.{key}", key, Decimal(0))
            self.ctx[f"customer.{key}"] = value
        water_type = customer.get("water_type")
        if water_type is not None and water_type not in self.engine.specs.tariff.prices:
            raise CaseError.at(
                self.file,
                f"unknown water-use type '{excerpt(water_type)}'",
                path="$.customer.water_type",
                code="case_value",
                suggestion=did_you_mean(water_type, self.engine.specs.tariff.prices),
            )

    def read_facts(self) -> None:
        facts = self.case.get("facts") or {}
        declared = self.process.facts
        for name, value in facts.items():
            fact = declared.get(name)
            if fact is None:
                self.found.add(
                    "unknown_fact",
                    "warning",
                    None,
                    f"未知事实 '{excerpt(name)}' 未被使用",
                    f"unknown fact '{excerpt(name)}' was not used",
                    fact=name,
                    suggestion=did_you_mean(name, declared),
                )
                continue
            self.ctx[f"facts.{name}"] = self.coerce(fact.type, fact.values, value, name)
        for name, fact in declared.items():
            if self.ctx.get(f"facts.{name}") is None and fact.default is not None:
                self.ctx[f"facts.{name}"] = fact.default

    def coerce(self, kind: str, values: tuple[str, ...], value: Any, name: str) -> Any:
        path = f"$.facts.{name}"
        if value is None:
            return None
        if kind in ("number", "money", "integer"):
            fact = self.process.facts[name]
            low = fact.minimum
            if low is None and kind == "money":
                low = Decimal(0)  # money is never negative unless the spec gives a minimum
            number = case_number(value, self.file, path, f"fact '{name}'", low, fact.maximum)
            if kind == "integer" and number != number.to_integral_value():
                raise CaseError.at(
                    self.file, f"fact '{name}' must be a whole number", path=path, code="case_value"
                )
            return number
        if kind == "bool":
            if not isinstance(value, bool):
                raise CaseError.at(
                    self.file, f"fact '{name}' must be true or false", path=path, code="case_value"
                )
            return value
        if not isinstance(value, str):
            raise CaseError.at(
                self.file, f"fact '{name}' must be text", path=path, code="case_value"
            )
        if values and value not in values:
            raise CaseError.at(
                self.file,
                f"fact '{name}' must be one of {', '.join(values)}",
                path=path,
                code="case_value",
                suggestion=did_you_mean(value, values),
            )
        return value

    def read_documents(self) -> set[str]:
        known = self.engine.specs.catalog.documents
        by_name = self.engine.specs.catalog.document_by_name
        given: set[str] = set()
        for doc in self.case.get("documents") or []:
            ident = doc if doc in known else by_name.get(doc.strip())
            if ident is None:
                self.found.add(
                    "unknown_document",
                    "warning",
                    None,
                    f"未知资料 '{excerpt(doc)}'，未计入",
                    f"unknown document '{excerpt(doc)}' was not counted",
                    document=doc,
                    suggestion=did_you_mean(doc, [*known, *by_name]),
                )
                continue
            given.add(ident)
        self.given = given
        return given

    def read_events(self) -> None:
        happened: dict[str, list[dt.datetime]] = {}
        for i, item in enumerate(self.case.get("events") or []):
            name = item["event"]
            ident = name if name in self.process.events else self.process.event_by_name.get(name)
            at = parse_time(item["at"], ("events", i, "at"), self.file)
            if not self.engine.calendar.covers(at.astimezone(SHANGHAI).date()):
                raise CaseError.at(
                    self.file,
                    f"{item['at']} is outside the calendar",
                    path=json_path(("events", i, "at")),
                    code="case_time",
                )
            if ident is None:
                self.found.add(
                    "unknown_event",
                    "warning",
                    None,
                    f"未知事件 '{excerpt(name)}'，未计入",
                    f"unknown event '{excerpt(name)}' was not counted",
                    event=name,
                    suggestion=did_you_mean(
                        name, [*self.process.events, *self.process.event_by_name]
                    ),
                )
                continue
            if at > self.as_of:
                self.found.add(
                    "event_after_as_of",
                    "warning",
                    None,
                    f"事件 {ident} 发生在判定时间之后，未计入",
                    f"event {ident} is later than as_of and was not counted",
                    event=ident,
                    at=at.isoformat(),
                )
                continue
            self.events.append((at, ident))
            happened.setdefault(ident, []).append(at)
        self.events.sort(key=lambda e: e[0])
        self.ctx[EVENTS_KEY] = happened

    # -- evaluating ------------------------------------------------------------------------
    def test(self, expr: Expression | None, rule: str) -> bool:
        """A condition's value; a missing input is a missing_fact finding and counts as false.

        The finding is an error for an input the spec requires (customer data, required facts),
        and info for an optional one: the rule cannot be decided yet (NC-GM before a budget).
        """
        if expr is None:
            return True
        try:
            return bool(expr(self.ctx))
        except Missing as exc:
            self.report_missing(rule, exc.name)
            return False
        except ArithmeticError as exc:
            self.formula_error(rule, expr, exc)
            return False

    def formula_error(self, rule: str | None, expr: Expression, exc: ArithmeticError) -> None:
        """An arithmetic failure in a spec's condition or formula (division by zero, overflow):
        a finding with the rule and the expression's place in the spec, never an exception."""
        en, zh = arithmetic_reason(exc)
        where = expr.location()
        self.found.add(
            "formula_error",
            "error",
            rule,
            f"{where} 的表达式 {excerpt(expr.source, 80)} 无法计算：{zh}",
            f"the expression {excerpt(expr.source, 80)} at {where} could not be computed: {en}",
            expression=expr.source,
            where=where,
        )

    def report_missing(self, rule: str, name: str) -> None:
        required = name.startswith(("customer.", "tariff.")) or name in self.required
        self.found.missing(rule, name, "error" if required else "info")

    def derive(self) -> None:
        for name, expr in self.process.derive:
            try:
                self.ctx[name] = expr(self.ctx)
            except Missing as exc:  # whoever reads the derived name reports the missing input
                self.ctx[name] = Unknown(exc.name)
            except ArithmeticError as exc:  # whoever reads it reports a formula_error
                self.ctx[name] = Broken(name, arithmetic_reason(exc), expr.location())

    def run(self) -> Report:
        p = self.process
        self.read_customer()
        self.read_facts()
        given = self.read_documents()
        self.read_events()
        self.derive()
        customer_type = self.ctx["customer.type"]
        for fact in p.facts.values():
            if fact.required_by and self.test(fact.required_when, fact.required_by):
                self.required.add(f"facts.{fact.name}")
                if self.ctx.get(f"facts.{fact.name}") is None:  # absent, or given as null
                    self.found.missing(fact.required_by, f"facts.{fact.name}")
        for gate in (*p.gates, *p.checks):
            if self.test(gate.when, gate.rule):
                self.found.add(
                    gate.code,
                    gate.severity,
                    gate.rule,
                    self.fill(gate.message.zh),
                    self.fill(gate.message.en),
                )
        missing = list(self.missing_documents(given, customer_type))
        self.check_order()
        approvals = tuple(
            ApprovalResult(a.rule, a.approver, self.engine.specs.catalog.roles[a.approver])
            for a in p.approvals
            if self.test(a.when, a.rule)
        )
        amounts = tuple(self.amounts())
        clocks = tuple(self.clocks())
        findings = sorted(self.found.items, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))
        return Report(
            self.case.get("case_id"),
            p,
            self.as_of,
            tuple(missing),
            tuple(findings),
            approvals,
            amounts,
            clocks,
            self.engine.calendar.version,
            self.file,
        )

    def fill(self, text: str) -> str:
        for key, value in self.ctx.items():
            if "{" not in text:
                break
            if isinstance(key, str) and not key.startswith("__"):
                text = text.replace("{" + key + "}", str(value))
        return text

    def missing_documents(self, given: set[str], customer_type: str) -> Iterator[str]:
        labels = self.engine.specs.catalog.documents
        for req in self.process.documents:
            if customer_type not in req.customer_types or not self.test(req.when, req.rule):
                continue
            for alternatives in req.items:
                if given.intersection(alternatives):
                    continue
                first = alternatives[0]
                names_zh = "或".join(labels[a].zh for a in alternatives)
                names_en = " or ".join(labels[a].en for a in alternatives)
                self.found.add(
                    "missing_document",
                    "error",
                    req.rule,
                    f"缺少资料：{names_zh}",
                    f"missing document: {names_en}",
                    document=first,
                    accepted=list(alternatives) if len(alternatives) > 1 else None,
                )
                yield first

    def check_order(self) -> None:
        """Ordering rules (MR-APPROVAL, OT-UNIT-GUARD): an event before the one it must follow."""
        times: dict[str, list[dt.datetime]] = self.ctx[EVENTS_KEY]
        for step in self.process.steps:
            for req in step.requires:
                if step.event not in times or not self.test(req.when, req.rule):
                    continue
                first_done = min(times[step.event])
                recorded = times.get(req.event, [])
                if not recorded and not req.strict:
                    continue
                if not any(t <= first_done for t in recorded):
                    self.found.add(
                        "out_of_order",
                        "error",
                        req.rule,
                        f"{self.process.events[step.event].zh} 发生在 "
                        f"{self.process.events[req.event].zh} 之前",
                        f"{step.event} happened before {req.event}, which must precede it",
                        event=step.event,
                        requires=req.event,
                        at=first_done.isoformat(),
                    )

    def amounts(self) -> Iterator[AmountResult]:
        currency = self.engine.specs.tariff.currency
        for amount in self.process.amounts:
            if not self.test(amount.when, amount.rule):
                continue
            try:
                value = to_decimal(amount.formula(self.ctx))
                if abs(value) > MAX_NUMBER:
                    raise decimal.Overflow(f"{amount.name} is over {MAX_NUMBER}")
                rounded = value.quantize(FEN, rounding=ROUND_HALF_UP)
            except Missing as exc:
                self.report_missing(amount.rule, exc.name)
                continue
            except ArithmeticError as exc:
                self.formula_error(amount.rule, amount.formula, exc)
                continue
            yield AmountResult(amount.rule, amount.name, amount.label, rounded, currency)

    def clocks(self) -> Iterator[Clock]:
        cal = self.engine.calendar
        for deadline in self.process.deadlines:
            if not self.test(deadline.when, deadline.rule):
                continue
            try:
                clocks = judge(deadline, self.events, self.as_of, cal)
            except UsageError as exc:  # a due date past the calendar's last day
                raise CaseError.at(
                    self.file,
                    f"deadline {deadline.id} ({deadline.duration.text}): "
                    + exc.problems[0].message,
                    path="$.events",
                    code="case_time",
                ) from None
            for clock in clocks:
                self.clock_findings(clock)
                yield clock

    def clock_findings(self, clock: Clock) -> None:
        d = clock.deadline
        due = clock.due.isoformat(timespec="seconds") if clock.due else None
        if clock.provisional:
            self.found.add(
                "calendar_provisional",
                "warning",
                d.rule,
                f"{d.rule} 的期限 {due} 落在尚未公布放假安排的年份，可能变动",
                f"{d.rule} is due {due}, in a year whose official holidays are not "
                "yet published; it may move",
                deadline=d.id,
                due=due,
            )
        over_days = -(clock.working_days_left or 0)
        over_hours = -(clock.hours_left or 0)
        if clock.status == "breached":
            if d.on_breach:
                self.found.add(
                    d.on_breach.code,
                    d.on_breach.severity,
                    d.rule,
                    self.fill(d.on_breach.message.zh),
                    self.fill(d.on_breach.message.en),
                    deadline=d.id,
                    due=due,
                )
                return
            self.found.add(
                "sla_breached",
                "error",
                d.rule,
                f"{d.label.zh}已超期 {_num(over_days)} 个工作日（{_num(over_hours)} 小时），"
                f"期限 {due}",
                f"{d.label.en}: breached, {_num(over_days)} working days "
                f"({_num(over_hours)} hours) past the due time {due}",
                deadline=d.id,
                due=due,
                working_days_over=over_days,
                hours_over=over_hours,
            )
        elif clock.status == "at_risk":
            left_d, left_h = clock.working_days_left or 0, clock.hours_left or 0
            self.found.add(
                "sla_at_risk",
                "warning",
                d.rule,
                f"{d.label.zh}即将到期：剩余 {_num(left_d)} 个工作日（{_num(left_h)} 小时），"
                f"期限 {due}",
                f"{d.label.en}: at risk, {_num(left_d)} working days "
                f"({_num(left_h)} hours) left until {due}",
                deadline=d.id,
                due=due,
                working_days_left=left_d,
                hours_left=left_h,
            )
        elif clock.status == "late":
            self.found.add(
                "done_late",
                "warning",
                d.rule,
                f"{d.label.zh}逾期完成（期限 {due}）",
                f"{d.label.en}: done late (due {due})",
                deadline=d.id,
                due=due,
            )


def _num(value: float) -> str:
    return f"{value:g}"
