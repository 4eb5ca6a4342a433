"""The watcher: one pass judges every open case at `now`, follows each alert's life, decides
which groups need a notification (Alertmanager's dedup), records them in the outbox, then sends.

Re-running a pass at the same `now` changes nothing and records nothing: the notification log
remembers what each channel was told. `now` is always given.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..api import Checker, validate_case
from ..calendar import SHANGHAI
from ..errors import ProcrulesError
from .delivery import Channel, DeliveryStats, deliver
from .ladder import Alert, assess
from .policy import AlertPolicy
from .routing import (
    group_key,
    group_labels,
    in_window,
    inhibited,
    needs_update,
    next_repeat,
    next_window_open,
    notify_hash,
    recipients,
    silenced_by,
)
from .store import AlertRow, AlertStore, alert_events, alerts, nflog, outbox, utc, watch_runs


@dataclass
class PassResult:
    as_of: dt.datetime
    cases: int = 0
    unreadable: int = 0
    firing: int = 0
    transitions: dict[str, int] = field(default_factory=dict)
    recorded: list[dict[str, Any]] = field(default_factory=list)
    deferred: int = 0  # groups outside the delivery window, left for a later pass
    delivery: DeliveryStats = field(default_factory=DeliveryStats)
    seconds: float = 0.0
    skipped: bool = False  # another pass held the lock (PostgreSQL)


@dataclass
class _Group:
    channel: str
    labels: dict[str, str]
    level: str
    # hash -> (alert, recipient, started): the message's alert is built when it is written,
    # so that the groups of a pass hold references to the pass's alerts, not copies
    firing: dict[str, tuple[Alert, str, str]] = field(default_factory=dict)


def _state(a: Alert, muted: set[str], silence: str | None) -> str:
    if a.fingerprint in muted:
        return "inhibited"
    return "silenced" if silence else "firing"


class Watcher:
    """One policy, one calendar, one store; `run_once(cases, now)` is a whole pass."""

    def __init__(
        self,
        checker: Checker,
        policy: AlertPolicy,
        store: AlertStore,
        channels: Mapping[str, Channel],
        *,
        client: Any = None,
        jobs: int = 1,
        source: tuple[str | None, str | None] | None = None,
    ) -> None:
        """`jobs` > 1 judges in worker processes, which load the policy from `source`: the
        (processes folder, calendar file) the checker was loaded from."""
        self.checker = checker
        self.policy = policy
        self.store = store
        self.channels = channels
        self.client = client
        self.jobs = jobs
        self.source = source

    def run_once(
        self,
        cases: Iterable[dict[str, Any]],
        now: dt.datetime,
        *,
        send: bool = True,
        lookup: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> PassResult:
        """One pass over the open cases. `lookup` finds a case that has left the open set, so
        that its alerts resolve as met late rather than as stopped. On PostgreSQL one pass runs
        at a time across replicas and crons (a session advisory lock); another is skipped."""
        with self.store.engine.connect() as lock:
            postgres = self.store.engine.dialect.name == "postgresql"
            if (
                postgres
                and not lock.execute(sa.select(sa.func.pg_try_advisory_lock(LOCK))).scalar()
            ):
                return PassResult(now, skipped=True)
            try:
                return self._run(cases, now, send, lookup)
            finally:
                if postgres:
                    lock.execute(sa.select(sa.func.pg_advisory_unlock(LOCK)))

    def _run(
        self,
        cases: Iterable[dict[str, Any]],
        now: dt.datetime,
        send: bool,
        lookup: Callable[[str], dict[str, Any] | None] | None,
    ) -> PassResult:
        started = time.perf_counter()
        result = PassResult(now)
        stored = self.store.active_alerts()
        current = self._judge(cases, now, result, set(stored))
        if lookup is not None:
            seen = {a.labels.get("case_id", "") for a, _ in current.values()}
            gone = sorted({r.labels.get("case_id", "") for r in stored.values()} - seen)
            closed = [c for c in (lookup(i) for i in gone) if c is not None]
            cases_seen = result.cases
            current.update(
                (fp, v)
                for fp, v in self._judge(closed, now, result, set(stored)).items()
                if v[1] == "done"
            )
            result.cases = cases_seen
        with self.store.engine.begin() as conn:
            self._follow(conn, current, stored, now, result)
            self._notify(conn, current, stored, now, result)
        if send:
            result.delivery = deliver(
                self.store, self.channels, now, client=self.client, hold_until=self._hold_until
            )
        result.seconds = time.perf_counter() - started
        with self.store.engine.begin() as conn:
            conn.execute(
                sa.insert(watch_runs).values(
                    as_of=utc(now),
                    seconds=result.seconds,
                    cases=result.cases,
                    unreadable=result.unreadable,
                    firing=result.firing,
                    recorded=len(result.recorded),
                )
            )
        return result

    def _hold_until(self, level: str, now: dt.datetime) -> dt.datetime | None:
        """When a message recorded in its window but not yet sent (a retry) may go out."""
        known = {lv.level: lv for lv in self.policy.levels}
        if level in known and known[level].any_time:
            return None
        cal, window = self.checker.calendar, self.policy.window
        return None if in_window(now, cal, window) else next_window_open(now, cal, window)

    # -- judging ----------------------------------------------------------------------------

    def _judge(
        self,
        cases: Iterable[dict[str, Any]],
        now: dt.datetime,
        result: PassResult,
        known: set[str],
    ) -> dict[str, tuple[Alert, str]]:
        """fingerprint -> (alert, state) for every carded open alert, and 'done' for the known
        alerts whose clock stopped or turned green. Memory follows the alerts, not the cases."""
        carded: list[Alert] = []
        done: dict[str, Alert] = {}
        silences = self.store.silences(now, active=True)
        for alerts_page, green, judged, unreadable in self._pages(cases, now):
            result.cases += judged
            result.unreadable += unreadable
            for a in alerts_page:
                if a.level is not None and a.open:
                    carded.append(a)
                elif a.fingerprint in known:
                    done[a.fingerprint] = a
            for fp in green:
                if fp in known:  # carded before, green now: resolved as such
                    done[fp] = Alert(fp, {}, None, "running")
        muted = inhibited(carded, self.policy)
        out: dict[str, tuple[Alert, str]] = {}
        for a in carded:
            out[a.fingerprint] = (a, _state(a, muted, silenced_by(a.labels, silences, now)))
        for fp, a in done.items():
            out.setdefault(fp, (a, "done"))
        return out

    def _pages(
        self, cases: Iterable[dict[str, Any]], now: dt.datetime
    ) -> Iterator[tuple[list[Alert], list[str], int, int]]:
        """Judge the cases a page at a time: here, or in `jobs` worker processes (each loads the
        same policy once); at most two pages per worker in flight, so memory stays flat."""
        if self.jobs <= 1 or self.source is None:
            for page in _paged(cases, PAGE):
                yield judge_page(self.checker, self.policy, page, now)
            return
        from concurrent.futures import ProcessPoolExecutor

        from .cases import StoreCases

        with ProcessPoolExecutor(
            self.jobs, initializer=_worker_init, initargs=(*self.source, self.policy.file)
        ) as pool:
            pending: deque[Any] = deque()
            if isinstance(cases, StoreCases):  # the workers read the store themselves
                url = cases.url
                work: Iterator[Any] = (
                    pool.submit(_worker_read_judge, url, ids, now) for ids in cases.id_pages(PAGE)
                )
            else:
                work = (pool.submit(_worker_judge, page, now) for page in _paged(cases, PAGE))
            for future in work:
                pending.append(future)
                if len(pending) >= 2 * self.jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    # -- each alert's life ------------------------------------------------------------------

    def _follow(
        self,
        conn: sa.Connection,
        current: dict[str, tuple[Alert, str]],
        stored: dict[str, AlertRow],
        now: dt.datetime,
        result: PassResult,
    ) -> None:
        at = utc(now)
        events: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        order = {"blue": 1, "yellow": 2, "red": 3}

        def flush(final: bool = False) -> None:
            """Write what has piled up, a batch at a time, so that a pass that raises many
            cards holds at most a batch of rows, not one per card."""
            if inserts and (final or len(inserts) >= BATCH):
                # a card raised again replaces its resolved row
                conn.execute(
                    sa.delete(alerts).where(
                        alerts.c.fingerprint.in_([r["fingerprint"] for r in inserts])
                    )
                )
                conn.execute(sa.insert(alerts), inserts)
                inserts.clear()
            if updates and (final or len(updates) >= BATCH):
                # one statement, many rows: the time left changes on every pass
                conn.execute(
                    sa.update(alerts)
                    .where(alerts.c.fingerprint == sa.bindparam("b_fp"))
                    .values({k[2:]: sa.bindparam(k) for k in updates[0] if k != "b_fp"}),
                    updates,
                )
                updates.clear()
            if events and (final or len(events) >= BATCH):
                conn.execute(sa.insert(alert_events), events)
                events.clear()

        def event(fp: str, case_id: str, kind: str, level: str | None, detail: str = "") -> None:
            events.append(
                {
                    "fingerprint": fp,
                    "case_id": case_id,
                    "at": at,
                    "kind": kind,
                    "level": level,
                    "detail": detail,
                }
            )
            result.transitions[kind] = result.transitions.get(kind, 0) + 1

        for fp, (a, state) in current.items():
            flush()
            row = stored.get(fp)
            case_id = a.labels.get("case_id") or (row.labels.get("case_id", "") if row else "")
            if state == "done":
                if row is not None:
                    resolution = {"met": "met", "late": "late"}.get(a.status, "green")
                    conn.execute(
                        sa.update(alerts)
                        .where(alerts.c.fingerprint == fp)
                        .values(
                            state="resolved",
                            resolved_at=at,
                            updated_at=at,
                            resolution=resolution,
                            annotations=json.dumps(
                                a.annotations or row.annotations, ensure_ascii=False
                            ),
                        )
                    )
                    event(fp, case_id, "resolved", row.level, resolution)
                continue
            if state == "firing":
                result.firing += 1
            values = {
                "level": a.level,
                "state": state,
                "updated_at": at,
                "labels": json.dumps(a.labels, ensure_ascii=False),
                "annotations": json.dumps(a.annotations, ensure_ascii=False),
            }
            if row is None:
                inserts.append(
                    {
                        "fingerprint": fp,
                        "case_id": case_id,
                        "process": a.labels["process"],
                        "rule": a.labels["rule"],
                        "role": a.labels["role"],
                        "team": a.labels["team"],
                        "started_at": at,
                        "resolved_at": None,
                        "resolution": None,
                        **values,
                    }
                )
                event(fp, case_id, "raised", a.level)
                if state != "firing":
                    event(fp, case_id, state, a.level)
                continue
            changed = row.level != a.level or row.state != state
            if row.level != a.level:
                up = order.get(a.level or "", 0) > order.get(row.level or "", 0)
                event(
                    fp,
                    case_id,
                    "escalated" if up else "lowered",
                    a.level,
                    f"{row.level}->{a.level}",
                )
            if row.state != state:
                event(
                    fp,
                    case_id,
                    state if state != "firing" else "unmuted",
                    a.level,
                    f"{row.state}->{state}",
                )
            if changed or row.annotations != a.annotations:
                updates.append({"b_fp": fp, **{f"b_{k}": v for k, v in values.items()}})
        for fp, row in stored.items():
            if fp not in current:  # the case left the open set: closed, withdrawn or stopped
                conn.execute(
                    sa.update(alerts)
                    .where(alerts.c.fingerprint == fp)
                    .values(state="resolved", resolved_at=at, updated_at=at, resolution="stopped")
                )
                event(fp, row.labels.get("case_id", ""), "resolved", row.level, "stopped")
                flush()
        flush(final=True)

    # -- grouping, dedup, outbox ----------------------------------------------------------

    def _notify(
        self,
        conn: sa.Connection,
        current: dict[str, tuple[Alert, str]],
        stored: dict[str, AlertRow],
        now: dt.datetime,
        result: PassResult,
    ) -> None:
        policy = self.policy
        at = utc(now)
        groups: dict[tuple[str, str], _Group] = {}
        for a, state in current.values():
            if state != "firing" or a.level is None:
                continue
            for who in recipients(a.labels, a.level, policy):
                labels = {**a.labels, "recipient": who, "level": a.level}
                glabels = group_labels(labels, policy.group_by)
                for channel in policy.routes_for(labels):
                    key = group_key(channel, glabels)
                    group = groups.get((channel, key))
                    if group is None:
                        group = groups[(channel, key)] = _Group(channel, glabels, a.level)
                    elif _rank(a.level) > _rank(group.level):
                        group.level = a.level
                    row = stored.get(a.fingerprint)
                    group.firing[notify_hash(a.fingerprint, a.level)] = (
                        a,
                        who,
                        row.started_at if row else at,
                    )
        entries = self.store.log_entries()
        logged_hashes = {h for _, e in entries.values() for h in e.firing}
        # a card resolved at its last level: what its groups at that level were told resolves;
        # a group that was told of a lower level before an escalation is not told again
        resolved = self.store.resolved_among(h.split(":")[0] for h in logged_hashes)
        resolved.update(
            (fp, stored[fp].level or "")
            for fp, (_, state) in current.items()
            if state == "done" and fp in stored
        )
        resolved_hashes = {notify_hash(fp, level) for fp, level in resolved.items()}
        for pair in sorted(set(groups) | set(entries)):
            channel, gkey = pair
            if channel not in self.channels:  # a channel taken out of alerts.yaml hears no more
                continue
            found = groups.get(pair)
            logged = entries.get(pair)
            entry = logged[1] if logged else None
            glabels = found.labels if found else (logged[0] if logged else {})
            level = found.level if found else glabels.get("level") or "red"
            group = found or _Group(channel, glabels, level)
            firing = frozenset(group.firing)
            told_resolved = frozenset(
                h for h in (entry.firing if entry else ()) if h in resolved_hashes
            )
            lv = policy.level(level) if level in {x.level for x in policy.levels} else None
            send_resolved = (lv.send_resolved if lv else True) and bool(
                getattr(self.channels.get(channel), "send_resolved", True)
            )
            repeat_due = entry is not None and now >= next_repeat(
                entry.sent_at, policy.repeat_for(level), self.checker.calendar
            )
            reason = needs_update(entry, firing, told_resolved, send_resolved, repeat_due)
            if reason is None:
                continue
            any_time = lv.any_time if lv else False
            if not (any_time or in_window(now, self.checker.calendar, policy.window)):
                result.deferred += 1
                continue
            payload = self._payload(channel, gkey, group, told_resolved, reason, now)
            conn.execute(
                sa.insert(outbox).values(
                    channel=channel,
                    group_key=gkey,
                    reason=reason,
                    payload=json.dumps(payload, ensure_ascii=False),
                    recorded_at=utc(now),
                    status="pending",
                    attempts=0,
                    next_attempt_at=utc(now),
                )
            )
            values = {
                "group_labels": json.dumps(glabels, ensure_ascii=False),
                "firing": json.dumps(sorted(firing)),
                "resolved": json.dumps(sorted(told_resolved)),
                "sent_at": utc(now),
            }
            if entry is None:
                conn.execute(sa.insert(nflog).values(channel=channel, group_key=gkey, **values))
            else:
                conn.execute(
                    sa.update(nflog)
                    .where(nflog.c.channel == channel, nflog.c.group_key == gkey)
                    .values(**values)
                )
            result.recorded.append(
                {
                    "channel": channel,
                    "group": glabels,
                    "reason": reason,
                    "firing": len(firing),
                    "resolved": len(told_resolved),
                }
            )

    def _payload(
        self,
        channel: str,
        gkey: str,
        group: _Group,
        resolved: frozenset[str],
        reason: str,
        now: dt.datetime,
    ) -> dict[str, Any]:
        """The notification as the channels read it (`Notification.to_dict`): Alertmanager-shaped
        alerts, firing first, then those resolved since the last message."""
        items = []
        for h in sorted(group.firing):
            a, who, started = group.firing[h]
            labels = {**a.labels, "recipient": who, "level": a.level or ""}
            items.append(_sent_alert(a, labels, started))
        if resolved:
            rows = self.store.alerts_by_fingerprint(h.split(":")[0] for h in resolved)
            for h in sorted(resolved):
                row = rows.get(h.split(":")[0])
                if row is not None:
                    labels = {**row.labels, **group.labels, "level": h.split(":")[1]}
                    items.append(_row_alert(row, labels))
        items.sort(key=lambda x: (x["status"] != "firing", x["labels"].get("case_id", "")))
        return {
            "receiver": group.labels.get("recipient") or channel,
            "group_key": gkey,
            "status": "firing" if group.firing else "resolved",
            "level": group.level,
            "lang": "zh",
            "reason": reason,
            "created_at": now.isoformat(timespec="seconds"),
            "group_labels": group.labels,
            "external_url": self.policy.link.split("/board")[0] if self.policy.link else "",
            "digest_of": [],
            "alerts": items,
        }


PAGE = 500
BATCH = 500  # rows written per statement inside a pass
LOCK = 0x70726F63  # "proc": the watcher's advisory lock on PostgreSQL


def _paged(cases: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    page: list[dict[str, Any]] = []
    for case in cases:
        page.append(case)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


def judge_page(
    checker: Checker, policy: AlertPolicy, cases: list[dict[str, Any]], now: dt.datetime
) -> tuple[list[Alert], list[str], int, int]:
    """Every case's carded or done alerts, the fingerprints of the green open ones, and how many
    cases were judged or unreadable. Pure: no store, no clock."""
    out: list[Alert] = []
    green: list[str] = []
    judged = unreadable = 0
    engine = checker.engine
    for case in cases:
        try:
            report = engine.check(validate_case(case, "<store>"), now, "<store>")
        except ProcrulesError:
            unreadable += 1
            continue
        judged += 1
        for a in assess(report, policy, case):
            if a.level is not None or not a.open:
                out.append(a)
            else:  # green and open: only its fingerprint, in case it was carded before
                green.append(a.fingerprint)
    return out, green, judged, unreadable


_WORKER: tuple[Checker, AlertPolicy] | None = None


def _worker_init(processes: str | None, calendar: str | None, alerts_file: str) -> None:
    global _WORKER
    from pathlib import Path

    from .policy import load_alert_policy

    checker = Checker.load(processes, calendar)
    _WORKER = (checker, load_alert_policy(checker.specs, Path(alerts_file)))


def _worker_judge(
    cases: list[dict[str, Any]], now: dt.datetime
) -> tuple[list[Alert], list[str], int, int]:
    assert _WORKER is not None
    return judge_page(_WORKER[0], _WORKER[1], cases, now)


def _worker_read_judge(
    url: str, case_ids: list[str], now: dt.datetime
) -> tuple[list[Alert], list[str], int, int]:
    from .cases import read_page

    return _worker_judge(read_page(url, case_ids), now)


def _rank(level: str) -> int:
    return {"blue": 1, "yellow": 2, "red": 3}.get(level, 0)


def _sent_alert(a: Alert, labels: dict[str, str], started: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": labels,
        "annotations": a.annotations,
        "starts_at": _local(started),
        "fingerprint": a.fingerprint,
    }


def _row_alert(row: AlertRow, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "status": "resolved",
        "labels": labels,
        "annotations": row.annotations,
        "starts_at": _local(row.started_at),
        "fingerprint": row.fingerprint,
    }


def _local(utc_text: str) -> str:
    return dt.datetime.fromisoformat(utc_text).astimezone(SHANGHAI).isoformat(timespec="seconds")
