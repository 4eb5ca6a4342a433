"""Judge one case against its compiled process: pure evaluation, no I/O, no clock.

Input is a parsed application (already checked against the application schema) and `as_of`;
output is a `Report`. A business "no" becomes a finding; only input that cannot be judged at
all (a fact of the wrong type, an unreadable time) raises CaseError.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
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
from .flow import Implied, OrderBreak, Position, Walk, walk
from .limits import MAX_NUMBER, MAX_YEAR, MIN_YEAR, excerpt
from .sla import (
    MEMO_LIMIT,
    Clock,
    Memo,
    iso_seconds,
    judge,
    local_date,
    plain_clock,
    plain_clocks,
)
from .spec.compile import SpecSet
from .spec.model import Deadline, Label, Precedence, Process, Step
from .wording import Words, clock_left, due_text, moment_text

FEN = Decimal("0.01")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# What a finding is about: the customer's application (documents, gates, eligibility, facts),
# the record of the flow (order, missing or unknown events), or the centre's own deadlines.
KINDS = ("application", "flow", "sla")
_TOLD = frozenset({"breached", "at_risk", "late"})  # the clock statuses a finding tells of


class Said:
    """A finding's message in Chinese and English, put into words only when someone reads it:
    most checks (a batch, an SLA sweep) never render most messages."""

    __slots__ = ("_make", "_args", "_pair")

    def __init__(self, make: Callable[..., tuple[str, str]], *args: Any) -> None:
        self._make = make  # called with args when the words are first read
        self._args = args
        self._pair: tuple[str, str] | None = None

    def _said(self) -> tuple[str, str]:
        if self._pair is None:
            self._pair = self._make(*self._args)
        return self._pair

    @property
    def zh(self) -> str:
        return self._said()[0]

    @property
    def en(self) -> str:
        return self._said()[1]

    def get(self, lang: str) -> str:
        return self._said()[0 if lang == "zh" else 1]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Said | Label):
            return (self.zh, self.en) == (other.zh, other.en)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._said())

    def __repr__(self) -> str:
        return f"Said(zh={self.zh!r}, en={self.en!r})"

    def __reduce__(self) -> tuple[type[Label], tuple[str, str]]:
        return Label, self._said()  # pickled as words: the judgement stays behind


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class FindingResult:
    code: str
    severity: str
    rule: str | None
    message: Label | Said
    extra: dict[str, Any] = field(default_factory=dict)
    kind: str = "application"  # application | flow | sla (KINDS)


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class AmountResult:
    rule: str
    name: str
    label: Label
    amount: Decimal
    currency: str


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
class ApprovalResult:
    rule: str
    approver: str
    label: Label


@dataclass(slots=True, unsafe_hash=True)  # read-only by convention: built fast
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
    position: Position | None = None
    policy_folder: str = ""  # the specs folder judged by, and its revision (specs + calendar)
    policy_revision: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def failed(self, on: str = "any") -> bool:
        """An error finding of the kind asked: `application` (anything but the centre's own
        deadlines: can the case proceed?), `sla` (the centre is late), or `any` (not ok)."""
        errors = [f for f in self.findings if f.severity == "error"]
        if on == "application":
            return any(f.kind != "sla" for f in errors)
        if on == "sla":
            return any(f.kind == "sla" for f in errors)
        return bool(errors)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        from .report import report_to_dict

        return report_to_dict(self, lang)


# A time written as `isoformat` writes it at +08:00 to the second: its own ISO text
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00", re.ASCII)
# The offset of a time written at +08:00 (such a time is read into the Asia/Shanghai zone object)
PLUS_EIGHT = dt.timezone(dt.timedelta(hours=8))
_fromisoformat, _combine = dt.datetime.fromisoformat, dt.datetime.combine


def parse_time(value: str, path: tuple[str | int, ...], file: str) -> dt.datetime:
    """A case time keeps its offset; without one it is Asia/Shanghai; a bare date is 00:00.

    A time written at +08:00 after 1991 (Shanghai has kept UTC+8 since) is read into the one
    Asia/Shanghai zone object that as_of and due times carry: the same wall time, printed the
    same, and times with the same zone object compare and subtract as they stand, without
    asking either for its offset (about fifteen times faster)."""
    try:
        t = _fromisoformat(value)
        if t.tzinfo == PLUS_EIGHT and 1991 < t.year <= MAX_YEAR:
            return _combine(t.date(), t.time(), SHANGHAI)
    except (ValueError, TypeError):
        pass  # said below, as before
    text = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        t = _fromisoformat(text)
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


_AS_OF: tuple[dt.datetime | None, dt.datetime | None] = (None, None)  # the last, converted


def in_shanghai(as_of: dt.datetime) -> dt.datetime:
    """as_of in the Asia/Shanghai zone object (the same instant; as it is when naive), worked
    out once for a run of checks at one as_of."""
    global _AS_OF
    if as_of.tzinfo is SHANGHAI:
        return as_of
    last, local = _AS_OF  # one tuple, read and written whole: safe across threads
    if last is as_of and local is not None:
        return local
    local = as_of.astimezone(SHANGHAI) if as_of.tzinfo is not None else as_of
    _AS_OF = as_of, local
    return local


_LOWEST, _HIGHEST = -MAX_NUMBER, MAX_NUMBER
ZERO = Decimal(0)
_WHOLE = int(MAX_NUMBER)
# text of a number within [0, MAX_NUMBER] -> its value, read once (Decimal is immutable)
_TEXT_NUMBERS: dict[str, Decimal] = {}


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
    kind = type(value)
    if kind is str and high is None and (low is None or low is ZERO):
        known = _TEXT_NUMBERS.get(value)  # the same text read before ("0.00" for arrears)
        if known is not None:
            return known
    if kind is int:
        number = Decimal(value)  # as to_decimal converts it, without its checks
        lowest = 0 if low is ZERO else -_WHOLE if low is None else None
        if high is None and lowest is not None and lowest <= value <= _WHOLE:
            return number  # within the bounds, as the whole number tells at once
    elif (
        kind is str and len(value) <= 60 and value.isascii() and value.replace(".", "", 1).isdigit()
    ):
        number = Decimal(value)  # ASCII digits with at most one point: text to_decimal reads
        if high is None and (low is None or low is ZERO) and number <= _HIGHEST:
            if len(_TEXT_NUMBERS) >= MEMO_LIMIT:
                _TEXT_NUMBERS.clear()
            _TEXT_NUMBERS[value] = number
            return number  # such text is never negative
    else:
        try:
            number = to_decimal(value)
        except TypeError:
            raise CaseError.at(
                file,
                f"{what} must be a number, not {excerpt(value)}",
                path=path,
                code="case_value",
            ) from None
    # max(low, _LOWEST) and min(high, _HIGHEST), as they were, without the calls
    if low is None or low < _LOWEST:
        low = _LOWEST
    if high is None or high > _HIGHEST:
        high = _HIGHEST
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


def _given(extra: dict[str, Any]) -> dict[str, Any]:
    """A finding's extra fields without the ones not given (None)."""
    return {k: v for k, v in extra.items() if v is not None}


class _Findings:
    __slots__ = ("items", "missing_reported")

    def __init__(self) -> None:
        self.items: list[FindingResult] = []
        self.missing_reported: set[str] = set()

    def add(
        self,
        code: str,
        severity: str,
        rule: str | None,
        zh: str,
        en: str,
        kind: str = "application",
        **extra: Any,
    ) -> None:
        self.put(code, severity, rule, Label(zh, en), _given(extra), kind)

    def put(
        self,
        code: str,
        severity: str,
        rule: str | None,
        message: Label | Said,
        extra: dict[str, Any],
        kind: str = "application",
    ) -> None:
        """A finding with its message and extra fields as they are (no None values)."""
        self.items.append(FindingResult(code, severity, rule, message, extra, kind))

    def said(
        self,
        code: str,
        severity: str,
        rule: str | None,
        make: Callable[[], tuple[str, str]],
        kind: str = "application",
        **extra: Any,
    ) -> None:
        """A finding whose message `make()` words only when it is read."""
        self.put(code, severity, rule, Said(make), _given(extra), kind)

    def missing(
        self, rule: str, name: str, severity: str = "error", label: str | None = None
    ) -> None:
        if name in self.missing_reported:
            return
        self.missing_reported.add(name)
        said = f"“{label}”（{name}）" if label and label != name else name
        self.add(
            "missing_fact",
            severity,
            rule,
            f"缺少{said}，无法判断 {rule}",
            f"{rule} needs {name}, which the case does not give",
            fact=name,
        )


class Engine:
    """Compiled specs plus a calendar: check many cases, from many threads."""

    def __init__(self, specs: SpecSet, calendar: Calendar) -> None:
        self.specs = specs
        self.calendar = calendar
        # the policy revision: the specs folder's content hash with the calendar's version
        self.revision = f"{specs.revision}/{calendar.version.rsplit('+', 1)[-1]}"
        self._covered: dict[dt.date, bool] = {}  # day -> calendar.covers(day), asked once
        self.span = calendar_span(calendar)  # the instants it covers, compared fast
        self.memo = Memo()  # calendar arithmetic done once (due times, time left)
        self.folder = str(specs.folder)  # named in every report
        # accepted documents -> the message that they are missing (the catalogue's names)
        self.document_words: dict[tuple[str, ...], Label] = {}
        self.event_words: dict[str, Label] = {}  # event -> the message that it came after as_of
        self.approvals: dict[int, ApprovalResult] = {}  # id of an approval rule -> its result
        # id of each process (every version) -> what reading its facts needs, worked out once
        self.readings = {
            id(process): _Reading.of(process)
            for versions in specs.versions.values()
            for process in versions
        }

    def covers(self, day: dt.date) -> bool:
        covered = self._covered.get(day)
        if covered is None:
            if len(self._covered) >= MEMO_LIMIT:
                self._covered.clear()
            covered = self._covered[day] = self.calendar.covers(day)
        return covered

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
        versions = self.specs.versions.get(process_id)
        if versions is None:
            raise CaseError.at(
                file,
                f"unknown process '{process_id}'",
                path="$.process",
                code="unknown_process",
                suggestion=did_you_mean(process_id, self.specs.versions),
            )
        span = self.span
        if span is not None and as_of.tzinfo is not None and MIN_YEAR <= as_of.year <= MAX_YEAR:
            local = as_of if as_of.tzinfo is SHANGHAI else in_shanghai(as_of)
            covered = span[0] <= local < span[1]  # (far years: no offset arithmetic)
        else:
            covered = self.covers(as_of.astimezone(SHANGHAI).date())
        if not covered:
            raise CaseError.at(
                "--as-of", f"{as_of.isoformat()} is outside the calendar", code="case_time"
            )
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


def calendar_span(calendar: Calendar) -> tuple[dt.datetime, dt.datetime] | None:
    """The instants whose day in Asia/Shanghai the calendar covers, [start, end), in the
    Asia/Shanghai zone object; None for a calendar that starts before 1992, when Shanghai's
    offset still changed."""
    first, last = calendar.first_day, calendar.last_year
    if first.year <= 1991 or last >= 9999:
        return None
    return (
        dt.datetime.combine(first, dt.time(), SHANGHAI),
        dt.datetime(last + 1, 1, 1, tzinfo=SHANGHAI),
    )


_CUSTOMER_PATHS = {"arrears": "$.customer.arrears", "arrears_months": "$.customer.arrears_months"}
# The context's names of the customer's fields (the schema names them), built once.
_CUSTOMER_KEYS = {
    key: f"customer.{key}"
    for key in ("type", "name", "account", "water_type", "arrears", "arrears_months")
}
_NUMBER_KINDS = ("number", "money", "integer")


@dataclass(frozen=True, slots=True)
class _FactReading:
    """What reading one declared fact needs, worked out once per process."""

    name: str
    kind: str
    values: tuple[str, ...]
    key: str  # facts.NAME, its name in the context
    path: str  # $.facts.NAME
    what: str  # fact 'NAME', as messages name it
    number: bool  # a number, money or an integer
    low: Decimal | None
    high: Decimal | None
    boolean: bool  # true or false
    text: bool  # text, maybe one of `values` (not a water-use type, which has its own names)
    water_type: bool  # a water-use type (by id, name or alias)
    whole: tuple[int, int]  # the whole numbers within [low, high] as case_number bounds them


@dataclass(frozen=True, slots=True)
class _Reading:
    facts: dict[str, _FactReading]
    defaults: tuple[tuple[str, object], ...]  # (facts.NAME, default) in declared order

    @classmethod
    def of(cls, process: Process) -> _Reading:
        facts = {}
        for name, fact in process.facts.items():
            low = fact.minimum
            if low is None and fact.type == "money":
                low = ZERO  # money is never negative unless the spec gives a minimum
            high = fact.maximum  # and the bounds as case_number clamps them:
            lowest = _LOWEST if low is None or low < _LOWEST else low
            highest = _HIGHEST if high is None or high > _HIGHEST else high
            facts[name] = _FactReading(
                name,
                fact.type,
                fact.values,
                f"facts.{name}",
                f"$.facts.{name}",
                f"fact '{name}'",
                fact.type in _NUMBER_KINDS,
                low,
                fact.maximum,
                fact.type == "bool",
                fact.type not in (*_NUMBER_KINDS, "bool", "water_type"),
                fact.type == "water_type",
                (math.ceil(lowest), math.floor(highest)),
            )
        defaults = tuple(
            (f"facts.{name}", fact.default)
            for name, fact in process.facts.items()
            if fact.default is not None
        )
        return cls(facts, defaults)


class _Judgement:
    """The state of judging one case; lives for one call."""

    __slots__ = (
        "engine", "process", "case", "as_of", "file", "found", "ctx", "events", "required",
        "given", "flow",
    )  # fmt: skip

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
        ctx, file = self.ctx, self.file
        for key, value in customer.items():
            if value is not None and (key == "arrears" or key == "arrears_months"):
                # money is never negative; arrears_months is a whole number (the schema says)
                if type(value) is int and 0 <= value <= _WHOLE:
                    value = Decimal(value)  # as case_number reads it, without the call
                else:  # text read before is looked up there ("0.00")
                    value = case_number(value, file, _CUSTOMER_PATHS[key], key, ZERO)
            ctx[_CUSTOMER_KEYS.get(key) or "customer." + key] = value
        water_type = customer.get("water_type")
        if water_type is not None:
            if water_type not in self.engine.specs.tariff.prices:  # else: its id, as it stands
                water_type = self.water_type(water_type, "$.customer.water_type")
            ctx["customer.water_type"] = water_type

    def water_type(self, value: str, path: str) -> str:
        """A water-use type by id, Chinese name or alias (居民生活用水 -> residential)."""
        tariff = self.engine.specs.tariff
        ident = tariff.water_type(value)
        if ident is None:
            raise CaseError.at(
                self.file,
                f"unknown water-use type '{excerpt(str(value))}'",
                path=path,
                code="case_value",
                suggestion=did_you_mean(value, [*tariff.prices, *tariff.water_type_by_name]),
            )
        return ident

    def read_facts(self) -> None:
        facts = self.case.get("facts") or {}
        reading = self.engine.readings[id(self.process)]
        ctx, prices = self.ctx, self.engine.specs.tariff.prices
        for name, value in facts.items():
            fact = reading.facts.get(name)
            if fact is None:
                self.found.add(
                    "unknown_fact",
                    "warning",
                    None,
                    f"未知事实 '{excerpt(name)}' 未被使用",
                    f"unknown fact '{excerpt(name)}' was not used",
                    fact=name,
                    suggestion=did_you_mean(name, self.process.facts),
                )
                continue
            if (fact.boolean and (value is True or value is False)) or (
                fact.text and type(value) is str and (not fact.values or value in fact.values)
            ):
                ctx[fact.key] = value  # as coerce gives it back, without the call
            elif fact.number and type(value) is int and fact.whole[0] <= value <= fact.whole[1]:
                ctx[fact.key] = Decimal(value)  # a whole number within bounds, as coerce reads it
            elif fact.water_type and type(value) is str and value in prices:
                ctx[fact.key] = value  # a water-use type by its id, as coerce gives it back
            else:
                ctx[fact.key] = self.coerce(fact, value)
        for key, default in reading.defaults:  # in the order the spec declares them
            if ctx.get(key) is None:
                ctx[key] = default

    def coerce(self, fact: _FactReading, value: Any) -> Any:
        """A fact's value as the spec declares its type."""
        if value is None:
            return None
        kind, name, path = fact.kind, fact.name, fact.path
        if fact.number:
            number = case_number(value, self.file, path, fact.what, fact.low, fact.high)
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
        if kind == "water_type":
            return self.water_type(value, path)
        values = fact.values
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
        catalog = self.engine.specs.catalog
        known, by_name = catalog.documents, catalog.document_by_name
        given: set[str] = set()
        for doc in self.case.get("documents") or ():
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
        known, by_name = self.process.events, self.process.event_by_name
        as_of, file, span = self.as_of, self.file, self.engine.span
        if as_of.tzinfo is not SHANGHAI:
            as_of = in_shanghai(as_of)
        later_words = self.engine.event_words
        events = self.events
        ordered, last = True, None
        for i, item in enumerate(self.case.get("events") or ()):
            name, text = item["event"], item["at"]
            ident = name if name in known else by_name.get(name)
            try:  # parse_time's fast path, inline: most times are written at +08:00
                t: dt.datetime | None = _fromisoformat(text)
            except (ValueError, TypeError):
                t = None
            if t is not None and t.tzinfo == PLUS_EIGHT and 1991 < t.year <= MAX_YEAR:
                at = _combine(t.date(), t.time(), SHANGHAI)
            else:
                at = parse_time(text, ("events", i, "at"), file)
            if not (span[0] <= at < span[1] if span else self.engine.covers(local_date(at))):
                raise CaseError.at(
                    self.file,
                    f"{item['at']} is outside the calendar",
                    path=json_path(("events", i, "at")),
                    code="case_time",
                )
            if ident is None:  # an error: its deadlines would sit at not_started unseen
                self.found.add(
                    "unknown_event",
                    "error",
                    None,
                    f"未知事件 '{excerpt(name)}'，本流程没有这一步，未计入",
                    f"unknown event '{excerpt(name)}': no step of this flow knows it; not counted",
                    "flow",
                    event=name,
                    path=json_path(("events", i, "event")),
                    suggestion=did_you_mean(
                        name, [*self.process.events, *self.process.event_by_name]
                    ),
                )
                continue
            if at > as_of:
                message = later_words.get(ident)
                if message is None:
                    message = later_words[ident] = Label(
                        f"事件 {ident} 发生在判定时间之后，未计入",
                        f"event {ident} is later than as_of and was not counted",
                    )
                written = text if _CANONICAL.fullmatch(text) else at.isoformat()
                extra = {"event": ident, "at": written}
                self.found.put("event_after_as_of", "warning", None, message, extra, "flow")
                continue
            if last is not None and at < last:
                ordered = False
            last = at
            events.append((at, ident))
            times = happened.get(ident)
            if times is None:
                happened[ident] = [at]
            else:
                times.append(at)
        if not ordered:  # a record is mostly written in order: then there is nothing to sort
            events.sort(key=_first)
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
            return bool(expr.fn(self.ctx))
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
        self.found.missing(rule, name, "error" if required else "info", self.name_zh(name))

    def name_zh(self, name: str) -> str:
        """A fact or customer field by its Chinese name, for a clerk reading the finding."""
        return Words(self.process, self.engine.specs).name(name, "zh")

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
        ctx, test, found = self.ctx, self.test, self.found
        # Each condition is asked inline; one that raises is asked again through `test`, which
        # reports why (a condition is pure: it raises the same again).
        for fact, key in p.required_facts:
            when = fact.required_when
            try:
                required = when is None or when.fn(ctx)
            except (Missing, ArithmeticError):
                required = test(when, fact.required_by)  # type: ignore[arg-type]
            if required:
                self.required.add(key)
                if ctx.get(key) is None:  # absent, or given as null
                    found.missing(fact.required_by, key, label=fact.label.zh)  # type: ignore[arg-type]
        for gate in p.gates_and_checks:
            when = gate.when
            try:
                hit = when is None or when.fn(ctx)
            except (Missing, ArithmeticError):
                hit = test(when, gate.rule)
            if hit:
                message = gate.message
                if "{" in message.zh or "{" in message.en:
                    message = Label(self.fill(message.zh), self.fill(message.en))
                found.put(gate.code, gate.severity, gate.rule, message, {})
        missing = self.missing_documents(given, ctx["customer.type"])
        self.flow = self.walk_flow()
        approvals = []
        if p.approvals:
            made = self.engine.approvals
            for a in p.approvals:
                when = a.when
                try:
                    hit = when is None or when.fn(ctx)
                except (Missing, ArithmeticError):
                    hit = test(when, a.rule)
                if hit:
                    approval = made.get(id(a))
                    if approval is None:  # one for every report: read-only, like every result
                        roles = self.engine.specs.catalog.roles
                        approval = made[id(a)] = ApprovalResult(
                            a.rule, a.approver, roles[a.approver]
                        )
                    approvals.append(approval)
        amounts = self.amounts() if p.amounts else ()
        clocks = tuple(self.clocks()) if p.deadlines else ()
        approved = tuple(approvals)
        engine = self.engine
        # where the case stands, worked out when the report shows it
        position = Position.of(self.flow, clocks, approved, p, engine.specs.catalog.roles)
        findings = found.items
        if len(findings) > 1:
            findings.sort(key=_severity_rank)
        return Report(
            self.case.get("case_id"),
            p,
            self.as_of,
            tuple(missing),
            tuple(findings),
            approved,
            amounts,
            clocks,
            engine.calendar.version,
            self.file,
            position,
            engine.folder,
            engine.revision,
        )

    def fill(self, text: str) -> str:
        for key, value in self.ctx.items():
            if "{" not in text:
                break
            if isinstance(key, str) and not key.startswith("__"):
                text = text.replace("{" + key + "}", str(value))
        return text

    def missing_documents(self, given: set[str], customer_type: str) -> list[str]:
        labels = self.engine.specs.catalog.documents
        words = self.engine.document_words
        out: list[str] = []
        ctx = self.ctx
        for req in self.process.documents:
            if customer_type not in req.customer_types:
                continue
            when = req.when
            try:  # asked inline; through `test` (which reports why) when it raises, as in run
                hit = when is None or when.fn(ctx)
            except (Missing, ArithmeticError):
                hit = self.test(when, req.rule)
            if not hit:
                continue
            for alternatives in req.items:
                if len(alternatives) == 1:
                    if alternatives[0] in given:
                        continue
                elif not given.isdisjoint(alternatives):
                    continue
                first = alternatives[0]
                message = words.get(alternatives)
                if message is None:
                    names_zh = "或".join(labels[a].zh for a in alternatives)
                    names_en = " or ".join(labels[a].en for a in alternatives)
                    message = words[alternatives] = Label(
                        f"缺少资料：{names_zh}", f"missing document: {names_en}"
                    )
                extra: dict[str, Any] = {"document": first}
                if len(alternatives) > 1:
                    extra["accepted"] = list(alternatives)
                self.found.items.append(  # (found.put, without the call)
                    FindingResult("missing_document", "error", req.rule, message, extra)
                )
                out.append(first)
        return out

    # -- the flow ---------------------------------------------------------------------------
    def applies(self, step: Step) -> bool:
        """A conditional step applies when its `when` holds; an input not given yet leaves it
        out quietly (its own rules report what they miss)."""
        if step.when is None:
            return True
        try:
            return bool(step.when(self.ctx))
        except Missing:
            return False

    def holds(self, precedence: Precedence) -> bool:
        return self.test(precedence.when, precedence.rule)

    def walk_flow(self) -> Walk:
        """Step order from the spec (out_of_order: an error at the seed's control points, else a
        warning), steps a partial record proves (record_incomplete), events after the end."""
        p = self.process
        flow = walk(p, self.events, self.applies, self.holds, self.engine.memo.walks)
        ev = p.events
        for b in flow.breaks:
            s, r = b.step, b.before
            self.found.said(
                "out_of_order",
                "error" if b.control else "warning",
                b.rule,
                partial(break_words, self.process.events, self.as_of, b),
                "flow",
                event=s.event,
                requires=r.event,
                at=_iso(b.at),
                requires_at=_iso(b.before_at),
                step=s.id,
                requires_step=r.id,
                control_point=b.control,
            )
        if flow.implied:
            first = flow.implied[0]
            self.found.said(
                "record_incomplete",
                "warning",
                first.step.rule or first.by.rule,
                partial(incomplete_words, self.process.events, self.as_of, flow.implied),
                "flow",
                event=first.step.event,
                missing_events=[i.step.event for i in flow.implied],
                proven_by=first.by.event,
                at=_iso(first.at),
            )
        if flow.after_end:
            end = next(d for d in flow.done if d.step.ends)
            for event, when in flow.after_end:
                self.found.add(
                    "after_end",
                    "warning",
                    end.step.rule,
                    f"流程已于 {_iso(end.at)} 结束（{ev[end.step.event].zh}），"
                    f"其后又有 {ev[event].zh}（{_iso(when)}）",
                    f"the flow ended at {_iso(end.at)} ({end.step.event}), "
                    f"but {event} came after it ({_iso(when)})",
                    "flow",
                    event=event,
                    at=_iso(when),
                    ended_by=end.step.event,
                )
        for d in flow.repeated:
            self.found.add(
                "repeated_step",
                "warning",
                d.step.rule,
                f"{ev[d.step.event].zh} 记录了 {d.count} 次，此步骤不应重复",
                f"{d.step.event} is recorded {d.count} times; this step does not repeat",
                "flow",
                event=d.step.event,
                count=d.count,
            )
        return flow

    def amounts(self) -> tuple[AmountResult, ...]:
        currency = self.engine.specs.tariff.currency
        out: list[AmountResult] = []
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
            out.append(AmountResult(amount.rule, amount.name, amount.label, rounded, currency))
        return tuple(out)

    def clocks(self) -> list[Clock]:
        recorded = self.ctx[EVENTS_KEY].keys()
        walked = self.flow
        implied = walked.implied
        events, as_of, cal, memo = self.events, self.as_of, self.engine.calendar, self.engine.memo
        deadlines = self.process.deadlines
        # a walk replayed from its shape knows each deadline's cycles in this order of events
        shape = walked.shape
        plan = None if shape is None else shape.cycles or shape.clock_cycles(deadlines)
        out: list[Clock] = []
        ctx = self.ctx
        for number, deadline in enumerate(deadlines):
            when = deadline.when
            if when is not None:
                try:  # asked inline; through `test` (which reports why) when it raises, as in run
                    hit = when.fn(ctx)
                except (Missing, ArithmeticError):
                    hit = self.test(when, deadline.rule)
                if not hit:
                    continue
            cycles = plan[number] if plan is not None else None
            if implied:
                clocks = self.inferred(deadline)
            elif cycles:
                try:
                    if len(cycles) == 1:  # the usual: one cycle, its clock made directly
                        s, e = cycles[0]
                        done = None if e is None else events[e][0]
                        clocks = [plain_clock(deadline, 1, events[s][0], done, as_of, cal, memo)]
                    else:
                        clocks = plain_clocks(deadline, cycles, events, as_of, cal, memo)
                except UsageError as exc:  # a due date past the calendar's last day
                    raise self.beyond(deadline, exc) from None
            elif cycles is not None or recorded.isdisjoint(deadline.start):  # not started
                idle = memo.idle.get(id(deadline))
                if idle is None:  # one for every case: read-only, like every clock
                    idle = memo.idle[id(deadline)] = Clock(deadline, 1, "not_started")
                out.append(idle)
                continue
            else:
                clocks = self.judged(deadline)
            for clock in clocks:
                if clock.provisional or clock.status in _TOLD:
                    self.clock_findings(clock)
                out.append(clock)
        return out

    def judged(self, deadline: Deadline) -> list[Clock]:
        """The deadline's clocks from the recorded events alone."""
        try:
            return judge(deadline, self.events, self.as_of, self.engine.calendar, self.engine.memo)
        except UsageError as exc:  # a due date past the calendar's last day
            raise self.beyond(deadline, exc) from None

    def beyond(self, deadline: Deadline, exc: UsageError) -> ProcrulesError:
        """A due date past the calendar's last day, as an error of the case."""
        return CaseError.at(
            self.file,
            f"deadline {deadline.id} ({deadline.duration.text}): " + exc.problems[0].message,
            path="$.events",
            code="case_time",
        )

    def inferred(self, deadline: Deadline) -> list[Clock]:
        """The deadline's clocks. A partial record does not switch a clock off: a start event
        that later steps prove runs from the earliest of them, and so does a stop they prove;
        both marked inferred."""
        recorded = self.ctx[EVENTS_KEY]
        cal = self.engine.calendar
        start = stop = None
        implied = self.flow.implied
        if recorded.keys().isdisjoint(deadline.start):  # the clock has not started
            if implied:
                start = next(filter(None, map(self.flow.implied_event, deadline.start)), None)
            if start is None:
                return [Clock(deadline, 1, "not_started")]
        if implied and recorded.keys().isdisjoint(deadline.stop):
            stop = next(filter(None, map(self.flow.implied_event, deadline.stop)), None)
        if start is None:  # the clocks of the record as it stands (with a stop still to infer)
            clocks = self.judged(deadline)
            if stop is None:
                return clocks
        # at one instant: the inferred start, then what was recorded, then the inferred stop
        ranked = [(at, 1, e) for at, e in self.events]
        ranked += [(i.at, n, i.step.event) for i, n in ((start, 0), (stop, 2)) if i is not None]
        events = [(at, e) for at, _, e in sorted(ranked, key=lambda r: (r[0], r[1]))]
        out = []
        for clock in judge(deadline, events, self.as_of, cal, self.engine.memo):
            if start is not None and clock.start == start.at and clock.cycle == 1:
                clock = replace(clock, start_inferred=True, inferred_from=start.by.event)
            if stop is not None and clock.done == stop.at:
                clock = replace(
                    clock, done_inferred=True, inferred_from=clock.inferred_from or stop.by.event
                )
            out.append(clock)
        return out

    def clock_findings(self, clock: Clock) -> None:
        status = clock.status
        if not clock.provisional and status not in _TOLD:
            return  # nothing to say about a clock on time (most of them)
        d = clock.deadline
        at, memo = clock.due, self.engine.memo
        due = None if at is None else memo.iso.get(at) or iso_seconds(at, memo)
        if clock.provisional:
            self.found.said(
                "calendar_provisional",
                "warning",
                d.rule,
                partial(clock_words, "calendar_provisional", clock, self.as_of),
                "sla",
                deadline=d.id,
                due=due,
            )
        if status == "breached":
            over_days = -(clock.working_days_left or 0)
            over_hours = -(clock.hours_left or 0)
            if d.on_breach:  # a consequence for the application (AC-TEMP: apply anew)
                self.found.add(
                    d.on_breach.code,
                    d.on_breach.severity,
                    d.rule,
                    self.fill(d.on_breach.message.zh),
                    self.fill(d.on_breach.message.en),
                    "application",
                    deadline=d.id,
                    due=due,
                )
                return
            extra: dict[str, Any] = {"deadline": d.id, "due": due}
            extra["working_days_over"] = over_days
            extra["hours_over"] = over_hours
            code, severity = "sla_breached", "error"
        elif status == "at_risk":
            extra = {"deadline": d.id, "due": due}
            extra["working_days_left"] = clock.working_days_left or 0
            extra["hours_left"] = clock.hours_left or 0
            code, severity = "sla_at_risk", "warning"
        elif status == "late":
            extra = {"deadline": d.id, "due": due}
            code, severity = "done_late", "warning"
        else:
            return
        if due is None:
            del extra["due"]
        message = Said(clock_words, code, clock, self.as_of)
        self.found.items.append(FindingResult(code, severity, d.rule, message, extra, "sla"))


def _severity_rank(finding: FindingResult) -> int:
    return SEVERITY_ORDER.get(finding.severity, 3)


def _iso(t: dt.datetime | None) -> str | None:
    """An instant to the second (as `isoformat(timespec="seconds")` writes it)."""
    if t is None:
        return None
    return t.isoformat() if not t.microsecond else t.isoformat(timespec="seconds")


def break_words(ev: dict[str, Label], as_of: dt.datetime, b: OrderBreak) -> tuple[str, str]:
    """The message of an out_of_order finding (instants as people write them)."""
    s, r = b.step, b.before
    at_zh, at_en = moment_text(b.at, "zh", as_of), moment_text(b.at, "en", as_of)
    if b.before_at is None:
        zh = f"{ev[s.event].zh}（{at_zh}）之前没有 {ev[r.event].zh} 的记录"
        en = f"{s.event} ({at_en}) has no earlier {r.event}, which must precede it"
    else:
        before_zh = moment_text(b.before_at, "zh", as_of)
        before_en = moment_text(b.before_at, "en", as_of)
        zh = f"{ev[s.event].zh}（{at_zh}）发生在 {ev[r.event].zh}（{before_zh}）之前"
        en = f"{s.event} ({at_en}) happened before {r.event} ({before_en}), which must precede it"
    return (
        f"{zh}：步骤 {s.label.zh} 应在 {r.label.zh} 之后",
        f"{en}: step {s.id} comes after {r.id}",
    )


def incomplete_words(
    ev: dict[str, Label], as_of: dt.datetime, implied: tuple[Implied, ...]
) -> tuple[str, str]:
    """The message of a record_incomplete finding."""
    first = implied[0]
    names_zh = "、".join(ev[i.step.event].zh for i in implied)
    names_en = ", ".join(i.step.event for i in implied)
    return (
        f"记录不完整：未记录 {names_zh}，但其后的 {ev[first.by.event].zh}"
        f"（{moment_text(first.at, 'zh', as_of)}）已发生；时限按已有记录推定",
        f"incomplete record: {names_en} not recorded, though the later "
        f"{first.by.event} ({moment_text(first.at, 'en', as_of)}) happened; clocks are "
        "inferred from it",
    )


def clock_words(code: str, clock: Clock, as_of: dt.datetime) -> tuple[str, str]:
    """The message of a clock's finding, in Chinese and English."""
    d = clock.deadline
    due_zh, due_en = _due_words(clock, "zh", as_of), _due_words(clock, "en", as_of)
    if code == "calendar_provisional":
        return (
            f"{d.rule} 的期限{due_zh}落在尚未公布放假安排的年份，可能变动",
            f"{d.rule} is due {due_en}, in a year whose official "
            "holidays are not yet published; it may move",
        )
    if code == "sla_breached":
        return (
            f"{d.label.zh}{clock_left(clock, 'zh')}（期限{due_zh}）",
            f"{d.label.en}: {clock_left(clock, 'en')} (due {due_en})",
        )
    if code == "sla_at_risk":
        return (
            f"{d.label.zh}即将到期：{clock_left(clock, 'zh')}（期限{due_zh}）",
            f"{d.label.en}: at risk, {clock_left(clock, 'en')} (due {due_en})",
        )
    return (
        f"{d.label.zh}逾期完成（期限{due_zh}）",
        f"{d.label.en}: done late (due {due_en})",
    )


def _due_words(clock: Clock, lang: str, as_of: dt.datetime) -> str:
    """A due time in a finding's message, as people write it (the JSON keeps `due` ISO)."""
    return due_text(clock.due, lang, as_of) if clock.due else "-"


def _first(pair: tuple[dt.datetime, str]) -> dt.datetime:
    return pair[0]
