"""The alerts' state in the case store: alert instances and their history, silences, the
notification log (Alertmanager's nflog, persisted) and the outbox, on SQLite or PostgreSQL.

SQLAlchemy Core, the same tables as migrations 0002_alerts and 0003_outbox_alerts. Times are
stored as UTC ISO text so that both databases order and compare them the same way. Knows
nothing of channels or HTTP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .channels.base import Notification, PagedAlerts
from .policy import Matchers
from .routing import LogEntry, Silence

metadata = sa.MetaData()

# delivery reads the outbox a page at a time: this many rows, and no more alerts than this in
# a page unless one row holds more (it then comes alone)
OUTBOX_PAGE_ROWS = 500
OUTBOX_PAGE_ALERTS = 5000

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("fingerprint", sa.String(32), primary_key=True),
    sa.Column("case_id", sa.String(200), nullable=False, index=True),
    sa.Column("process", sa.String(100), nullable=False),
    sa.Column("rule", sa.String(100), nullable=False),
    sa.Column("role", sa.String(100), nullable=False),
    sa.Column("team", sa.String(100), nullable=False),
    sa.Column("level", sa.String(10)),
    sa.Column(
        "state", sa.String(12), nullable=False, index=True
    ),  # firing|silenced|inhibited|resolved
    sa.Column("labels", sa.Text, nullable=False),
    sa.Column("annotations", sa.Text, nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("resolved_at", sa.String(40)),
    sa.Column("resolution", sa.String(12)),  # met | late | stopped | green
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(32), nullable=False, index=True),
    sa.Column("case_id", sa.String(200), nullable=False, index=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # raised|escalated|lowered|resolved|...
    sa.Column("level", sa.String(10)),
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("matchers", sa.Text, nullable=False),
    sa.Column("starts_at", sa.String(40), nullable=False),
    sa.Column("ends_at", sa.String(40), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("expired_at", sa.String(40)),
)

nflog = sa.Table(
    "notification_log",
    metadata,
    sa.Column("channel", sa.String(100), primary_key=True),
    sa.Column("group_key", sa.String(32), primary_key=True),
    sa.Column("group_labels", sa.Text, nullable=False),
    sa.Column("firing", sa.Text, nullable=False),
    sa.Column("resolved", sa.Text, nullable=False),
    sa.Column("sent_at", sa.String(40), nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("group_key", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(40), nullable=False),  # Alertmanager's notification reason
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),  # pending|sending|sent|failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.String(40), nullable=False),
    sa.Column("attempt_started_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("error", sa.Text),  # the last temporary error, or why it stopped
    sa.Column("rate_limited", sa.Integer, nullable=False, server_default="0"),
    sa.Column("maybe_duplicate", sa.Boolean, nullable=False, server_default=sa.false()),
)

# A message's alerts, one row each in the order they are read (migration 0003): delivery reads
# them a page at a time, so no message is ever held whole. A row of `outbox` whose payload has
# `alert_count` keeps its alerts here; older rows keep them in the payload.
outbox_alerts = sa.Table(
    "outbox_alerts",
    metadata,
    sa.Column("outbox_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("alert", sa.Text, nullable=False),
)

watch_runs = sa.Table(
    "watch_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("as_of", sa.String(40), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("cases", sa.Integer, nullable=False),
    sa.Column("unreadable", sa.Integer, nullable=False),
    sa.Column("firing", sa.Integer, nullable=False),
    sa.Column("recorded", sa.Integer, nullable=False),
)


def utc(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds")


def from_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@dataclass
class AlertRow:
    fingerprint: str
    level: str | None
    state: str
    labels: dict[str, str]
    annotations: dict[str, Any]
    started_at: str


@dataclass
class OutboxRow:
    """A recorded message's header (`payload`); its alerts stay in the store until read."""

    id: int
    channel: str
    group_key: str
    reason: str
    payload: dict[str, Any]
    attempts: int
    maybe_duplicate: bool
    store: AlertStore | None = None

    @property
    def alert_count(self) -> int:
        count = self.payload.get("alert_count")
        return int(count) if count is not None else len(self.payload.get("alerts", ()))

    def notification(self) -> Notification:
        """The message for a channel: a long one reads its alerts a page at a time."""
        data: dict[str, Any] = {**self.payload, "id": str(self.id)}
        data.pop("alert_count", None)
        if "alert_count" in self.payload and self.store is not None:
            store, row_id = self.store, self.id
            data["alerts"] = PagedAlerts(
                self.alert_count, lambda start, stop: store.outbox_alerts(row_id, start, stop)
            )
        return Notification.from_dict(data)


class AlertStore:
    """The alert tables on one database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, target: str | None = None) -> AlertStore:
        """The case store at a path or URL (default: $PROCRULES_STORE, else procrules-cases.db),
        migrated to the newest schema (0003_outbox_alerts)."""
        from ..store import open_store

        return cls(open_store(target or None).engine)

    # -- alerts ---------------------------------------------------------------------------

    def active_rows_in(
        self, conn: sa.Connection, fingerprints: Iterable[str]
    ) -> dict[str, AlertRow]:
        """The rows of these cards that are not resolved, inside the caller's transaction."""
        return {
            fp: r for fp, r in self.rows_in(conn, fingerprints).items() if r.state != "resolved"
        }

    def rows_in(self, conn: sa.Connection, fingerprints: Iterable[str]) -> dict[str, AlertRow]:
        """These cards' rows, read 500 at a time inside the caller's transaction."""
        wanted = sorted(set(fingerprints))
        out: dict[str, AlertRow] = {}
        for i in range(0, len(wanted), 500):
            q = sa.select(alerts).where(alerts.c.fingerprint.in_(wanted[i : i + 500]))
            out.update({r.fingerprint: _alert_row(r) for r in conn.execute(q)})
        return out

    def case_ids_of(self, conn: sa.Connection, fingerprints: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(fingerprints))
        out: dict[str, str] = {}
        for i in range(0, len(wanted), 500):
            q = sa.select(alerts.c.fingerprint, alerts.c.case_id).where(
                alerts.c.fingerprint.in_(wanted[i : i + 500])
            )
            out.update({r.fingerprint: r.case_id for r in conn.execute(q)})
        return out

    def resolved_among(
        self, fingerprints: Iterable[str], conn: sa.Connection | None = None
    ) -> dict[str, str]:
        """The resolved ones among these alerts, with the level each had when it resolved
        (inside `conn`'s transaction when given: it sees the pass's own resolutions)."""
        wanted = sorted(set(fingerprints))
        out: dict[str, str] = {}
        with contextlib.ExitStack() as stack:
            if conn is None:
                conn = stack.enter_context(self.engine.connect())
            for i in range(0, len(wanted), 500):
                q = sa.select(alerts.c.fingerprint, alerts.c.level).where(
                    alerts.c.fingerprint.in_(wanted[i : i + 500]), alerts.c.state == "resolved"
                )
                out.update({r.fingerprint: r.level or "" for r in conn.execute(q)})
        return out

    def query_alerts(
        self, *, state: str | None = None, case_id: str | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        q = sa.select(alerts).order_by(alerts.c.updated_at.desc()).limit(limit)
        if state == "active":
            q = q.where(alerts.c.state != "resolved")
        elif state:
            q = q.where(alerts.c.state == state)
        if case_id:
            q = q.where(alerts.c.case_id == case_id)
        with self.engine.connect() as conn:
            return [_alert_dict(r) for r in conn.execute(q)]

    def history(self, case_id: str) -> list[dict[str, Any]]:
        q = (
            sa.select(alert_events)
            .where(alert_events.c.case_id == case_id)
            .order_by(alert_events.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # -- silences -------------------------------------------------------------------------

    def add_silence(self, silence: Silence, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                alerts_insert_silence(silence, now),
            )

    def expire_silence(self, silence_id: str, now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(silences)
                .where(silences.c.id == silence_id, silences.c.expired_at.is_(None))
                .values(expired_at=utc(now), ends_at=utc(now))
            )
        return bool(done.rowcount)

    def silences(self, now: dt.datetime | None = None, *, active: bool = False) -> list[Silence]:
        q = sa.select(silences).order_by(silences.c.created_at)
        if active and now is not None:
            q = q.where(silences.c.starts_at <= utc(now), silences.c.ends_at > utc(now))
        with self.engine.connect() as conn:
            return [_silence(r) for r in conn.execute(q)]

    # -- notification log and outbox -------------------------------------------------------

    def log_groups(self, conn: sa.Connection) -> dict[tuple[str, str], dict[str, str]]:
        """(channel, group key) -> group labels of every group in the notification log."""
        q = sa.select(nflog.c.channel, nflog.c.group_key, nflog.c.group_labels)
        return {(r.channel, r.group_key): json.loads(r.group_labels) for r in conn.execute(q)}

    def log_entry(self, conn: sa.Connection, channel: str, gkey: str) -> LogEntry | None:
        """What the log says one group was told (one group's hashes, not the whole log)."""
        r = conn.execute(
            sa.select(nflog).where(nflog.c.channel == channel, nflog.c.group_key == gkey)
        ).first()
        if r is None:
            return None
        return LogEntry(
            frozenset(json.loads(r.firing)), frozenset(json.loads(r.resolved)), from_utc(r.sent_at)
        )

    def due_channels(self, now: dt.datetime) -> list[str]:
        q = (
            sa.select(outbox.c.channel)
            .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= utc(now))
            .distinct()
            .order_by(outbox.c.channel)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def due_pages(
        self, now: dt.datetime, channel: str, *, rows: int = 0, alerts: int = 0
    ) -> Iterator[list[OutboxRow]]:
        """One channel's due rows a page at a time (keyset on id): at most `rows` rows, and no
        more alerts than `alerts` unless a single row holds more (it then comes alone), so that
        a page folded into digests stays small. A row is read with its message's header only:
        its alerts are read when a channel needs them (`OutboxRow.notification`)."""
        rows = rows or OUTBOX_PAGE_ROWS
        alerts = alerts or OUTBOX_PAGE_ALERTS
        after = 0
        while True:
            q = (
                sa.select(outbox)
                .where(
                    outbox.c.channel == channel,
                    outbox.c.status == "pending",
                    outbox.c.next_attempt_at <= utc(now),
                    outbox.c.id > after,
                )
                .order_by(outbox.c.id)
                .limit(rows)
            )
            with self.engine.connect() as conn:
                found = [self._outbox_row(r) for r in conn.execute(q)]
            if not found:
                return
            page: list[OutboxRow] = []
            held = 0
            for row in found:
                n = row.alert_count
                if page and held + n > alerts:
                    yield page
                    page, held = [], 0
                page.append(row)
                held += n
            yield page
            after = found[-1].id

    def outbox_alerts(self, outbox_id: int, start: int, stop: int) -> list[dict[str, Any]]:
        """Alerts start..stop-1 of a recorded message."""
        q = (
            sa.select(outbox_alerts.c.alert)
            .where(
                outbox_alerts.c.outbox_id == outbox_id,
                outbox_alerts.c.seq >= start,
                outbox_alerts.c.seq < stop,
            )
            .order_by(outbox_alerts.c.seq)
        )
        with self.engine.connect() as conn:
            return [json.loads(text) for text in conn.execute(q).scalars()]

    def _outbox_row(self, r: Any) -> OutboxRow:
        return OutboxRow(
            r.id,
            r.channel,
            r.group_key,
            r.reason,
            json.loads(r.payload),
            r.attempts,
            bool(r.maybe_duplicate),
            self,
        )

    def recover_interrupted(self) -> int:
        """Rows left 'sending' by a crash: the receiver may or may not have them. Send again
        (at least once) and mark them so that the log says a duplicate is possible."""
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(outbox)
                .where(outbox.c.status == "sending")
                .values(status="pending", maybe_duplicate=True)
            )
        return int(done.rowcount)

    def outbox_rows(self, status: str | None = None) -> list[dict[str, Any]]:
        q = sa.select(outbox).order_by(outbox.c.id)
        if status:
            q = q.where(outbox.c.status == status)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def mark_sending(self, row_id: int, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == row_id)
                .values(
                    status="sending",
                    attempt_started_at=utc(now),
                    attempts=outbox.c.attempts + 1,
                )
            )

    def mark_result(
        self,
        row_id: int,
        status: str,
        now: dt.datetime,
        *,
        error: str | None = None,
        next_attempt: dt.datetime | None = None,
        rate_limited: bool = False,
    ) -> None:
        values: dict[str, Any] = {"status": status, "error": error}
        if status in ("sent", "failed"):
            values["finished_at"] = utc(now)
        if next_attempt is not None:
            values["next_attempt_at"] = utc(next_attempt)
        if rate_limited:
            values["rate_limited"] = outbox.c.rate_limited + 1
        with self.engine.begin() as conn:
            conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(**values))

    def postpone(self, row_id: int, until: dt.datetime) -> None:
        """Leave a pending row for later (the delivery window); attempts and error unchanged."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(outbox).where(outbox.c.id == row_id).values(next_attempt_at=utc(until))
            )

    def counts(self) -> dict[str, Any]:
        """For metrics: firing alerts by level and process; outbox by channel and status."""
        with self.engine.connect() as conn:
            firing = conn.execute(
                sa.select(alerts.c.level, alerts.c.process, sa.func.count())
                .where(alerts.c.state == "firing")
                .group_by(alerts.c.level, alerts.c.process)
            ).all()
            box = conn.execute(
                sa.select(
                    outbox.c.channel,
                    outbox.c.status,
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(outbox.c.rate_limited), 0),
                ).group_by(outbox.c.channel, outbox.c.status)
            ).all()
            last = conn.execute(
                sa.select(watch_runs).order_by(watch_runs.c.id.desc()).limit(1)
            ).first()
        return {
            "firing": [(r[0], r[1], int(r[2])) for r in firing],
            "outbox": [(r[0], r[1], int(r[2]), int(r[3])) for r in box],
            "last_run": dict(last._mapping) if last else None,
        }


def alerts_insert_silence(silence: Silence, now: dt.datetime) -> sa.Insert:
    return sa.insert(silences).values(
        id=silence.id,
        matchers=json.dumps([[k, sorted(v)] for k, v in silence.matchers.items]),
        starts_at=utc(silence.starts_at),
        ends_at=utc(silence.ends_at),
        created_by=silence.created_by,
        comment=silence.comment,
        created_at=utc(now),
    )


def _silence(r: Any) -> Silence:
    items = tuple((k, frozenset(v)) for k, v in json.loads(r.matchers))
    return Silence(
        r.id,
        Matchers(items),
        from_utc(r.starts_at),
        from_utc(r.ends_at),
        r.created_by,
        r.comment,
    )


def _alert_row(r: Any) -> AlertRow:
    return AlertRow(
        r.fingerprint,
        r.level,
        r.state,
        json.loads(r.labels),
        json.loads(r.annotations),
        r.started_at,
    )


def _alert_dict(r: Any) -> dict[str, Any]:
    out = dict(r._mapping)
    out["labels"] = json.loads(out["labels"])
    out["annotations"] = json.loads(out["annotations"])
    return out
