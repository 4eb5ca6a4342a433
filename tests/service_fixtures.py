"""A real `procrules serve` on a free loopback port, for tests that drive it over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

# The installed command, beside this interpreter (as a user would run it).
PROCRULES = str(Path(sys.executable).with_name("procrules"))

TOKENS = {
    "check": "check-token-0123456789",
    "ingest": "ingest-token-0123456789",
    "admin": "admin-token-0123456789",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_tokens(path: Path) -> Path:
    import json

    path.write_text(
        json.dumps(
            {
                "tokens": [
                    {"name": "counter", "token": TOKENS["check"], "scopes": ["check"]},
                    {"name": "crm", "token": TOKENS["ingest"], "scopes": ["ingest"]},
                    {"name": "ops", "token": TOKENS["admin"], "scopes": ["admin"]},
                ]
            }
        ),
        "utf-8",
    )
    return path


def auth(scope: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[scope]}"}


class Server:
    """`python -m procrules.cli serve ...` in a child process, stopped by its own pid."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"server-{self.port}.log"
        command = [PROCRULES, "serve", "--port", str(self.port), *args]
        with self.log.open("w") as stderr:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                command,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text('utf-8')}")
            try:
                if httpx.get(self.url + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start: {self.log.read_text('utf-8')}")
            time.sleep(0.05)
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def hup(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        client = getattr(self, "client", None)
        if client is not None:
            client.close()

    def logs(self) -> str:
        return self.log.read_text("utf-8")
