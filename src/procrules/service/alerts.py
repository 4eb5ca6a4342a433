"""The watcher inside `procrules serve`: a background pass every N seconds over the store's open
cases, the board's pages and the alerts/silences API, and the alert metrics for /metrics.

On PostgreSQL several replicas may run; the watcher takes a session advisory lock for each pass,
so only one replica tells people at a time (the others skip that pass).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..alerts.cases import StoreCases
from ..alerts.delivery import build_channels
from ..alerts.metrics import render_metrics
from ..alerts.policy import AlertPolicy, load_alert_policy
from ..alerts.store import AlertStore
from ..alerts.watcher import PassResult, Watcher
from ..api import Checker
from ..spec.compile import shipped_processes_dir
from ..store.eventlog import Store
from .board import Board

log = logging.getLogger("procrules.service")

# route -> the token scope it needs when tokens are configured
SCOPES = {"POST /v1/silences": "admin", "DELETE /v1/silences/{silence_id}": "admin"}


class ServiceAlerts:
    def __init__(self, service: Any, interval_seconds: float) -> None:
        self.service = service
        self.interval = interval_seconds
        self.engine: sa.Engine = service.store.engine
        self._loaded: tuple[str, Checker, AlertPolicy, Watcher] | None = None
        self.board = Board(self.engine, self.current, service.clock)
        service.extra_routes.extend(self.routes())
        if interval_seconds > 0:
            service.background.append(lambda _service: self.run())

    def current(self) -> tuple[Checker, AlertPolicy]:
        _, checker, policy, _ = self._load()
        return checker, policy

    def _load(self) -> tuple[str, Checker, AlertPolicy, Watcher]:
        """The policy in force and its alerts.yaml, built again only when the revision changes
        (so the channels' rate limiters live as long as the policy does)."""
        policy = self.service.policy()
        if self._loaded is None or self._loaded[0] != policy.revision:
            checker = policy.checker
            alert_policy = load_alert_policy(checker.specs)
            shipped = Path(alert_policy.file).parent.resolve() == shipped_processes_dir().resolve()
            channels = build_channels(
                alert_policy.channels,
                base_dir=Path.cwd() if shipped else policy.folder,
                file=alert_policy.file,
            )
            watcher = Watcher(checker, alert_policy, AlertStore(self.engine), channels)
            self._loaded = (policy.revision, checker, alert_policy, watcher)
        return self._loaded

    def pass_once(self) -> PassResult:
        _, _, _, watcher = self._load()
        store = Store(self.engine)
        result = watcher.run_once(
            StoreCases(self.engine), self.service.clock(), lookup=store.assemble
        )
        return result

    async def run(self) -> None:
        """The first pass at start-up (a background task: the service is ready meanwhile, and
        the board lights cases from their projections until the pass ends), then one every
        `interval` seconds."""
        while True:
            try:
                await self.service.in_thread(self.pass_once)
            except Exception:  # logged; the next pass tries again
                log.exception("watcher pass failed")
            await anyio.sleep(self.interval)

    def routes(self) -> list[Route]:
        out = []
        for route in self.board.routes():
            for method in sorted(route.methods or ()):
                if method == "HEAD":
                    continue
                scope = SCOPES.get(f"{method} {route.path}", "check")
                out.append(
                    Route(route.path, self._guarded(route.endpoint, scope), methods=[method])
                )
        return out

    def _guarded(
        self, endpoint: Callable[[Request], Any], scope: str
    ) -> Callable[[Request], Awaitable[Response]]:
        is_async = inspect.iscoroutinefunction(endpoint)

        async def run(request: Request) -> Response:
            self.service.authorize(request, scope)
            if is_async:
                answer: Response = await endpoint(request)
            else:
                answer = await self.service.in_thread(endpoint, request)
            return answer

        return run

    def metrics_text(self) -> str:
        return render_metrics(AlertStore(self.engine))
