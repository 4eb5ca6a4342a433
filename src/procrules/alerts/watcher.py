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
    SourceKeys,
    group_key,
    group_labels,
    in_window,
    inhibited,
    inhibiting,
    needs_update,
    next_repeat,
    next_window_open,
    notify_hash,
    recipients,
    silenced_by,
)
from .store import (
    AlertRow,
    AlertStore,
    alert_events,
    alerts,
    nflog,
    outbox,
    outbox_alerts,
    utc,
    watch_runs,
)


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
    firing: bool = False  # its cards are rows of the pass's scratch table, not kept here


# Scratch tables of one pass, on its own connection and inside its transaction (temporary:
# never migrated, gone with the pass): the cards seen, and each firing card's place in its
# groups. The pass asks the database what it would otherwise keep in memory per card.
_scratch = sa.MetaData()
seen_table = sa.Table(
    "procrules_pass_seen",
    _scratch,
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("case_id", sa.String(200), nullable=False),
    sa.Index("ix_procrules_pass_seen_fp", "fingerprint"),
    sa.Index("ix_procrules_pass_seen_case", "case_id"),
    prefixes=["TEMPORARY"],
)
members_table = sa.Table(
    "procrules_pass_members",
    _scratch,
    sa.Column("seq", sa.Integer, nullable=False),  # a later recipient of a card wins
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("group_key", sa.String(32), nullable=False),
    sa.Column("case_id", sa.String(200), nullable=False),
    sa.Column("hash", sa.String(60), nullable=False),
    sa.Column("recipient", sa.String(200), nullable=False),
    sa.Index("ix_procrules_pass_members", "channel", "group_key", "case_id", "hash", "seq"),
    prefixes=["TEMPORARY"],
)


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
        with self.store.engine.begin() as conn:
            for table in (seen_table, members_table):
                table.drop(conn, checkfirst=True)  # left by a pass that died on this connection
                table.create(conn)
            groups = self._judge_and_follow(conn, cases, now, result, lookup)
            self._notify(conn, groups, now, result)
            for table in (seen_table, members_table):
                table.drop(conn)
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

    # -- judging, a page at a time ---------------------------------------------------------

    def _judge_and_follow(
        self,
        conn: sa.Connection,
        cases: Iterable[dict[str, Any]],
        now: dt.datetime,
        result: PassResult,
        lookup: Callable[[str], dict[str, Any] | None] | None,
    ) -> dict[tuple[str, str], _Group]:
        """Judge the open cases a page at a time; write each page's cards, their changes and
        history, and each firing card's place in its groups, before the next page is judged.
        What a pass keeps in memory is a page and its groups' labels, never a row per case or
        per card: the cards seen and the groups' members are rows of the scratch tables."""
        policy = self.policy
        silences = self.store.silences(now, active=True)
        cross = self._cross_rules()
        if cross and iter(cases) is cases:  # one-shot: judged twice, so kept
            cases = list(cases)
        sources = self._sources(cases, now, cross) if cross else None
        writer = _Writer(conn, utc(now), result)
        groups: dict[tuple[str, str], _Group] = {}
        for alerts_page, green, judged, unreadable in self._pages(cases, now):
            result.cases += judged
            result.unreadable += unreadable
            stored = self.store.active_rows_in(
                conn, [*(a.fingerprint for a in alerts_page), *green]
            )
            carded: list[Alert] = []
            done: dict[str, Alert] = {}
            for a in alerts_page:
                if a.level is not None and a.open:
                    carded.append(a)
                elif a.fingerprint in stored:
                    done[a.fingerprint] = a
                else:
                    continue
                writer.seen(a.fingerprint, a.labels.get("case_id", ""))
            for fp in green:
                if fp in stored:  # carded before, green now: resolved as such
                    done.setdefault(fp, Alert(fp, {}, None, "running"))
            muted = inhibited(carded, policy, sources)
            page = [(a, _state(a, muted, silenced_by(a.labels, silences, now))) for a in carded]
            ids = {a.fingerprint for a in carded}
            page.extend((a, "done") for fp, a in done.items() if fp not in ids)
            self._follow(writer, page, stored, result)
            self._group(writer, page, groups)
        writer.flush(final=True)
        if lookup is not None:
            # cards of cases that left the open set: judged once more, so that a clock that
            # stopped in time or late resolves as met or late rather than as stopped
            cases_seen = result.cases
            for ids_page in _chunks(self._gone(conn), PAGE):
                closed = [c for c in (lookup(i) for i in ids_page) if c is not None]
                for alerts_page, green, _, unreadable in self._pages(closed, now):
                    result.unreadable += unreadable
                    stored = self.store.active_rows_in(
                        conn, [*(a.fingerprint for a in alerts_page), *green]
                    )
                    page = [
                        (a, "done")
                        for a in alerts_page
                        if a.fingerprint in stored and not (a.level is not None and a.open)
                    ]
                    page.extend(
                        (Alert(fp, {}, None, "running"), "done") for fp in green if fp in stored
                    )
                    self._follow(writer, page, stored, result)
            result.cases = cases_seen
            writer.flush(final=True)
        # the cards left were not seen: their case left the open set (closed, withdrawn, stopped)
        unseen = (
            sa.select(alerts.c.fingerprint, alerts.c.case_id, alerts.c.level)
            .where(
                alerts.c.state != "resolved",
                alerts.c.fingerprint.not_in(sa.select(seen_table.c.fingerprint)),
            )
            .order_by(alerts.c.fingerprint)
            .limit(BATCH)
        )
        while True:
            rows = conn.execute(unseen).all()
            for r in rows:
                writer.resolve(r.fingerprint, r.case_id, r.level, "stopped", None)
            if len(rows) < BATCH:
                break
        writer.flush(final=True)
        return groups

    def _gone(self, conn: sa.Connection) -> list[str]:
        """The cases of the cards not seen, when no card of theirs was seen either: they left
        the open set (their ids only, a short string each)."""
        q = (
            sa.select(alerts.c.case_id)
            .where(
                alerts.c.state != "resolved",
                alerts.c.fingerprint.not_in(sa.select(seen_table.c.fingerprint)),
                alerts.c.case_id.not_in(sa.select(seen_table.c.case_id)),
            )
            .distinct()
            .order_by(alerts.c.case_id)
        )
        return list(conn.execute(q).scalars())

    def _cross_rules(self) -> list[int]:
        """The inhibition rules whose sources may be in another page than their targets: those
        whose `equal` does not hold the case id (a page holds every alert of its cases)."""
        return [i for i, r in enumerate(self.policy.inhibit) if "case_id" not in r.equal]

    def _sources(
        self, cases: Iterable[dict[str, Any]], now: dt.datetime, rules: list[int]
    ) -> dict[int, SourceKeys]:
        """For rules that reach across pages, every source's key, from a first reading of the
        cases (only the keys are kept: a few per rule, not the alerts)."""
        out: dict[int, SourceKeys] = {i: {} for i in rules}
        for alerts_page, _, _, _ in self._pages(cases, now):
            for i in rules:
                inhibiting(alerts_page, self.policy.inhibit[i], out[i])
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
        writer: _Writer,
        page: list[tuple[Alert, str]],
        stored: dict[str, AlertRow],
        result: PassResult,
    ) -> None:
        """One page's cards against their stored rows (the cards not resolved): raised,
        escalated or lowered, muted or unmuted, resolved."""
        at = writer.at
        order = {"blue": 1, "yellow": 2, "red": 3}
        for a, state in page:
            fp = a.fingerprint
            row = stored.get(fp)
            case_id = a.labels.get("case_id") or (row.labels.get("case_id", "") if row else "")
            if state == "done":
                if row is not None:
                    resolution = {"met": "met", "late": "late"}.get(a.status, "green")
                    annotations = a.annotations or row.annotations
                    writer.resolve(fp, case_id, row.level, resolution, annotations)
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
                writer.insert(
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
                writer.event(fp, case_id, "raised", a.level)
                if state != "firing":
                    writer.event(fp, case_id, state, a.level)
                continue
            changed = row.level != a.level or row.state != state
            if row.level != a.level:
                up = order.get(a.level or "", 0) > order.get(row.level or "", 0)
                writer.event(
                    fp,
                    case_id,
                    "escalated" if up else "lowered",
                    a.level,
                    f"{row.level}->{a.level}",
                )
            if row.state != state:
                writer.event(
                    fp,
                    case_id,
                    state if state != "firing" else "unmuted",
                    a.level,
                    f"{row.state}->{state}",
                )
            if changed or row.annotations != a.annotations or row.labels != a.labels:
                writer.update({"b_fp": fp, **{f"b_{k}": v for k, v in values.items()}})

    def _group(
        self, writer: _Writer, page: list[tuple[Alert, str]], groups: dict[tuple[str, str], _Group]
    ) -> None:
        """Each firing card into its groups (per recipient and channel), as scratch rows."""
        policy = self.policy
        for a, state in page:
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
                    group.firing = True
                    writer.member(
                        channel,
                        key,
                        a.labels.get("case_id", ""),
                        notify_hash(a.fingerprint, a.level),
                        who,
                    )

    # -- dedup and the outbox -------------------------------------------------------------

    def _notify(
        self,
        conn: sa.Connection,
        groups: dict[tuple[str, str], _Group],
        now: dt.datetime,
        result: PassResult,
    ) -> None:
        """Alertmanager's dedup, a group at a time: the group's firing set (from the scratch
        rows) against what the notification log says it was told; only one group's sets are
        in memory at a time."""
        policy = self.policy
        logged_labels = self.store.log_groups(conn)
        for pair in sorted(set(groups) | set(logged_labels)):
            channel, gkey = pair
            if channel not in self.channels:  # a channel taken out of alerts.yaml hears no more
                continue
            found = groups.get(pair)
            entry = self.store.log_entry(conn, channel, gkey) if pair in logged_labels else None
            glabels = found.labels if found else logged_labels.get(pair, {})
            level = found.level if found else glabels.get("level") or "red"
            group = found or _Group(channel, glabels, level)
            firing = self._firing(conn, channel, gkey) if group.firing else frozenset()
            # a card resolved at its last level (in this pass too: same transaction): what its
            # groups at that level were told resolves; a group that was told of a lower level
            # before an escalation is not told again
            told_resolved: frozenset[str] = frozenset()
            if entry is not None and entry.firing:
                resolved = self.store.resolved_among((h.split(":")[0] for h in entry.firing), conn)
                told_resolved = frozenset(
                    h
                    for h in entry.firing
                    if notify_hash(h.split(":")[0], resolved.get(h.split(":")[0], "")) == h
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
            self._record(conn, channel, gkey, group, told_resolved, reason, now)
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

    def _firing(self, conn: sa.Connection, channel: str, gkey: str) -> frozenset[str]:
        m = members_table.c
        q = sa.select(m.hash).where(m.channel == channel, m.group_key == gkey).distinct()
        return frozenset(conn.execute(q).scalars())

    def _members(
        self, conn: sa.Connection, channel: str, gkey: str
    ) -> Iterator[list[tuple[str, str]]]:
        """The group's firing cards as (hash, recipient), by case id, `BATCH` at a time (keyset
        on case id and hash); a card told to two recipients of one group counts once, for the
        later one (as a mapping from card to recipient would)."""
        m = members_table.c
        after: tuple[str, str] | None = None
        while True:
            q = (
                sa.select(m.case_id, m.hash, m.recipient)
                .where(m.channel == channel, m.group_key == gkey)
                .order_by(m.case_id, m.hash, m.seq)
                .limit(BATCH * 4)
            )
            if after is not None:
                q = q.where(
                    sa.or_(m.case_id > after[0], sa.and_(m.case_id == after[0], m.hash > after[1]))
                )
            rows = conn.execute(q).all()
            if not rows:
                return
            last = (rows[-1].case_id, rows[-1].hash)
            if len(rows) == BATCH * 4:  # the last card may go on in the next read: read it again
                rows = [r for r in rows if (r.case_id, r.hash) != last]
                if not rows:  # one card with that many rows: keep its last recipient
                    rows = conn.execute(
                        q.where(m.case_id == last[0], m.hash == last[1]).limit(None)
                    ).all()
            chosen: dict[str, str] = {}
            for r in rows:
                chosen[r.hash] = r.recipient
            yield from _chunks(list(chosen.items()), BATCH)
            after = (rows[-1].case_id, rows[-1].hash)

    def _record(
        self,
        conn: sa.Connection,
        channel: str,
        gkey: str,
        group: _Group,
        resolved: frozenset[str],
        reason: str,
        now: dt.datetime,
    ) -> None:
        """The notification as the channels read it (`Notification.to_dict`), recorded in the
        outbox: its header in the row, its Alertmanager-shaped alerts (firing first, then those
        resolved since the last message, each by case id) in `outbox_alerts`, written from the
        cards' rows `BATCH` at a time, so that no message is ever held whole."""
        header: dict[str, Any] = {
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
            "alerts": [],
            "alert_count": 0,
        }
        inserted = conn.execute(
            sa.insert(outbox).values(
                channel=channel,
                group_key=gkey,
                reason=reason,
                payload=json.dumps(header, ensure_ascii=False),
                recorded_at=utc(now),
                status="pending",
                attempts=0,
                next_attempt_at=utc(now),
            )
        ).inserted_primary_key
        assert inserted is not None
        row_id = inserted[0]
        count = 0

        def resolved_pages() -> Iterator[list[tuple[str, str]]]:
            by_fp = {h.split(":")[0]: h for h in resolved}
            case_ids = self.store.case_ids_of(conn, by_fp)
            ordered = sorted((case_ids[fp], h) for fp, h in by_fp.items() if fp in case_ids)
            for chunk in _chunks(ordered, BATCH):
                yield [(h, "") for _, h in chunk]

        firing_pages = self._members(conn, channel, gkey) if group.firing else iter(())
        for pages, firing in ((firing_pages, True), (resolved_pages(), False)):
            for chunk in pages:
                rows = self.store.rows_in(conn, (h.split(":")[0] for h, _ in chunk))
                items = []
                for h, who in chunk:
                    fp, level = h.split(":")
                    row = rows.get(fp)
                    if row is None:
                        continue
                    if firing:
                        labels = {**row.labels, "recipient": who, "level": level}
                        item = _alert(row, labels, "firing")
                    else:
                        labels = {**row.labels, **group.labels, "level": level}
                        item = _alert(row, labels, "resolved")
                    items.append(
                        {
                            "outbox_id": row_id,
                            "seq": count,
                            "alert": json.dumps(item, ensure_ascii=False),
                        }
                    )
                    count += 1
                if items:
                    conn.execute(sa.insert(outbox_alerts), items)
                del rows, items  # before the next chunk is read: one chunk at a time
        header["alert_count"] = count
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == row_id)
            .values(payload=json.dumps(header, ensure_ascii=False))
        )


class _Writer:
    """The rows a pass writes, a batch at a time, so that a pass that raises many cards holds
    at most a batch of rows, not one per card."""

    def __init__(self, conn: sa.Connection, at: str, result: PassResult) -> None:
        self.conn = conn
        self.at = at
        self.result = result
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.seen_rows: list[dict[str, Any]] = []
        self.members: list[dict[str, Any]] = []
        self.seq = 0

    def insert(self, values: dict[str, Any]) -> None:
        self.inserts.append(values)
        self.flush()

    def update(self, values: dict[str, Any]) -> None:
        self.updates.append(values)
        self.flush()

    def seen(self, fp: str, case_id: str) -> None:
        self.seen_rows.append({"fingerprint": fp, "case_id": case_id})
        self.flush()

    def member(self, channel: str, key: str, case_id: str, notify: str, who: str) -> None:
        self.seq += 1
        self.members.append(
            {
                "seq": self.seq,
                "channel": channel,
                "group_key": key,
                "case_id": case_id,
                "hash": notify,
                "recipient": who,
            }
        )
        self.flush()

    def resolve(
        self,
        fp: str,
        case_id: str,
        level: str | None,
        resolution: str,
        annotations: dict[str, Any] | None,
    ) -> None:
        values: dict[str, Any] = {
            "state": "resolved",
            "resolved_at": self.at,
            "updated_at": self.at,
            "resolution": resolution,
        }
        if annotations is not None:
            values["annotations"] = json.dumps(annotations, ensure_ascii=False)
        self.conn.execute(sa.update(alerts).where(alerts.c.fingerprint == fp).values(**values))
        self.event(fp, case_id, "resolved", level, resolution)

    def event(self, fp: str, case_id: str, kind: str, level: str | None, detail: str = "") -> None:
        self.events.append(
            {
                "fingerprint": fp,
                "case_id": case_id,
                "at": self.at,
                "kind": kind,
                "level": level,
                "detail": detail,
            }
        )
        self.result.transitions[kind] = self.result.transitions.get(kind, 0) + 1
        self.flush()

    def flush(self, final: bool = False) -> None:
        conn = self.conn
        if self.inserts and (final or len(self.inserts) >= BATCH):
            # a card raised again replaces its resolved row
            conn.execute(
                sa.delete(alerts).where(
                    alerts.c.fingerprint.in_([r["fingerprint"] for r in self.inserts])
                )
            )
            conn.execute(sa.insert(alerts), self.inserts)
            self.inserts.clear()
        if self.updates and (final or len(self.updates) >= BATCH):
            # one statement, many rows: the time left changes on every pass
            conn.execute(
                sa.update(alerts)
                .where(alerts.c.fingerprint == sa.bindparam("b_fp"))
                .values({k[2:]: sa.bindparam(k) for k in self.updates[0] if k != "b_fp"}),
                self.updates,
            )
            self.updates.clear()
        if self.events and (final or len(self.events) >= BATCH):
            conn.execute(sa.insert(alert_events), self.events)
            self.events.clear()
        if self.seen_rows and (final or len(self.seen_rows) >= BATCH):
            conn.execute(sa.insert(seen_table), self.seen_rows)
            self.seen_rows.clear()
        if self.members and (final or len(self.members) >= BATCH):
            conn.execute(sa.insert(members_table), self.members)
            self.members.clear()


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


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _alert(row: AlertRow, labels: dict[str, str], status: str) -> dict[str, Any]:
    """An alert of a message as the outbox keeps it (status: firing | resolved)."""
    return {
        "status": status,
        "labels": labels,
        "annotations": row.annotations,
        "starts_at": _local(row.started_at),
        "fingerprint": row.fingerprint,
    }


def _local(utc_text: str) -> str:
    return dt.datetime.fromisoformat(utc_text).astimezone(SHANGHAI).isoformat(timespec="seconds")
