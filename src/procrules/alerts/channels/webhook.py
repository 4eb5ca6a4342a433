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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .base import AlertView, Mapped, Notification, Request, views
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


def _common(maps: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every map shares, read one map at a time."""
    out: dict[str, str] | None = None
    for m in maps:
        out = dict(m) if out is None else {k: v for k, v in out.items() if m.get(k) == v}
        if not out:
            break
    return out or {}


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
    """The message without its alerts, and the alerts it shows (made as they are read)."""
    alerts = Mapped(views(n), lambda v: _alert(v, n))
    shown: Sequence[dict[str, Any]] = (
        alerts if not max_alerts or max_alerts >= len(alerts) else alerts[:max_alerts]
    )
    head = {
        "receiver": n.receiver,
        "status": n.status,
        "alerts": [],
        "groupLabels": dict(n.group_labels),
        "commonLabels": _common(a["labels"] for a in alerts),
        "commonAnnotations": _common(a["annotations"] for a in alerts),
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


def body_of(n: Notification, max_alerts: int = 0) -> bytes:
    """`payload` as the compact JSON `json_body` writes, built an alert at a time: a long stored
    message becomes bytes on the wire without being held as objects."""
    head, shown = _head(n, max_alerts)
    start = json_body(head)
    marker = b'"alerts":[]'
    at = start.index(marker) + len(marker) - 1
    parts = [start[:at]]
    for i, alert in enumerate(shown):
        parts.append((b"," if i else b"") + json_body(alert))
    parts.append(start[at:])
    return b"".join(parts)


class WebhookChannel(HttpChannel):
    type = "webhook"

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        when = now or notification.created_at
        body = body_of(notification, self.settings["max_alerts"])
        headers = {
            **self.settings["headers"],
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        if notification.id:
            headers[ID_HEADER] = notification.id
        secret = self.required_secret("secret_env", optional=True)
        if secret:
            timestamp = str(int(when.timestamp()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        return Request(self.settings["url"], headers, body)
