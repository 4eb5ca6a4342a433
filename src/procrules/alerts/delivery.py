"""The outbox's sender: each recorded notification goes to its channel, with retries.

Temporary errors are retried with exponential backoff; permanent ones stop with the reason kept.
A row is marked 'sending' (committed) before the channel is called, so a crash in between is
found on the next start and sent again with `maybe_duplicate` set: at least once, and the log
says which rows may have arrived twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .store import AlertStore, OutboxRow

BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 3600.0
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Notification:
    """One message to one channel: a group of alerts, as Alertmanager's webhook v4 payload."""

    id: int
    channel: str
    group_key: str
    payload: dict[str, Any]
    maybe_duplicate: bool = False


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # sent | retry | failed
    reason: str = ""
    rate_limited: bool = False
    retry_after_s: float | None = None


class Channel(Protocol):
    def send(self, notification: Any, *, client: Any, now: dt.datetime) -> Any: ...


@dataclass
class DeliveryStats:
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)

    def add(self, bucket: dict[str, int], channel: str) -> None:
        bucket[channel] = bucket.get(channel, 0) + 1


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_FIRST_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def deliver(
    store: AlertStore,
    channels: Mapping[str, Channel],
    now: dt.datetime,
    *,
    client: Any = None,
    wrap: Callable[[Notification], Any] | None = None,
) -> DeliveryStats:
    """Send every due outbox row once; mark each sent, retrying later, or failed with a reason."""
    stats = DeliveryStats()
    store.recover_interrupted()
    for row in store.due_outbox(now):
        channel = channels.get(row.channel)
        if channel is None:
            store.mark_result(row.id, "failed", now, error=f"unknown channel '{row.channel}'")
            stats.add(stats.failed, row.channel)
            continue
        note = Notification(row.id, row.channel, row.group_key, row.payload, row.maybe_duplicate)
        store.mark_sending(row.id, now)
        try:
            result = channel.send(wrap(note) if wrap else note, client=client, now=now)
        except Exception as exc:  # a channel bug must not stop the others: keep it, retry later
            result = DeliveryResult("retry", f"{type(exc).__name__}: {exc}")
        _record(store, row, result, now, stats)
    return stats


def _record(
    store: AlertStore, row: OutboxRow, result: Any, now: dt.datetime, stats: DeliveryStats
) -> None:
    status = str(getattr(result, "status", "failed"))
    reason = str(getattr(result, "reason", "") or "")
    limited = bool(getattr(result, "rate_limited", False))
    if limited:
        stats.add(stats.rate_limited, row.channel)
    if status == "sent":
        store.mark_result(row.id, "sent", now, error=None, rate_limited=limited)
        stats.add(stats.sent, row.channel)
        return
    attempts = row.attempts + 1
    if status == "retry" and attempts < MAX_ATTEMPTS:
        after = getattr(result, "retry_after_s", None)
        wait = backoff(attempts)
        if after:
            wait = max(wait, dt.timedelta(seconds=float(after)))
        store.mark_result(
            row.id, "pending", now, error=reason, next_attempt=now + wait, rate_limited=limited
        )
        stats.add(stats.retried, row.channel)
        return
    if status == "retry":
        reason = f"gave up after {attempts} attempts: {reason}"
    store.mark_result(row.id, "failed", now, error=reason or "failed", rate_limited=limited)
    stats.add(stats.failed, row.channel)


class JsonlChannel:
    """`{type: jsonl, path: FILE}`: one JSON object a line, appended and flushed to disk."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    def send(self, notification: Any, *, client: Any, now: dt.datetime) -> DeliveryResult:
        record = {
            "id": notification.id,
            "channel": self.name,
            "sent_at": now.isoformat(timespec="seconds"),
            "maybe_duplicate": notification.maybe_duplicate,
            **notification.payload,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as exc:
            return DeliveryResult("retry", f"cannot write {self.path}: {exc}")
        return DeliveryResult("sent")


def build_channels(config: Mapping[str, Mapping[str, Any]], base: Path) -> dict[str, Channel]:
    """The channels named in alerts.yaml. The full set (webhook, WeCom, DingTalk, Feishu, e-mail)
    comes from procrules.alerts.channels; the JSON Lines file is always available."""
    try:
        from . import channels as full  # type: ignore[attr-defined]
    except ImportError:
        full = None
    out: dict[str, Channel] = {}
    for name, spec in config.items():
        if full is not None and hasattr(full, "build_channel"):
            out[name] = full.build_channel({"name": name, **spec})
        elif spec.get("type") == "jsonl":
            path = Path(str(spec.get("path", f"{name}.jsonl")))
            out[name] = JsonlChannel(name, path if path.is_absolute() else base / path)
        elif spec.get("type") == "webhook":
            out[name] = WebhookChannel(name, str(spec["url"]))
        else:
            raise ValueError(f"channel '{name}': type '{spec.get('type')}' is not available")
    return out


class WebhookChannel:
    """A generic webhook with the Alertmanager v4 body (a minimal form; channels/ has the full)."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    def send(self, notification: Any, *, client: Any, now: dt.datetime) -> DeliveryResult:
        import httpx

        try:
            response = (client or httpx).post(self.url, json=notification.payload, timeout=10)
        except httpx.HTTPError as exc:
            return DeliveryResult("retry", f"{type(exc).__name__}: {exc}")
        code = response.status_code
        if code < 300:
            return DeliveryResult("sent")
        if code == 429 or code >= 500:
            return DeliveryResult("retry", f"HTTP {code}", rate_limited=code == 429)
        return DeliveryResult("failed", f"HTTP {code}: {response.text[:200]}")
