"""Benchmark of the alert channels: prints medians of rendering per channel, and the issue's
burst figure (1,000 alerts in one pass to a channel limited to 20 a minute arrive as digests
within the limit, none lost), sent to a real server on a loopback port.

    python bench/channels.py [--repeat N]

The clock of the burst is moved by hand; the wall time is that of rendering and sending.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from procrules.alerts.channels import Notification, build_channel, digest  # noqa: E402

NOW = dt.datetime(2026, 10, 9, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ENV = {"T": "token", "S": "SECsecret", "K": "key"}
CONFIGS = {
    "webhook": {"type": "webhook", "url": "http://127.0.0.1:9/", "secret_env": "S"},
    "wecom": {"type": "wecom", "key_env": "K"},
    "dingtalk": {"type": "dingtalk", "token_env": "T", "secret_env": "S", "keyword": "工单预警"},
    "feishu post": {"type": "feishu", "token_env": "T", "secret_env": "S"},
    "feishu card": {"type": "feishu", "token_env": "T", "msg_type": "interactive"},
    "email": {"type": "email", "host": "127.0.0.1", "from": "a@b.c", "to": ["d@e.f"]},
    "jsonl": {"type": "jsonl", "path": "/dev/null"},
}


def alert(i: int) -> dict[str, object]:
    return {
        "labels": {"process": "water_type_change", "step": "site_check", "rule": "WT-VERIFY",
                   "role": "business_office", "case_id": f"WT-2026-{i:04d}", "level": "red"},
        "annotations": {"summary_zh": "现场核查已超期", "due": "10月8日（周四）前",
                        "overdue_by": "超期 1 个工作日", "customer": "张*明",
                        "link": f"https://board.example/cases/WT-2026-{i:04d}",
                        "step_name": "现场核查", "role_name": "营业所"},
        "fingerprint": f"fp{i}",
    }  # fmt: skip


def notification(n: int, ident: str = "n") -> Notification:
    alerts = tuple(alert(i) for i in range(n))
    return Notification("office", "g", "firing", "red", alerts, NOW, id=ident)


def median_us(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


class Sink(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802
        Sink.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        payload = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def burst() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    ).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send"
    channel = build_channel({"type": "wecom", "url": url, "key_env": "K"}, env=ENV)
    pending = [notification(1, f"n{i}") for i in range(1000)]
    start = time.perf_counter()
    with httpx.Client() as client:
        now, sent, rounds = NOW, [], 0
        while pending:
            rounds += 1
            batch = digest(pending, channel.limiter.available(now), now=now)
            for message in batch:
                result = channel.send(message, client=client, now=now)
                assert result.ok, result
                sent.append(message)
            covered = {i for m in sent for i in m.digest_of or (m.id,)}
            pending = [n for n in pending if n.id not in covered]
            now += channel.limiter.wait(now)
    wall = time.perf_counter() - start
    server.shutdown()
    contents = [json.loads(b)["markdown"]["content"] for b in Sink.bodies]
    listed = sum(c.count("\n- ") for c in contents)
    print(
        f"burst: 1000 alerts -> {len(Sink.bodies)} WeCom messages in {rounds} round(s), "
        f"largest {max(len(c.encode()) for c in contents)} bytes (limit 4096), "
        f"{listed} cases listed by name, {wall * 1000:.0f} ms wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    one, fifty = notification(1), notification(50)
    print(f"render, median of {args.repeat} (us): 1 alert / 50 alerts / ratio")
    for label, config in CONFIGS.items():
        channel = build_channel(config, env=ENV)
        a = median_us(lambda c=channel: c.render(one, now=NOW), args.repeat)
        b = median_us(lambda c=channel: c.render(fifty, now=NOW), args.repeat)
        print(f"  {label:12} {a:8.0f} {b:8.0f} {b / a:6.1f}x")
    big = [notification(1, f"n{i}") for i in range(1000)]
    d = median_us(lambda: digest(big, 20, now=NOW), max(args.repeat // 10, 5))
    print(f"digest of 1000 notifications into 20: {d / 1000:.1f} ms (median)")
    burst()


if __name__ == "__main__":
    main()
