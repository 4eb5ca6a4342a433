"""The outbox's sender: each recorded notification goes to its channel, with retries.

Temporary errors are retried with exponential backoff (or the far side's Retry-After); permanent
ones stop with the reason kept. A burst over a channel's rate limit is folded into digests by
`channels.digest`, never dropped. A row is marked 'sending' (committed) before its channel is
called, so a crash in between is found on the next pass and sent again with `maybe_duplicate`
set: at least once, and the outbox says which rows may have arrived twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .channels import Channel, DeliveryResult, Notification, digest

__all__ = ["Channel", "DeliveryStats", "build_channels", "deliver"]
from .store import AlertStore, OutboxRow

BACKOFF_FIRST_S = 30.0
BACKOFF_MAX_S = 3600.0
MAX_ATTEMPTS = 10


@dataclass
class DeliveryStats:
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    digests: dict[str, int] = field(default_factory=dict)

    def add(self, bucket: dict[str, int], channel: str, n: int = 1) -> None:
        bucket[channel] = bucket.get(channel, 0) + n


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_FIRST_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def notification_of(row: OutboxRow) -> Notification:
    return row.notification()


def deliver(
    store: AlertStore,
    channels: Mapping[str, Channel],
    now: dt.datetime,
    *,
    client: Any = None,
    hold_until: Callable[[str, dt.datetime], dt.datetime | None] | None = None,
) -> DeliveryStats:
    """Send every due outbox row once; each ends sent, pending a retry, or failed with a reason.
    `hold_until(level, now)` keeps a retry out of the night and holidays: it says when the
    delivery window opens again for a level that must wait for it (None: send now).

    Rows are read a channel at a time and a page at a time (`AlertStore.due_pages`), and a
    message's alerts only as far as its channel reads them, so delivery holds a page of headers,
    not the outbox. A page over the channel's rate limit becomes digests; when the limiter has
    no token left, the channel's remaining rows wait for it (none dropped)."""
    stats = DeliveryStats()
    store.recover_interrupted()
    for name in store.due_channels(now):
        channel = channels.get(name)
        for page in store.due_pages(now, name):
            rows = []
            for row in page:
                level = str(row.payload.get("level", ""))
                held = hold_until(level, now) if hold_until else None
                if held is not None:
                    store.postpone(row.id, held)
                else:
                    rows.append(row)
            if not rows:
                continue
            if channel is None:
                for row in rows:
                    store.mark_result(row.id, "failed", now, error=f"unknown channel '{name}'")
                stats.add(stats.failed, name, len(rows))
                continue
            _deliver_channel(store, name, channel, rows, now, client, stats)
    return stats


def _deliver_channel(
    store: AlertStore,
    name: str,
    channel: Channel,
    rows: list[OutboxRow],
    now: dt.datetime,
    client: Any,
    stats: DeliveryStats,
) -> None:
    by_id = {str(r.id): r for r in rows}
    notes = [notification_of(r) for r in rows]
    limiter = getattr(channel, "limiter", None)
    budget = limiter.available(now) if limiter is not None else None
    batch = digest(notes, budget, now=now)
    if not batch:  # no token now: everything waits for the limiter, nothing is dropped
        wait = limiter.wait(now) if limiter is not None else dt.timedelta(seconds=60)
        for row in rows:
            store.mark_result(row.id, "pending", now, next_attempt=now + wait, rate_limited=True)
        stats.add(stats.rate_limited, name, len(rows))
        return
    outcome: dict[str, list[DeliveryResult]] = {}
    for note in batch:
        ids = list(note.digest_of) if note.is_digest else [note.id]
        if note.is_digest:
            stats.add(stats.digests, name)
        for i in ids:
            if i in by_id:
                store.mark_sending(by_id[i].id, now)
        result = channel.send(note, client=client, now=now)
        for i in ids:
            outcome.setdefault(i, []).append(result)
    for i, results in outcome.items():
        if i in by_id:
            _record(store, by_id[i], results, now, stats)


def _record(
    store: AlertStore,
    row: OutboxRow,
    results: list[DeliveryResult],
    now: dt.datetime,
    stats: DeliveryStats,
) -> None:
    """One row's fate: sent when every message carrying it was sent (a digest may split it)."""
    limited = any(r.reason == "rate_limited" for r in results)
    if limited:
        stats.add(stats.rate_limited, row.channel)
    failed = next((r for r in results if r.outcome == "failed"), None)
    retry = next((r for r in results if r.outcome == "retry"), None)
    if failed is None and retry is None:
        store.mark_result(row.id, "sent", now, error=None)
        stats.add(stats.sent, row.channel)
        return
    attempts = row.attempts + 1
    if failed is None and retry is not None and attempts < MAX_ATTEMPTS:
        wait = backoff(attempts)
        if retry.retry_after is not None:
            wait = max(wait, retry.retry_after)
        store.mark_result(
            row.id,
            "pending",
            now,
            error=_why(retry),
            next_attempt=now + wait,
            rate_limited=limited,
        )
        stats.add(stats.retried, row.channel)
        return
    last = failed or retry
    assert last is not None
    why = _why(last) if failed else f"gave up after {attempts} attempts: {_why(last)}"
    store.mark_result(row.id, "failed", now, error=why, rate_limited=limited)
    stats.add(stats.failed, row.channel)


def _why(result: DeliveryResult) -> str:
    parts = [result.reason]
    if result.error_code:
        parts.append(f"errcode {result.error_code}")
    if result.detail:
        parts.append(result.detail)
    return ": ".join(parts)


def build_channels(
    config: Mapping[str, Mapping[str, Any]],
    *,
    base_dir: Any,
    env: Mapping[str, str] | None = None,
    file: str = "alerts.yaml",
) -> dict[str, Channel]:
    """Every channel named in alerts.yaml, built once (their rate limiters live as long)."""
    from .channels import build_channel

    return {
        name: build_channel(
            spec, name=name, env=env, base_dir=base_dir, file=file, path=f"$.channels.{name}"
        )
        for name, spec in config.items()
    }
