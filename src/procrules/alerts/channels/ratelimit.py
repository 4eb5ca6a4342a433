"""Per-channel rate limits and digests: a burst over the limit is folded, never dropped.

The clock is always passed in; nothing here reads it or sleeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from .base import LEVELS, Notification, views


@dataclass(frozen=True)
class Rate:
    """At most `messages` in any window of `per` (for example 20 a minute)."""

    messages: int
    per: dt.timedelta

    def __str__(self) -> str:
        seconds = int(self.per.total_seconds())
        unit = {1: "s", 60: "min", 3600: "h"}.get(seconds)
        return f"{self.messages}/{unit}" if unit else f"{self.messages}/{seconds}s"


_UNITS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "m": 60, "h": 3600, "hour": 3600}


def parse_rate(text: str) -> Rate:
    """'20/min', '5/s', '100/h', '30/10s' -> Rate; ValueError otherwise."""
    count, sep, unit = text.strip().partition("/")
    if not sep or not count.strip().isdigit() or int(count) < 1:
        raise ValueError(f"'{text}' is not a rate like '20/min'")
    unit = unit.strip()
    digits = ""
    while unit[:1].isdigit():
        digits, unit = digits + unit[0], unit[1:]
    if unit not in _UNITS or (digits and int(digits) < 1):
        raise ValueError(f"'{text}' is not a rate like '20/min'")
    return Rate(int(count), dt.timedelta(seconds=_UNITS[unit] * int(digits or "1")))


class RateLimiter:
    """A token bucket per rate whose spent tokens come back one `per` after they were spent.

    That is the strict reading of "20 a minute": no window of a minute ever holds 21 sends, which
    a bucket refilling continuously would allow (20 at once, then one every 3 s) and which makes
    DingTalk throttle the robot for ten minutes. `hold_until` honours a throttle from the far side.
    Safe to share between threads (the outbox may send from several).
    """

    def __init__(self, rates: Sequence[Rate] = ()) -> None:
        self.rates = tuple(rates)
        self._spent: list[deque[dt.datetime]] = [deque() for _ in self.rates]
        self._held_until: dt.datetime | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter({', '.join(map(str, self.rates)) or 'unlimited'})"

    def _forget(self, now: dt.datetime) -> None:
        for rate, spent in zip(self.rates, self._spent, strict=True):
            while spent and spent[0] + rate.per <= now:
                spent.popleft()

    def available(self, now: dt.datetime) -> int | None:
        """How many sends may go out at `now`; None when unlimited."""
        with self._lock:
            return self._available(now)

    def _available(self, now: dt.datetime) -> int | None:
        if self._held_until is not None and now < self._held_until:
            return 0
        if not self.rates:
            return None
        self._forget(now)
        return min(r.messages - len(s) for r, s in zip(self.rates, self._spent, strict=True))

    def wait(self, now: dt.datetime) -> dt.timedelta:
        """How long until the next send may go out (zero when one may go now)."""
        with self._lock:
            return self._wait(now)

    def _wait(self, now: dt.datetime) -> dt.timedelta:
        waits = [dt.timedelta(0)]
        if self._held_until is not None and now < self._held_until:
            waits.append(self._held_until - now)
        self._forget(now)
        for rate, spent in zip(self.rates, self._spent, strict=True):
            if len(spent) >= rate.messages:
                waits.append(spent[len(spent) - rate.messages] + rate.per - now)
        return max(waits)

    def try_acquire(self, now: dt.datetime) -> bool:
        """Take one send at `now` if the limits allow it."""
        with self._lock:
            available = self._available(now)
            if available is not None and available <= 0:
                return False
            for spent in self._spent:
                spent.append(now)
            return True

    def hold_until(self, until: dt.datetime) -> None:
        """The far side said "too fast": send nothing before `until`."""
        with self._lock:
            if self._held_until is None or until > self._held_until:
                self._held_until = until


def digest(
    notifications: Sequence[Notification], budget: int | None, *, now: dt.datetime
) -> list[Notification]:
    """The notifications to send when only `budget` messages may go out now.

    Within the budget (or unlimited, None) they are returned unchanged. Over it, every alert of
    every notification is folded into at most `budget` digest notifications, the most urgent
    first (red, yellow, blue; firing before resolved), none dropped; each digest's `digest_of`
    lists the ids (or group keys) of the notifications it stands for, so the notification log can
    mark them delivered together. A budget of 0 returns nothing: wait for `limiter.wait(now)`.
    """
    if budget is None or len(notifications) <= budget:
        return list(notifications)
    if budget <= 0:
        return []
    items = []  # (urgency, order, alert with its status made explicit, source notification)
    for order, n in enumerate(notifications):
        for alert, view in zip(n.alerts, views(n), strict=True):
            level = view.label("level") if view.label("level") in LEVELS else n.level
            urgency = (view.status != "firing", -LEVELS.index(level))
            items.append((urgency, order, {**alert, "status": view.status}, n))
    items.sort(key=lambda item: (item[0], item[1]))
    size, extra = divmod(len(items), budget)
    out: list[Notification] = []
    start = 0
    for i in range(budget):
        chunk = items[start : start + size + (1 if i < extra else 0)]
        start += len(chunk)
        if not chunk:
            break
        sources: dict[str, Notification] = {}
        for _, _, _, n in chunk:
            sources.setdefault(n.id or n.group_key, n)
        first = next(iter(sources.values()))
        levels = [n.level for n in sources.values()]
        key = hashlib.sha256("\n".join(sorted(sources)).encode()).hexdigest()[:16]
        out.append(
            Notification(
                receiver=first.receiver,
                group_key=f"digest:{key}:{i + 1}",
                status="firing" if any(c[2]["status"] == "firing" for c in chunk) else "resolved",
                level=max(levels, key=LEVELS.index),
                alerts=tuple(c[2] for c in chunk),
                created_at=now,
                lang=first.lang,
                reason="digest",
                external_url=first.external_url,
                digest_of=tuple(sources),
            )
        )
    return out
