"""A real HTTP server on a loopback port that records what it receives and answers as told:
the far side of every HTTP channel in these tests. Platform stand-ins check the wire format and
the signature the way the platforms describe it, against a clock the test passes in."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Answer = tuple[int, dict[str, str], bytes]
Responder = Callable[[Received], Answer]


def ok_json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(payload).encode(),
    )


@dataclass
class Receiver:
    """Answers from `script` first (one per request), then from `responder`."""

    responder: Responder = lambda _: ok_json({"errcode": 0, "errmsg": "ok"})
    received: list[Received] = field(default_factory=list)
    script: deque[Answer | str] = field(default_factory=deque)
    released: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                got = Received("POST", parts.path, query, dict(self.headers.items()), body)
                receiver.received.append(got)
                answer = receiver.script.popleft() if receiver.script else None
                if answer == "hang":  # answer only when the test ends: the client times out
                    receiver.released.wait(10)
                    return
                status, headers, payload = (
                    answer if isinstance(answer, tuple) else receiver.responder(got)
                )
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# ---- platform stand-ins: each checks what the platform's documentation says it checks ----


def dingtalk(secret: str, keyword: str, clock: Callable[[], dt.datetime]) -> Responder:
    """DingTalk: timestamp within an hour, sign = urlencode(b64(HMAC(secret, ts\\nsecret)));
    the keyword somewhere in the message; errcode 310000 otherwise."""

    def answer(got: Received) -> Answer:
        if got.path != "/robot/send" or "access_token" not in got.query:
            return ok_json({"errcode": 300001, "errmsg": "token is not exist"})
        if secret:
            ts = got.query.get("timestamp", "")
            expected = base64.b64encode(
                hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
            ).decode()
            # parse_qs has already URL-decoded the sign once
            fresh = ts.isdigit() and abs(clock().timestamp() * 1000 - int(ts)) < 3600_000
            if not fresh or got.query.get("sign") != expected:
                return ok_json({"errcode": 310000, "errmsg": "sign not match"})
        message = got.json
        if message.get("msgtype") != "markdown" or not message["markdown"].get("title"):
            return ok_json({"errcode": 40035, "errmsg": "bad msgtype"})
        if len(got.body) > 20000:
            return ok_json({"errcode": 460101, "errmsg": "message too long"})
        if keyword and keyword not in message["markdown"]["text"]:
            return ok_json({"errcode": 310000, "errmsg": "keywords not in content"})
        return ok_json({"errcode": 0, "errmsg": "ok"})

    return answer


def feishu(secret: str, clock: Callable[[], dt.datetime]) -> Responder:
    """Feishu: timestamp (s) and sign in the body; sign = b64(HMAC(ts\\nsecret, ''))."""

    def answer(got: Received) -> Answer:
        body = got.json
        if secret:
            ts = str(body.get("timestamp", ""))
            key = f"{ts}\n{secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            fresh = ts.isdigit() and abs(clock().timestamp() - int(ts)) < 3600
            if not fresh or body.get("sign") != expected:
                return ok_json(
                    {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"},
                    status=400,
                )
        if body.get("msg_type") not in ("post", "interactive") or len(got.body) > 20 * 1024:
            return ok_json({"code": 9499, "msg": "Bad Request"}, status=400)
        return ok_json({"StatusCode": 0, "StatusMessage": "success", "code": 0, "msg": "success"})

    return answer


def wecom(key: str) -> Responder:
    """WeCom: the key in the URL; markdown content at most 4,096 bytes."""

    def answer(got: Received) -> Answer:
        if got.query.get("key") != key:
            return ok_json({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = got.json
        if body.get("msgtype") != "markdown":
            return ok_json({"errcode": 40008, "errmsg": "invalid message type"})
        if len(body["markdown"]["content"].encode()) > 4096:
            return ok_json({"errcode": 40058, "errmsg": "content exceed max length"})
        return ok_json({"errcode": 0, "errmsg": "ok"})

    return answer
