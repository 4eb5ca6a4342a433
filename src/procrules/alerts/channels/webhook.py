"""Generic webhook: Alertmanager's webhook payload version 4, so existing bridges keep working,
plus an HMAC-SHA256 signature over the timestamp and the body.

Signature (when `secret_env` is set):
    X-Procrules-Timestamp: <unix seconds>
    X-Procrules-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
A receiver checks it with `verify_signature` and refuses timestamps older than five minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from .base import AlertView, Mapped, Notification, PagedAlerts, Request, views
from .http import USER_AGENT, HttpChannel, json_body

ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time: how Alertmanager writes "no end yet"
TIMESTAMP_HEADER = "X-Procrules-Timestamp"
SIGNATURE_HEADER = "X-Procrules-Signature"
ID_HEADER = "X-Procrules-Notification-Id"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: dt.datetime,
    tolerance: dt.timedelta = dt.timedelta(minutes=5),
) -> bool:
    """For receivers: is this body signed with `secret`, at a time within `tolerance` of now?"""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    signature = lower.get(SIGNATURE_HEADER.lower(), "")
    if not timestamp.isdigit():
        return False
    when = dt.datetime.fromtimestamp(int(timestamp), dt.UTC)
    if abs(now - when) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _common(shared: dict[str, str] | None, m: Mapping[str, str]) -> dict[str, str]:
    """The pairs `shared` (None: nothing read yet) and `m` have in common."""
    return dict(m) if shared is None else {k: v for k, v in shared.items() if m.get(k) == v}


def _alert(view: AlertView, n: Notification) -> dict[str, Any]:
    labels = dict(view.labels)
    labels.setdefault("alertname", f"procrules_{labels.get('level') or n.level}")
    return {
        "status": view.status,
        "labels": labels,
        "annotations": dict(view.annotations),
        "startsAt": view.starts_at or n.created_at.isoformat(),
        "endsAt": view.ends_at or ZERO_TIME,
        "generatorURL": view.note("link"),
        "fingerprint": view.fingerprint,
    }


def _head(n: Notification, max_alerts: int) -> tuple[dict[str, Any], Sequence[dict[str, Any]]]:
    """The message without its alerts, and the alerts it shows (made as they are read): the
    common labels and annotations in one reading of the alerts, one at a time."""
    alerts = Mapped(views(n), lambda v: _alert(v, n))
    shown: Sequence[dict[str, Any]] = (
        alerts if not max_alerts or max_alerts >= len(alerts) else alerts[:max_alerts]
    )
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    for a in alerts:
        labels, annotations = _common(labels, a["labels"]), _common(annotations, a["annotations"])
        if not labels and not annotations:
            break
    head = {
        "receiver": n.receiver,
        "status": n.status,
        "alerts": [],
        "groupLabels": dict(n.group_labels),
        "commonLabels": labels or {},
        "commonAnnotations": annotations or {},
        "externalURL": n.external_url,
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": len(alerts) - len(shown),
    }
    return head, shown


def payload(n: Notification, max_alerts: int = 0) -> dict[str, Any]:
    """The Alertmanager v4 message for a notification (`max_alerts` 0 sends them all)."""
    head, shown = _head(n, max_alerts)
    return {**head, "alerts": list(shown)}


def body_chunks(n: Notification, max_alerts: int = 0) -> Iterator[bytes]:
    """`payload` as the compact JSON `json_body` writes, an alert at a time."""
    head, shown = _head(n, max_alerts)
    start = json_body(head)
    marker = b'"alerts":[]'
    at = start.index(marker) + len(marker) - 1
    yield start[:at]
    for i, alert in enumerate(shown):
        yield (b"," if i else b"") + json_body(alert)
    yield start[at:]


def body_of(n: Notification, max_alerts: int = 0) -> bytes:
    return b"".join(body_chunks(n, max_alerts))


class WebhookChannel(HttpChannel):
    type = "webhook"

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        when = now or notification.created_at
        body = body_of(notification, self.settings["max_alerts"])
        headers = self._headers(notification, when, lambda secret, ts: sign(secret, ts, body))
        return Request(self.settings["url"], headers, body)

    def content(
        self, notification: Notification, now: dt.datetime
    ) -> tuple[str, dict[str, str], bytes | Iterable[bytes]]:
        """A long recorded message is streamed: signed and measured in a first reading of its
        alerts, sent in a second (with its Content-Length), never held whole, as objects or
        as bytes. A short one is sent as `render` makes it."""
        alerts = notification.alerts
        if not isinstance(alerts, PagedAlerts) or len(alerts) <= STREAM_FROM_ALERTS:
            return super().content(notification, now)
        max_alerts = self.settings["max_alerts"]
        size = 0
        signer: list[Any] = []

        def sign_stream(secret: str, timestamp: str) -> str:
            nonlocal size
            mac = hmac.new(secret.encode(), timestamp.encode() + b".", hashlib.sha256)
            for chunk in body_chunks(notification, max_alerts):
                mac.update(chunk)
                size += len(chunk)
            signer.append(mac)
            return "sha256=" + mac.hexdigest()

        headers = self._headers(notification, now, sign_stream)
        if not signer:  # unsigned: measured all the same
            size = sum(len(chunk) for chunk in body_chunks(notification, max_alerts))
        headers["Content-Length"] = str(size)
        return self.settings["url"], headers, body_chunks(notification, max_alerts)

    def _headers(
        self, n: Notification, when: dt.datetime, signature: Callable[[str, str], str]
    ) -> dict[str, str]:
        headers = {
            **self.settings["headers"],
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if n.id:
            headers[ID_HEADER] = n.id
        secret = self.required_secret("secret_env", optional=True)
        if secret:
            timestamp = str(int(when.timestamp()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = signature(secret, timestamp)
        return headers


STREAM_FROM_ALERTS = 500  # a recorded message longer than this is streamed, not built whole
