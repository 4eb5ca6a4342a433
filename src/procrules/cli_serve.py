"""`procrules serve`: the decision service on uvicorn. Imports the server stack only when run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .cli import EXIT_CANNOT_JUDGE, default_lang, fail
from .cli_cases import store_option
from .cli_options import calendar_option, processes_option
from .errors import ProcrulesError, UsageError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@store_option
@processes_option
@calendar_option
@click.option(
    "--tokens",
    "tokens_file",
    type=click.Path(path_type=Path),
    default=None,
    envvar="PROCRULES_TOKENS_FILE",
    help='Bearer tokens file: {"tokens": [{"name", "token" or "sha256", "scopes"}]}; '
    "also $PROCRULES_TOKENS (name:token:scope+scope,...). Without tokens: loopback only.",
)
@click.option(
    "--decision-log",
    type=click.Path(path_type=Path),
    default=None,
    envvar="PROCRULES_DECISION_LOG",
    help="Append every decision, masked, to this JSON Lines file.",
)
@click.option(
    "--mask",
    "masks",
    multiple=True,
    metavar="JSONPATH",
    help="Mask this JSON path in the decision log (repeatable; adds to the defaults: "
    "customer name, ID numbers, phone numbers).",
)
@click.option("--max-body-bytes", type=click.IntRange(1), default=1 << 20, show_default=True)
@click.option("--max-batch-bytes", type=click.IntRange(1), default=64 << 20, show_default=True)
@click.option("--max-batch-lines", type=click.IntRange(1), default=10_000, show_default=True)
@click.option(
    "--time-budget",
    type=click.FloatRange(0.01),
    default=10.0,
    show_default=True,
    help="Seconds a request may take (a batch: --batch-budget).",
)
@click.option("--batch-budget", type=click.FloatRange(0.01), default=300.0, show_default=True)
@click.option("--watch/--no-watch", default=True, help="Reload when the specs folder changes.")
@click.option(
    "--alerts-every",
    "alerts_seconds",
    type=click.FloatRange(0),
    default=60.0,
    show_default=True,
    help="Seconds between SLA watcher passes (alerts.yaml in the specs folder); 0: off.",
)
@click.option(
    "--refresh-seconds",
    type=click.FloatRange(0),
    default=300.0,
    show_default=True,
    help="Bring open cases' states up to now this often (0: never).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def serve(
    host: str,
    port: int,
    store_target: str | None,
    processes: Path | None,
    calendar_file: Path | None,
    tokens_file: Path | None,
    decision_log: Path | None,
    masks: tuple[str, ...],
    max_body_bytes: int,
    max_batch_bytes: int,
    max_batch_lines: int,
    time_budget: float,
    batch_budget: float,
    watch: bool,
    alerts_seconds: float,
    refresh_seconds: float,
    log_level: str,
) -> None:
    """Serve checks, case events and worklists over HTTP (JSON, under /v1).

    Needs the server extra: pip install 'procrules[server]'. The API is described at /docs and
    /openapi.json once it runs.
    """
    lang = default_lang()
    try:
        import msgspec  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        fail(
            UsageError.at(
                "procrules serve",
                "the server needs its extra: pip install 'procrules[server]'",
                code="missing_extra",
            ),
            lang,
        )
        sys.exit(EXIT_CANNOT_JUDGE)
    from .service.app import JsonFormatter, Service, ServiceConfig
    from .service.auth import ENV_TOKENS, is_loopback, load_tokens
    from .service.decisionlog import DEFAULT_MASKS, DecisionLog, Masker
    from .store import open_store

    try:
        tokens = load_tokens(tokens_file, os.environ.get(ENV_TOKENS))
        if not tokens and not is_loopback(host):
            raise UsageError.at(
                "--host",
                f"refusing to listen on {host} without tokens (give --tokens or "
                "$PROCRULES_TOKENS, or listen on 127.0.0.1)",
            )
        masker = Masker((*DEFAULT_MASKS, *masks))
        config = ServiceConfig(
            processes=processes,
            calendar=calendar_file,
            max_body_bytes=max_body_bytes,
            max_batch_bytes=max_batch_bytes,
            max_batch_lines=max_batch_lines,
            time_budget_seconds=time_budget,
            batch_budget_seconds=batch_budget,
            decision_log=decision_log,
            masks=tuple(masker.paths),
            watch=watch,
            refresh_seconds=refresh_seconds,
            alerts_seconds=alerts_seconds,
        )
        store = open_store(store_target)
        log_file = DecisionLog(decision_log, masker) if decision_log else None
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    service = Service(config, store, tokens, decision_log=log_file)
    first = service.holder.reload("start")
    if not first.ok:
        fail(ProcrulesError(list(first.problems)), lang)
        sys.exit(EXIT_CANNOT_JUDGE)

    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level.upper())
    logging.getLogger("procrules.service").info(
        "serving",
        extra={
            "fields": {
                "url": f"http://{host}:{port}",
                "revision": first.revision,
                "folder": str(service.holder.folder),
                "store": store.url,
                "auth": "tokens" if tokens else "loopback-only",
            }
        },
    )
    uvicorn.run(
        service.app(),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    store.close()
