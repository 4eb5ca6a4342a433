"""Inhibition, silences, recipients, groups, delivery windows and Alertmanager's dedup decision.

Pure: alerts, policy, calendar and `now` in; decisions out. The store keeps what they decide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ..calendar import SHANGHAI, Calendar
from .ladder import Alert
from .policy import AlertPolicy, Inhibit, Matchers, Repeat


@dataclass(frozen=True)
class Silence:
    """Alertmanager's silence: matchers, a time span, who set it and why."""

    id: str
    matchers: Matchers
    starts_at: dt.datetime
    ends_at: dt.datetime
    created_by: str
    comment: str

    def active(self, now: dt.datetime) -> bool:
        return self.starts_at <= now < self.ends_at


def parse_matchers(items: Iterable[str]) -> Matchers:
    """`process=new_connection`, `level=yellow|blue`: label=value, alternatives split by '|'."""
    parsed: list[tuple[str, frozenset[str]]] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"'{item}' is not a matcher like label=value")
        parsed.append((name.strip(), frozenset(v.strip() for v in value.split("|"))))
    return Matchers(tuple(sorted(parsed)))


def silenced_by(
    labels: dict[str, str], silences: Iterable[Silence], now: dt.datetime
) -> str | None:
    for silence in silences:
        if silence.active(now) and silence.matchers.matches(labels):
            return silence.id
    return None


SourceKeys = dict[tuple[str, ...], set[str]]


def inhibiting(
    alerts: Iterable[Alert], rule: Inhibit, into: SourceKeys | None = None
) -> SourceKeys:
    """The rule's sources among these alerts (carded, open, unpaused), by their `equal` labels;
    at most two fingerprints a key: enough to know that another alert than the target is one."""
    by_key: SourceKeys = {} if into is None else into
    for s in alerts:
        if s.level and s.open and not s.paused and rule.source.matches(s.labels):
            found = by_key.setdefault(tuple(s.labels.get(e, "") for e in rule.equal), set())
            if len(found) < 2:
                found.add(s.fingerprint)
    return by_key


def inhibited(
    alerts: list[Alert], policy: AlertPolicy, sources: dict[int, SourceKeys] | None = None
) -> set[str]:
    """Fingerprints muted by an inhibition rule (an alert never inhibits itself) or by a paused
    clock. Sources are the carded, open, unpaused alerts; `sources` gives them, by rule index,
    for rules whose sources may lie outside `alerts` (the watcher reads a page at a time)."""
    out = {a.fingerprint for a in alerts if a.paused and a.level}
    for i, rule in enumerate(policy.inhibit):
        by_key = (sources or {}).get(i)
        if by_key is None:
            by_key = inhibiting(alerts, rule)
        if not by_key:
            continue
        for target in alerts:
            if not target.level or not rule.target.matches(target.labels):
                continue
            found = by_key.get(tuple(target.labels.get(e, "") for e in rule.equal), set())
            if found - {target.fingerprint}:
                out.add(target.fingerprint)
    return out


def recipients(labels: dict[str, str], level: str, policy: AlertPolicy) -> list[str]:
    """Who is told of an alert at this level: the handling role, its manager, the supervisor.
    A role without a manager, or an alert without a handling role, goes to the supervisor."""
    out: list[str] = []
    role = labels.get("role", "")
    for kind in policy.level(level).notify:
        if kind == "handler":
            who = role or policy.supervisor
        elif kind == "manager":
            who = policy.managers.get(role, policy.supervisor)
        else:
            who = policy.supervisor
        if who not in out:
            out.append(who)
    return out


def group_labels(labels: dict[str, str], group_by: tuple[str, ...]) -> dict[str, str]:
    return {k: labels.get(k, "") for k in group_by}


def group_key(channel: str, glabels: dict[str, str]) -> str:
    text = channel + "\0" + "\0".join(f"{k}={v}" for k, v in sorted(glabels.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def notify_hash(fingerprint: str, level: str) -> str:
    """The dedup key of one alert at one level: an escalation is a new alert to its group."""
    return f"{fingerprint}:{level}"


@dataclass(frozen=True)
class LogEntry:
    """The notification log's last word on one group at one channel."""

    firing: frozenset[str]
    resolved: frozenset[str]
    sent_at: dt.datetime


def needs_update(
    entry: LogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    send_resolved: bool,
    repeat_due: bool,
) -> str | None:
    """Alertmanager's DedupStage.needsUpdate, returning the reason to send (None: send nothing)."""
    if entry is None:
        return "first notification" if firing else None
    if not firing <= entry.firing:
        return "new alerts added"
    if not firing:
        # only alerts the receiver was told about, now resolved, clear the log
        return "all alerts resolved" if entry.firing and resolved else None
    if send_resolved and not resolved <= entry.resolved:
        return "some alerts resolved"
    return "repeat interval elapsed" if repeat_due else None


def next_repeat(sent_at: dt.datetime, repeat: Repeat, cal: Calendar) -> dt.datetime:
    """The n-th working day after the day it was last sent, at the repeat time (Shanghai)."""
    day = cal.nth_working_day_after(sent_at.astimezone(SHANGHAI).date(), repeat.working_days)
    return dt.datetime.combine(day, repeat.at, SHANGHAI)


def in_window(now: dt.datetime, cal: Calendar, window: tuple[dt.time, dt.time]) -> bool:
    """Inside the delivery window on a working day (a 调休 make-up Saturday is one)."""
    local = now.astimezone(SHANGHAI)
    return cal.is_working_day(local.date()) and window[0] <= local.time() < window[1]


def next_window_open(
    now: dt.datetime, cal: Calendar, window: tuple[dt.time, dt.time]
) -> dt.datetime:
    local = now.astimezone(SHANGHAI)
    day = local.date()
    if cal.is_working_day(day) and local.time() < window[0]:
        return dt.datetime.combine(day, window[0], SHANGHAI)
    if in_window(now, cal, window):
        return local
    return dt.datetime.combine(cal.nth_working_day_after(day, 1), window[0], SHANGHAI)
