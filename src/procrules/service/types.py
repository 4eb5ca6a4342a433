"""The shapes of the service's requests and answers, as msgspec Structs.

The handlers build their answers from these types and `/openapi.json` is generated from the same
types, so the document cannot drift from what the service sends. The report itself (`result`)
is the JSON report of CONTRACT.md, produced by `Report.to_dict`; it is typed here as an object.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec


class Base(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    pass


class Problem(Base):
    """One fault, located by a JSON path into what you sent."""

    code: str
    message: str
    path: str = "$"
    line: int | None = None
    column: int | None = None
    suggestion: str | None = None


class ErrorBody(Base):
    status: int
    code: str
    message: str
    problems: list[Problem] = []


class ErrorResponse(Base):
    """Every 4xx/5xx answer: one shape; never a stack trace."""

    error: ErrorBody
    request_id: str | None = None


class SpecRef(Base):
    """The policy an answer was computed with."""

    process: str
    version: str
    revision: str


class CheckResponse(Base):
    """The verdict on one case: `result` is the report of CONTRACT.md (the same JSON as
    `procrules check --format json`)."""

    result: dict[str, Any]
    decision_id: str
    spec: SpecRef
    explanation: str | None = None


class BatchLine(Base):
    """One line of the JSON Lines answer of /v1/check:batch: a result or an error, by input
    line; the last line is the summary."""

    line: int
    result: dict[str, Any] | None = None
    decision_id: str | None = None
    spec: SpecRef | None = None
    error: ErrorBody | None = None


class BatchSummary(Base):
    lines: int
    results: int
    errors: int
    complete: bool
    revision: str


class EventIn(Base, forbid_unknown_fields=False):
    """An event as sent: `event` and `at` as in the case JSON; any other field is kept in the
    log. Without `idempotency_key`, the event's content is its key."""

    event: str
    at: str
    by: str | None = None
    note: str | None = None
    idempotency_key: str | None = None
    source: str | None = None


class EventsRequest(Base):
    events: list[EventIn]
    process: str | None = None


class AppendedEvent(Base):
    index: int
    seq: int
    idempotency_key: str
    status: Literal["appended", "duplicate"]
    notes: list[str]


class EventsResponse(Base):
    case_id: str
    appended: int
    duplicates: int
    results: list[AppendedEvent]


class CaseDataResponse(Base):
    case_id: str
    version: int
    created: bool
    events: list[AppendedEvent] = []


class StoredEventOut(Base):
    seq: int
    event: str
    at: str
    recorded_at: str
    idempotency_key: str
    source: str | None
    payload: dict[str, Any]
    notes: list[str]


class CaseResponse(Base):
    """A case's report at as_of, computed from its whole log."""

    case_id: str
    data_version: int
    result: dict[str, Any]
    spec: SpecRef
    events: list[StoredEventOut]


class WorklistItem(Base):
    case_id: str
    process: str | None
    status: str
    ok: bool | None
    next_due: str | None
    roles: list[str]
    data_version: int
    last_seq: int
    projected_as_of: str
    spec_revision: str
    calendar_version: str


class WorklistPage(Base):
    items: list[WorklistItem]
    next_cursor: str | None
    as_of: str


class SpecSummary(Base):
    process: str
    version: str
    name: str
    revision: str
    versions: list[str]


class SpecList(Base):
    revision: str
    specs: list[SpecSummary]


class NamedItem(Base):
    id: str
    name: str


class DeadlineInfo(Base):
    rule: str
    id: str
    name: str
    within: str


class SpecDetail(Base):
    process: str
    version: str
    name: str
    revision: str
    effective_from: str
    versions: list[str]
    roles: list[str]
    events: list[NamedItem]
    facts: list[str]
    deadlines: list[DeadlineInfo]
    rules: list[str]


class ReloadOutcome(Base):
    at: str
    ok: bool
    revision: str | None
    trigger: str
    problems: list[Problem] = []


class ReloadResponse(Base):
    ok: bool
    changed: bool
    revision: str
    last_reload: ReloadOutcome


class StoreStatus(Base):
    url: str | None
    dialect: str | None
    schema_revision: str | None
    cases: int | None
    events: int | None
    reachable: bool


class Status(Base):
    version: str
    revision: str | None
    folder: str | None
    loaded_at: str | None
    processes: list[str]
    last_reload: ReloadOutcome | None
    reloads: int
    store: StoreStatus
    auth: Literal["tokens", "loopback-only"]
    uptime_seconds: float
    decision_log: str | None


class Health(Base):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


class AlertCard(Base, omit_defaults=False):
    """One alert instance (a deadline cycle of a case) and where it stands in its life."""

    fingerprint: str
    case_id: str
    process: str
    rule: str
    role: str
    team: str
    level: Literal["red", "yellow", "blue"] | None
    state: Literal["firing", "silenced", "inhibited", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str]
    started_at: str
    updated_at: str
    resolved_at: str | None
    resolution: Literal["met", "late", "stopped", "green"] | None


class AlertList(Base):
    """`GET /v1/alerts`: the cards, most recently changed first (at most 1,000)."""

    alerts: list[AlertCard]


SilenceMatchers = dict[
    Annotated[str, msgspec.Meta(min_length=1, max_length=100)],
    Annotated[str, msgspec.Meta(max_length=200)]
    | Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=50)],
]


class SilenceRequest(Base):
    """`POST /v1/silences`: label matchers (a value, or a list meaning any of them), an end (ISO
    8601; no offset = Asia/Shanghai), who sets it and why; it starts now unless `starts_at`."""

    matchers: Annotated[SilenceMatchers, msgspec.Meta(min_length=1, max_length=20)]
    ends_at: Annotated[str, msgspec.Meta(max_length=40)]
    created_by: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    comment: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    starts_at: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class SilenceOut(Base, omit_defaults=False):
    id: str
    matchers: dict[str, list[str]]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str


class SilenceList(Base):
    silences: list[SilenceOut]


def schema_components() -> dict[str, Any]:
    """JSON Schema components of every public type, for the OpenAPI document."""
    types = (
        ErrorResponse,
        CheckResponse,
        BatchLine,
        BatchSummary,
        EventsRequest,
        EventsResponse,
        CaseDataResponse,
        CaseResponse,
        WorklistPage,
        SpecList,
        SpecDetail,
        ReloadResponse,
        Status,
        Health,
        AlertList,
        SilenceRequest,
        SilenceOut,
        SilenceList,
    )
    _, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    return components
