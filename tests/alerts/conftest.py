"""Fixtures for the watcher: a policy folder with alerts.yaml, a webhook receiver on loopback,
cases written for the National Day holiday of 2026, and a clock that is only ever passed in."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from procrules.api import Checker
from procrules.calendar import SHANGHAI
from procrules.spec.compile import shipped_processes_dir

pytest.importorskip("sqlalchemy")
pytest.importorskip("httpx")


class Receiver:
    """A webhook receiver on 127.0.0.1: records every body; answers with the queued statuses."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the standard library's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.received.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


ALERTS_YAML = """
levels:
  - level: red
    name: {{zh: 红牌, en: Red card}}
    when: {{breached: committed}}
    notify: [handler, manager, supervisor]
    send_at: any_time
  - level: yellow
    name: {{zh: 黄牌, en: Yellow card}}
    when: {{breached: step, working_days_left_at_most: 0.5}}
    notify: [handler, manager]
  - level: blue
    name: {{zh: 蓝色提醒, en: Blue reminder}}
    when: {{used_at_least: 0.75, working_days_left_at_most: 1}}
    notify: [handler]
    send_resolved: false
step_limits:
  water_type_change: [WT-VERIFY]
managers:
  design_office: leader_in_charge
  business_office: business_office_manager
supervisor: supervision_office
recipients:
  supervision_office: {{zh: 督办室, en: Supervision office}}
group_by: [recipient, level]
repeat: next working day 09:00
window: "08:30-17:30"
link: "http://board.example/board/cases/{{case_id}}"
inhibit:
  - source: {{level: red}}
    target: {{level: [yellow, blue]}}
    equal: [case_id]
routes:
  - match: {{recipient: supervision_office}}
    channels: [hook]
    continue: true
  - channels: [desk]
channels:
  desk: {{type: jsonl, path: desk.jsonl}}
  hook: {{type: webhook, url: "{url}", rate_limit: "off"}}
"""


@pytest.fixture
def policy_folder(tmp_path: Path, receiver: Receiver) -> Path:
    folder = tmp_path / "policy"
    shutil.copytree(shipped_processes_dir(), folder, ignore=shutil.ignore_patterns("tests"))
    (folder / "alerts.yaml").write_text(ALERTS_YAML.format(url=receiver.url), encoding="utf-8")
    return folder


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def water_type_case(
    case_id: str = "WT-1", events: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    example = json.loads(
        (shipped_processes_dir() / "examples" / "water_type_change.json").read_text("utf-8")
    )
    example["case_id"] = case_id
    example["events"] = [
        {"event": e, "at": t}
        for e, t in (events or [("order_received", "2026-09-29T10:00:00+08:00")])
    ]
    return dict(example)


@pytest.fixture
def checker(policy_folder: Path) -> Checker:
    return Checker.load(policy_folder)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """An ASGI app on a free loopback port (uvicorn in a thread), stopped on leaving."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.025)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
