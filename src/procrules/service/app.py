"""The decision service: a Starlette ASGI app over the Checker and the case store.

One handler per route; every error leaves in one shape (types.ErrorResponse) and no stack trace
ever reaches a client. Each request takes the policy in force once (`PolicyHolder.current`), so
an answer never mixes two spec revisions. Side effects (store, decision log, clock) are passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import signal
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..api import resolve_as_of
from ..calendar import SHANGHAI
from ..errors import CaseError, Problem, ProcrulesError
from ..messages import localise
from ..source import parse_json
from . import types as T
from .auth import Token, Tokens, is_loopback
from .decisionlog import DEFAULT_MASKS, DecisionLog
from .policy import Policy, PolicyHolder, ReloadResult

log = logging.getLogger("procrules.service")

SCOPE_CHECK, SCOPE_INGEST, SCOPE_ADMIN = "check", "ingest", "admin"
WORKLIST_STATUSES = ("breached", "at_risk", "running", "open", "closed", "invalid", "incomplete")

# Error codes of the service itself, in both languages (problems inside carry their own).
MESSAGES: dict[str, tuple[str, str]] = {
    "not_found": ("no such resource", "没有这个资源"),
    "method_not_allowed": ("method not allowed here", "此处不允许该方法"),
    "unknown_process": ("unknown process", "未知的流程"),
    "unknown_case": ("no such case in the store", "存储中没有该案件"),
    "case_incomplete": (
        "the case has events but no case data yet (PUT /v1/cases/{id})",
        "该案件只有事件、尚无案件数据（请先 PUT /v1/cases/{id}）",
    ),
    "invalid_case": ("the case cannot be judged", "无法判定该案件"),
    "invalid_request": ("the request cannot be read", "无法读取该请求"),
    "unauthorized": ("a valid bearer token is needed", "需要有效的令牌（Bearer）"),
    "forbidden": ("this token lacks the scope needed", "该令牌没有所需的权限"),
    "loopback_only": (
        "without tokens configured, only local clients are served",
        "未配置令牌时只接受本机请求",
    ),
    "payload_too_large": ("the request body is too large", "请求体过大"),
    "batch_too_large": ("the batch has too many lines", "批量请求行数过多"),
    "time_budget": ("the request ran out of its time budget", "请求超出了处理时限"),
    "not_ready": ("no policy loaded yet", "尚未加载规则"),
    "reload_failed": (
        "the new specs do not load; the last good set stays in force",
        "新规则无法加载，继续使用上一版有效规则",
    ),
    "idempotency_conflict": (
        "the idempotency key already names another event",
        "该幂等键已用于另一事件",
    ),
    "store_error": ("the case store cannot be reached", "无法访问案件存储"),
    "internal": ("internal error; the server log has the details", "内部错误，详见服务器日志"),
}


def message(code: str, lang: str) -> str:
    en, zh = MESSAGES.get(code, (code, code))
    return zh if lang == "zh" else en


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, problems: list[Problem] | None = None, headers: Any = None
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.problems = problems or []
        self.headers = headers


@dataclass
class ServiceConfig:
    processes: Path | None = None
    calendar: Path | None = None
    max_body_bytes: int = 1 << 20
    max_batch_bytes: int = 64 << 20
    max_batch_lines: int = 10_000
    time_budget_seconds: float = 10.0
    batch_budget_seconds: float = 300.0
    decision_log: Path | None = None
    masks: tuple[str, ...] = DEFAULT_MASKS
    watch: bool = True
    watch_debounce_ms: int = 300
    refresh_seconds: float = 300.0
    worklist_max: int = 500
    alerts_seconds: float = 60.0  # the SLA watcher's pass (0: off); see service/alerts.py


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "procrules_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.duration = Histogram(
            "procrules_request_duration_seconds",
            "Time to answer a request",
            ["route"],
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
        )
        self.checks = Counter("procrules_checks", "Cases judged", ["process", "ok"], registry=r)
        self.events = Counter(
            "procrules_events_appended", "Events appended to the store", registry=r
        )
        self.reloads = Counter("procrules_spec_reload", "Spec reloads", ["result"], registry=r)
        self.revision = Gauge(
            "procrules_spec_revision_info", "The spec revision in force", ["revision"], registry=r
        )
        self.decisions = Counter(
            "procrules_decision_log_written", "Decisions written to the decision log", registry=r
        )
        self._children: dict[tuple[str, ...], Any] = {}

    def checked(self, process: str, ok: bool) -> None:
        key = ("checks", process, "true" if ok else "false")
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.checks.labels(process, key[2])
        child.inc()

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        key = ("requests", route, method, str(status))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(route, method, key[3])
        child.inc()
        timer = self._children.get(("duration", route))
        if timer is None:
            timer = self._children[("duration", route)] = self.duration.labels(route)
        timer.observe(seconds)


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang")
    if lang is not None:
        if lang not in ("zh", "en"):
            raise ApiError(
                422,
                "invalid_request",
                [Problem("query", 0, 0, "bad_query", "lang must be zh or en", "?lang")],
            )
        return lang
    accept = request.headers.get("accept-language", "")
    return "zh" if accept.lower().startswith("zh") else "en"


def _problem(p: Problem, lang: str) -> T.Problem:
    return T.Problem(
        code=p.code,
        message=localise(p.message, lang),
        path=p.path,
        line=p.line or None,
        column=p.column or None,
        suggestion=p.suggestion,
    )


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(body), status, headers, media_type="application/json")


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


class Service:
    """The app's state: the policy in force, the store, tokens, limits, logs and metrics."""

    def __init__(
        self,
        config: ServiceConfig,
        store: Any,
        tokens: Tokens,
        *,
        decision_log: DecisionLog | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.tokens = tokens
        self.decision_log = decision_log
        self.clock = clock or (lambda: dt.datetime.now(SHANGHAI))
        self.metrics = Metrics()
        self.holder = PolicyHolder(config.processes, config.calendar, on_reload=self._reloaded)
        self.started = time.monotonic()
        self._openapi: bytes | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Other rings plug in here before app() is called: routes (the alerts board, its static
        # files) and background loops started with the app and cancelled when it stops (the SLA
        # watcher, the outbox). A loop gets the Service and must handle its own errors.
        self.extra_routes: list[BaseRoute] = []
        self.background: list[Callable[[Service], Awaitable[None]]] = []
        from .alerts import ServiceAlerts  # the SLA watcher, the board, the alerts API

        self.alerts = ServiceAlerts(self, config.alerts_seconds)

    # -- the policy --------------------------------------------------------------------------

    def _reloaded(self, result: ReloadResult) -> None:
        self.metrics.reloads.labels("ok" if result.ok else "error").inc()
        if result.ok and result.changed and result.revision:
            self.metrics.revision.clear()
            self.metrics.revision.labels(result.revision).set(1)
        record = {
            "event": "spec_reload",
            "trigger": result.trigger,
            "ok": result.ok,
            "changed": result.changed,
            "revision": result.revision,
        }
        if result.problems:
            record["problems"] = [p.render("en") for p in result.problems[:20]]
        log.log(
            logging.INFO if result.ok else logging.ERROR, "spec reload", extra={"fields": record}
        )

    def policy(self) -> Policy:
        current = self.holder.current
        if current is None:
            raise ApiError(503, "not_ready")
        return current

    async def reload(self, trigger: str) -> ReloadResult:
        result = await anyio.to_thread.run_sync(self.holder.reload, trigger)
        current = self.holder.current
        if result.changed and trigger != "start" and current is not None:
            # Open cases' stored states name the old revision: bring them up to date, in the
            # background (answers computed from the log use the new set at once).
            task = asyncio.get_running_loop().create_task(
                self.in_thread(self._refresh_open, current.checker)
            )
            self._tasks.append(task)
            task.add_done_callback(self._finished)
        return result

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("refresh of open cases failed", exc_info=task.exception())

    # -- request helpers ---------------------------------------------------------------------

    def authorize(self, request: Request, scope: str) -> Token | None:
        if not self.tokens:
            return None  # loopback-only: enforced for every request by the guard
        header = request.headers.get("authorization", "")
        kind, _, presented = header.partition(" ")
        token = self.tokens.find(presented.strip()) if kind.lower() == "bearer" else None
        if token is None:
            raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
        if not token.allows(scope):
            raise ApiError(403, "forbidden")
        request.scope.setdefault("state", {})["requested_by"] = token.name
        return token

    async def body(self, request: Request, limit: int) -> bytes:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise ApiError(413, "payload_too_large")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "payload_too_large")
            chunks.append(chunk)
        return b"".join(chunks)

    def parse(self, raw: bytes, where: str) -> Any:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(
                422,
                "invalid_request",
                [Problem(where, 0, 0, "encoding", "the body is not UTF-8 text", "$")],
            ) from None
        try:
            return parse_json(text, where)
        except CaseError as exc:
            raise ApiError(422, "invalid_request", exc.problems) from None

    def as_of(self, request: Request) -> dt.datetime:
        value = request.query_params.get("as_of")
        if value is None:
            return self.clock().replace(microsecond=0)
        try:
            return resolve_as_of(value)
        except ProcrulesError as exc:
            raise ApiError(
                422,
                "invalid_request",
                [Problem("query", 0, 0, "bad_query", exc.problems[0].message, "?as_of")],
            ) from None

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: fn(*args), abandon_on_cancel=True)

    def spec_ref(self, policy: Policy, report: Any) -> T.SpecRef:
        return T.SpecRef(report.process.id, report.process.version, policy.revision)

    # -- check -------------------------------------------------------------------------------

    async def check(self, request: Request) -> Response:
        self.authorize(request, SCOPE_CHECK)
        lang = _lang(request)
        policy = self.policy()
        as_of = self.as_of(request)
        explain = request.query_params.get("explain", "false").lower() in ("true", "1", "yes")
        raw = await self.body(request, self.config.max_body_bytes)
        case = self.parse(raw, "<request>")
        path_process = request.path_params.get("process")
        if path_process is not None:
            if path_process not in policy.checker.specs.versions:
                raise ApiError(
                    404, "unknown_process", [self._unknown(path_process, policy, "{process}")]
                )
            if isinstance(case, dict):
                given = case.get("process")
                if given is not None and given != path_process:
                    raise ApiError(
                        422,
                        "invalid_case",
                        [
                            Problem(
                                "<request>",
                                0,
                                0,
                                "process_mismatch",
                                f"the case is for '{given}', the path for '{path_process}'",
                                "$.process",
                            )
                        ],
                    )
                case = {"process": path_process, **case}
        started = time.perf_counter_ns()
        if len(raw) > 65536:  # a large case is judged off the event loop, within the budget
            judged = await self.in_thread(self._judge, policy, case, as_of, explain, lang)
        else:
            judged = self._judge(policy, case, as_of, explain, lang)
        report, result, explanation = judged
        elapsed = time.perf_counter_ns() - started
        decision_id = uuid.uuid4().hex
        self.metrics.checked(report.process.id, report.ok)
        if self.decision_log is not None:
            self._log_decision(request, decision_id, policy, report, case, result, as_of, elapsed)
        return _json(
            T.CheckResponse(
                result=result,
                decision_id=decision_id,
                spec=self.spec_ref(policy, report),
                explanation=explanation,
            )
        )

    def _judge(
        self, policy: Policy, case: Any, as_of: dt.datetime, explain: bool, lang: str
    ) -> tuple[Any, dict[str, Any], str | None]:
        checker = policy.checker
        try:
            if explain:
                from ..api import validate_case
                from ..explain import explain as explain_text

                judgement = checker.engine.judge(
                    validate_case(case, "<request>"), as_of, "<request>"
                )
                report = judgement.run()
                return report, report.to_dict(lang), explain_text(judgement, report, lang)
            report = checker.check(case, as_of, file="<request>")
        except CaseError as exc:
            status = 404 if any(p.code == "unknown_process" for p in exc.problems) else 422
            code = "unknown_process" if status == 404 else "invalid_case"
            raise ApiError(status, code, exc.problems) from None
        return report, report.to_dict(lang), None

    def _unknown(self, process: str, policy: Policy, path: str) -> Problem:
        from ..errors import did_you_mean

        return Problem(
            "<request>",
            0,
            0,
            "unknown_process",
            f"unknown process '{process}'",
            path,
            did_you_mean(process, policy.checker.specs.versions),
        )

    def _log_decision(
        self,
        request: Request,
        decision_id: str,
        policy: Policy,
        report: Any,
        case: Any,
        result: dict[str, Any],
        as_of: dt.datetime,
        elapsed_ns: int,
    ) -> None:
        assert self.decision_log is not None
        state = request.scope.get("state", {})
        self.decision_log.write(
            {
                "decision_id": decision_id,
                "request_id": state.get("request_id"),
                "timestamp": self.clock().isoformat(timespec="milliseconds"),
                "path": request.url.path,
                "process": report.process.id,
                "process_version": report.process.version,
                "spec_revision": policy.revision,
                "as_of": _iso(as_of),
                "input": case,
                "result": result,
                "requested_by": state.get("requested_by")
                or (request.client.host if request.client else None),
                "metrics": {"timer_ns": elapsed_ns},
            }
        )
        self.metrics.decisions.inc()

    async def check_batch(self, request: Request) -> Response:
        """JSON Lines in, JSON Lines out: one line per input line, in order, then a summary.
        The whole batch is judged by the policy in force when it arrived."""
        self.authorize(request, SCOPE_CHECK)
        lang = _lang(request)
        policy = self.policy()
        as_of = self.as_of(request)
        with anyio.fail_after(self.config.time_budget_seconds):
            raw = await self.body(request, self.config.max_batch_bytes)
        lines = raw.split(b"\n")
        if lines and not lines[-1].strip():
            lines.pop()
        if len(lines) > self.config.max_batch_lines:
            raise ApiError(
                413,
                "batch_too_large",
                [
                    Problem(
                        "<request>",
                        0,
                        0,
                        "batch_too_large",
                        f"{len(lines)} lines; at most {self.config.max_batch_lines}",
                        "$",
                    )
                ],
            )
        deadline = time.monotonic() + self.config.batch_budget_seconds
        encoder = msgspec.json.Encoder()

        async def stream() -> AsyncIterator[bytes]:
            results = errors = 0
            complete = True
            for number, line in enumerate(lines, 1):
                if time.monotonic() > deadline:
                    complete = False
                    yield (
                        encoder.encode(
                            T.BatchLine(
                                line=number,
                                error=T.ErrorBody(503, "time_budget", message("time_budget", lang)),
                            )
                        )
                        + b"\n"
                    )
                    errors += 1
                    break
                if not line.strip():
                    continue
                where = f"<line {number}>"
                try:
                    case = self.parse(line, where)
                    report, result, _ = self._judge(policy, case, as_of, False, lang)
                except ApiError as exc:
                    errors += 1
                    yield (
                        encoder.encode(
                            T.BatchLine(
                                line=number,
                                error=T.ErrorBody(
                                    exc.status,
                                    exc.code,
                                    message(exc.code, lang),
                                    [_problem(p, lang) for p in exc.problems],
                                ),
                            )
                        )
                        + b"\n"
                    )
                    continue
                results += 1
                self.metrics.checked(report.process.id, report.ok)
                decision_id = uuid.uuid4().hex
                if self.decision_log is not None:
                    self._log_decision(request, decision_id, policy, report, case, result, as_of, 0)
                yield (
                    encoder.encode(
                        T.BatchLine(
                            line=number,
                            result=result,
                            decision_id=decision_id,
                            spec=self.spec_ref(policy, report),
                        )
                    )
                    + b"\n"
                )
                if number % 64 == 0:
                    await anyio.sleep(0)  # let other requests in
            summary = T.BatchSummary(
                lines=len(lines),
                results=results,
                errors=errors,
                complete=complete,
                revision=policy.revision,
            )
            yield encoder.encode({"summary": summary}) + b"\n"

        return StreamingResponse(stream(), media_type="application/x-ndjson")

    # -- cases -------------------------------------------------------------------------------

    def _case_id(self, request: Request) -> str:
        case_id = str(request.path_params["case_id"])
        if not case_id or len(case_id) > 200:
            raise ApiError(
                422,
                "invalid_request",
                [Problem("<request>", 0, 0, "case_id", "a case id has 1 to 200 characters", "?")],
            )
        return case_id

    def _appended(self, results: list[Any]) -> list[T.AppendedEvent]:
        return [
            T.AppendedEvent(
                index=r.index,
                seq=r.seq,
                idempotency_key=r.idempotency_key,
                status="duplicate" if r.duplicate else "appended",
                notes=list(r.notes),
            )
            for r in results
        ]

    async def append_events(self, request: Request) -> Response:
        self.authorize(request, SCOPE_INGEST)
        _lang(request)
        policy = self.policy()
        case_id = self._case_id(request)
        body = self.parse(await self.body(request, self.config.max_body_bytes), "<request>")
        if isinstance(body, list):
            body = {"events": body}
        try:
            msgspec.convert(body, T.EventsRequest)
        except msgspec.ValidationError as exc:
            raise ApiError(422, "invalid_request", [_msgspec_problem(exc)]) from None
        events = list(body["events"])
        header_key = request.headers.get("idempotency-key")
        if header_key:
            events = [
                e if e.get("idempotency_key") else {**e, "idempotency_key": f"{header_key}:{i}"}
                for i, e in enumerate(events)
            ]
        from ..store.eventlog import IdempotencyConflict

        def work() -> list[Any]:
            results = self.store.append(
                case_id,
                events,
                process=body.get("process"),
                checker=policy.checker,
                file="<request>",
            )
            if any(not r.duplicate for r in results):
                self.store.refresh(policy.checker, self.clock(), [case_id])
            return list(results)

        try:
            results = await self.in_thread(work)
        except IdempotencyConflict as exc:
            raise ApiError(409, "idempotency_conflict", exc.problems) from None
        except CaseError as exc:
            raise ApiError(422, "invalid_request", exc.problems) from None
        appended = sum(not r.duplicate for r in results)
        self.metrics.events.inc(appended)
        return _json(
            T.EventsResponse(
                case_id=case_id,
                appended=appended,
                duplicates=len(results) - appended,
                results=self._appended(results),
            ),
            201 if appended else 200,
        )

    async def put_case(self, request: Request) -> Response:
        self.authorize(request, SCOPE_INGEST)
        _lang(request)
        policy = self.policy()
        case_id = self._case_id(request)
        body = self.parse(await self.body(request, self.config.max_body_bytes), "<request>")
        problems: list[Problem] = []
        if isinstance(body, dict) and body.get("case_id", case_id) != case_id:
            problems.append(
                Problem(
                    "<request>",
                    0,
                    0,
                    "case_id_mismatch",
                    "case_id differs from the path",
                    "$.case_id",
                )
            )
        from ..api import validate_case
        from ..store.eventlog import IdempotencyConflict, split_case

        try:
            case = validate_case(
                {**body, "case_id": case_id} if isinstance(body, dict) else body, "<request>"
            )
        except CaseError as exc:
            problems.extend(exc.problems)
            raise ApiError(422, "invalid_case", problems) from None
        if case["process"] not in policy.checker.specs.versions:
            problems.append(self._unknown(case["process"], policy, "$.process"))
        if problems:
            raise ApiError(422, "invalid_case", problems)
        data, events = split_case(case)

        def work() -> tuple[Any, list[Any]]:
            put = self.store.put_case(case_id, data, source="api")
            results = self.store.append(case_id, events, checker=policy.checker, file="<request>")
            self.store.refresh(policy.checker, self.clock(), [case_id])
            return put, list(results)

        try:
            put, results = await self.in_thread(work)
        except IdempotencyConflict as exc:
            raise ApiError(409, "idempotency_conflict", exc.problems) from None
        except CaseError as exc:
            raise ApiError(422, "invalid_case", exc.problems) from None
        self.metrics.events.inc(sum(not r.duplicate for r in results))
        return _json(
            T.CaseDataResponse(
                case_id=case_id,
                version=put.version,
                created=put.created,
                events=self._appended(results),
            ),
            201 if put.created else 200,
        )

    async def get_case(self, request: Request) -> Response:
        self.authorize(request, SCOPE_CHECK)
        lang = _lang(request)
        policy = self.policy()
        case_id = self._case_id(request)
        as_of = self.as_of(request)

        def work() -> tuple[Any, Any, list[Any]]:
            return (
                self.store.case_data(case_id),
                self.store.assemble(case_id),
                self.store.events(case_id),
            )

        data, case, events = await self.in_thread(work)
        if case is None:
            raise ApiError(404, "unknown_case")
        if data is None:
            raise ApiError(
                409,
                "case_incomplete",
                [Problem("<store>", 0, 0, "no_case_data", "the case has no data yet", "$")],
            )
        try:
            report, result, _ = self._judge(policy, case, as_of, False, lang)
        except ApiError as exc:  # stored data the policy in force cannot judge (a flow removed)
            raise ApiError(422, "invalid_case", exc.problems) from None
        return _json(
            T.CaseResponse(
                case_id=case_id,
                data_version=data.version,
                result=result,
                spec=self.spec_ref(policy, report),
                events=[T.StoredEventOut(**e.to_dict()) for e in events],
            )
        )

    async def worklist(self, request: Request) -> Response:
        self.authorize(request, SCOPE_CHECK)
        _lang(request)
        q = request.query_params
        problems = []
        status = q.get("status")
        if status is not None and status not in WORKLIST_STATUSES:
            problems.append(
                Problem(
                    "query",
                    0,
                    0,
                    "bad_query",
                    f"status must be one of {', '.join(WORKLIST_STATUSES)}",
                    "?status",
                )
            )
        limit_text = q.get("limit", "50")
        limit = int(limit_text) if limit_text.isdigit() else 0
        if not 1 <= limit <= self.config.worklist_max:
            problems.append(
                Problem(
                    "query",
                    0,
                    0,
                    "bad_query",
                    f"limit must be a whole number from 1 to {self.config.worklist_max}",
                    "?limit",
                )
            )
        if problems:
            raise ApiError(422, "invalid_request", problems)
        now = self.as_of(request) if "as_of" in q else self.clock()
        from ..store.eventlog import StoreError

        try:
            page = await self.in_thread(
                lambda: self.store.worklist(
                    status=status,
                    process=q.get("process"),
                    role=q.get("role"),
                    limit=limit,
                    cursor=q.get("cursor"),
                    now=now,
                )
            )
        except StoreError as exc:
            raise ApiError(422, "invalid_request", exc.problems) from None
        return _json(
            T.WorklistPage(
                items=[T.WorklistItem(**_worklist_fields(s.to_dict())) for s in page.items],
                next_cursor=page.next_cursor,
                as_of=_iso(now),
            )
        )

    # -- specs, status, health, metrics ------------------------------------------------------

    async def specs(self, request: Request) -> Response:
        self.authorize(request, SCOPE_CHECK)
        lang = _lang(request)
        policy = self.policy()
        specs = policy.checker.specs
        return _json(
            T.SpecList(
                revision=policy.revision,
                specs=[
                    T.SpecSummary(
                        process=pid,
                        version=versions[-1].version,
                        name=versions[-1].label.get(lang),
                        revision=policy.revision,
                        versions=[v.version for v in versions],
                    )
                    for pid, versions in sorted(specs.versions.items())
                ],
            )
        )

    async def spec(self, request: Request) -> Response:
        self.authorize(request, SCOPE_CHECK)
        lang = _lang(request)
        policy = self.policy()
        pid = request.path_params["process"]
        versions = policy.checker.specs.versions.get(pid)
        if not versions:
            raise ApiError(404, "unknown_process", [self._unknown(pid, policy, "{process}")])
        p = versions[-1]
        from ..report import duration_text

        return _json(
            T.SpecDetail(
                process=p.id,
                version=p.version,
                name=p.label.get(lang),
                revision=policy.revision,
                effective_from=p.effective_from.isoformat(),
                versions=[v.version for v in versions],
                roles=list(p.roles),
                events=[T.NamedItem(id=k, name=v.get(lang)) for k, v in p.events.items()],
                facts=sorted(p.facts),
                deadlines=[
                    T.DeadlineInfo(
                        rule=d.rule,
                        id=d.id,
                        name=d.label.get(lang),
                        within=duration_text(d.duration, lang),
                    )
                    for d in p.deadlines
                ],
                rules=sorted(p.rules),
            )
        )

    def _outcome(self, r: ReloadResult | None, lang: str) -> T.ReloadOutcome | None:
        if r is None:
            return None
        return T.ReloadOutcome(
            at=_iso(r.at),
            ok=r.ok,
            revision=r.revision,
            trigger=r.trigger,
            problems=[_problem(p, lang) for p in r.problems[:100]],
        )

    async def reload_specs(self, request: Request) -> Response:
        self.authorize(request, SCOPE_ADMIN)
        lang = _lang(request)
        result = await self.reload("api")
        if not result.ok:
            raise ApiError(422, "reload_failed", list(result.problems))
        outcome = self._outcome(result, lang)
        assert outcome is not None and result.revision is not None
        return _json(
            T.ReloadResponse(
                ok=True, changed=result.changed, revision=result.revision, last_reload=outcome
            )
        )

    async def status(self, request: Request) -> Response:
        self.authorize(request, SCOPE_CHECK)
        lang = _lang(request)
        current = self.holder.current

        def store_status() -> T.StoreStatus:
            try:
                counts = self.store.counts()
                return T.StoreStatus(
                    url=self.store.url,
                    dialect=self.store.dialect,
                    schema_revision=self.store.schema_revision(),
                    cases=counts["cases"],
                    events=counts["events"],
                    reachable=True,
                )
            except Exception:
                return T.StoreStatus(
                    url=self.store.url,
                    dialect=self.store.dialect,
                    schema_revision=None,
                    cases=None,
                    events=None,
                    reachable=False,
                )

        return _json(
            T.Status(
                version=__version__,
                revision=current.revision if current else None,
                folder=str(current.folder) if current else None,
                loaded_at=_iso(current.loaded_at) if current else None,
                processes=sorted(current.checker.specs.versions) if current else [],
                last_reload=self._outcome(self.holder.last_reload, lang),
                reloads=self.holder.reloads,
                store=await self.in_thread(store_status),
                auth="tokens" if self.tokens else "loopback-only",
                uptime_seconds=round(time.monotonic() - self.started, 3),
                decision_log=str(self.decision_log.path) if self.decision_log else None,
            )
        )

    async def live(self, request: Request) -> Response:
        return _json(T.Health(status="ok"))

    async def ready(self, request: Request) -> Response:
        checks = {"specs": "ok" if self.holder.current else "not loaded"}
        try:
            await self.in_thread(self.store.ping)
            checks["store"] = "ok"
        except Exception:
            checks["store"] = "unreachable"
        ok = all(v == "ok" for v in checks.values())
        return _json(
            T.Health(status="ok" if ok else "unavailable", checks=checks), 200 if ok else 503
        )

    async def metrics_page(self, request: Request) -> Response:
        alerts = await self.in_thread(self.alerts.metrics_text)
        return Response(
            generate_latest(self.metrics.registry) + alerts.encode("utf-8"),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    async def openapi(self, request: Request) -> Response:
        if self._openapi is None:
            from .openapi import openapi_document

            self._openapi = json.dumps(openapi_document(), ensure_ascii=False).encode("utf-8")
        return Response(self._openapi, media_type="application/json")

    async def api_page(self, request: Request) -> Response:
        from .openapi import api_page

        return HTMLResponse(api_page(_lang(request)))

    # -- background work ---------------------------------------------------------------------

    async def watch(self) -> None:
        """Reload when a file in the specs folder changes."""
        import watchfiles

        folder = self.holder.folder
        if folder is None or not Path(folder).is_dir():
            return
        async for _changes in watchfiles.awatch(
            folder, debounce=self.config.watch_debounce_ms, step=50, recursive=True
        ):
            await self.reload("watch")

    async def refresh_open_cases(self) -> None:
        """Bring the projections of open cases up to now, so at_risk reads true in worklists."""
        while True:
            await anyio.sleep(self.config.refresh_seconds)
            current = self.holder.current
            if current is None:
                continue
            try:
                await self.in_thread(self._refresh_open, current.checker)
            except Exception:
                log.exception("refresh of open cases failed")

    def _refresh_open(self, checker: Any) -> None:
        self.store.refresh(checker, self.clock(), list(self.store.open_case_ids()))

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.holder.current is None:
            await self.reload("start")
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload("sighup")))
        if self.config.watch:
            self._tasks.append(loop.create_task(self.watch()))
        if self.config.refresh_seconds > 0:
            self._tasks.append(loop.create_task(self.refresh_open_cases()))
        for run in self.background:
            self._tasks.append(loop.create_task(run(self)))  # type: ignore[arg-type]
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGHUP)
            if self.decision_log is not None:
                self.decision_log.close()

    # -- the app -----------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]]:
        return [
            ("/v1/check", self.check, ["POST"]),
            ("/v1/check:batch", self.check_batch, ["POST"]),
            ("/v1/check/{process}", self.check, ["POST"]),
            ("/v1/cases", self.worklist, ["GET"]),
            ("/v1/cases/{case_id}", self.get_case, ["GET"]),
            ("/v1/cases/{case_id}", self.put_case, ["PUT"]),
            ("/v1/cases/{case_id}/events", self.append_events, ["POST"]),
            ("/v1/specs", self.specs, ["GET"]),
            ("/v1/specs:reload", self.reload_specs, ["POST"]),
            ("/v1/specs/{process}", self.spec, ["GET"]),
            ("/v1/status", self.status, ["GET"]),
            ("/health/live", self.live, ["GET"]),
            ("/health/ready", self.ready, ["GET"]),
            ("/metrics", self.metrics_page, ["GET"]),
            ("/openapi.json", self.openapi, ["GET"]),
            ("/docs", self.api_page, ["GET"]),
        ]

    def app(self) -> ASGIApp:
        unbudgeted = {self.check_batch}
        routes = []
        for path, handler, methods in self.routes():
            endpoint = handler if handler in unbudgeted else self._budgeted(handler)
            routes.append(Route(path, endpoint, methods=methods, name=f"{methods[0]} {path}"))
        starlette = Starlette(
            routes=[*routes, *self.extra_routes],
            lifespan=self.lifespan,
            exception_handlers={
                ApiError: self._api_error,
                HTTPException: self._http_error,
                Exception: self._internal_error,  # answered here; the Guard logs it
            },
        )
        return Guard(starlette, self)

    def _budgeted(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        budget = self.config.time_budget_seconds

        async def run(request: Request) -> Response:
            try:
                async with asyncio.timeout(budget):  # cheaper than an anyio cancel scope
                    return await handler(request)
            except TimeoutError:
                raise ApiError(503, "time_budget") from None

        setattr(run, "__wrapped_handler__", handler)  # noqa: B010 (the Guard's route label)
        return run

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        try:
            lang = _lang(request)
        except ApiError:
            lang = "en"
        return self.error_response(exc, lang, request.scope.get("state", {}).get("request_id"))

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request")
        return await self._api_error(request, ApiError(exc.status_code, code, headers=exc.headers))

    async def _internal_error(self, request: Request, exc: Exception) -> Response:
        request_id = request.scope.get("state", {}).get("request_id")
        return self.error_response(ApiError(500, "internal"), "en", request_id)

    def error_response(self, exc: ApiError, lang: str, request_id: str | None) -> Response:
        body = T.ErrorResponse(
            error=T.ErrorBody(
                status=exc.status,
                code=exc.code,
                message=message(exc.code, lang),
                problems=[_problem(p, lang) for p in exc.problems[:100]],
            ),
            request_id=request_id,
        )
        return _json(body, exc.status, exc.headers)


def _worklist_fields(d: dict[str, Any]) -> dict[str, Any]:
    keep = T.WorklistItem.__struct_fields__
    return {k: d.get(k) for k in keep}


def _msgspec_problem(exc: msgspec.ValidationError) -> Problem:
    text = str(exc)
    path = "$"
    if " - at `" in text:
        text, _, rest = text.partition(" - at `")
        path = rest.rstrip("`")
    return Problem("<request>", 0, 0, "invalid_request", text, path)


class Guard:
    """Outermost layer: request id, loopback-only without tokens, JSON access log, metrics, and
    a last catch so that no exception (and no stack trace) ever reaches a client."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service
        self.templates: dict[Any, str] = {h: p for p, h, _ in service.routes()}
        # The check routes, the hot path, are dispatched here without the router and its
        # middleware layers (about a third of the service's own cost of a check); they answer
        # exactly as through Starlette.
        self.check_endpoint = service._budgeted(service.check)
        self.request_ids = itertools.count(1)
        self.id_prefix = os.urandom(4).hex()

    def _fast(self, scope: Scope) -> dict[str, str] | None:
        """Path parameters when the request is a check, else None."""
        if scope["method"] != "POST":
            return None
        path: str = scope["path"]
        if path == "/v1/check":
            return {}
        if path.startswith("/v1/check/"):
            process = path[10:]
            if process and "/" not in process:
                return {"process": process}
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service = self.service
        request_id = f"{self.id_prefix}{next(self.request_ids):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        client = scope.get("client")
        try:
            if not service.tokens and not is_loopback(client[0] if client else None):
                response = service.error_response(ApiError(403, "loopback_only"), "en", request_id)
                await response(scope, receive, send_wrapper)
            elif (params := self._fast(scope)) is not None:
                scope["endpoint"] = self.check_endpoint
                scope["path_params"] = params
                request = Request(scope, receive)
                try:
                    response = await self.check_endpoint(request)
                except ApiError as exc:
                    response = await service._api_error(request, exc)
                await response(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            log.error(
                "unhandled error",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "error": exc.__class__.__name__,
                        "trace": traceback.format_exc(),
                    }
                },
            )
            if not response_started:
                response = service.error_response(ApiError(500, "internal"), "en", request_id)
                await response(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            endpoint = scope.get("endpoint")
            route = self.templates.get(
                getattr(endpoint, "__wrapped_handler__", endpoint), "unmatched"
            )
            service.metrics.answered(route, scope["method"], status, elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 3),
                            "client": client[0] if client else None,
                            "requested_by": scope.get("state", {}).get("requested_by"),
                        }
                    },
                )


class JsonFormatter(logging.Formatter):
    """One JSON object per log line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and "trace" not in out:
            out["trace"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)
