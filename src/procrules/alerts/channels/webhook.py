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
from collections.abc import Mapping
from typing import Any

from .base import AlertView, Notification, Request, views
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


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


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


def payload(n: Notification, max_alerts: int = 0) -> dict[str, Any]:
    """The Alertmanager v4 message for a notification (`max_alerts` 0 sends them all)."""
    alerts = [_alert(v, n) for v in views(n)]
    shown = alerts[:max_alerts] if max_alerts else alerts
    return {
        "receiver": n.receiver,
        "status": n.status,
        "alerts": shown,
        "groupLabels": dict(n.group_labels),
        "commonLabels": _common([a["labels"] for a in alerts]),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": n.external_url,
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": len(alerts) - len(shown),
    }


class WebhookChannel(HttpChannel):
    type = "webhook"

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        when = now or notification.created_at
        body = json_body(payload(notification, self.settings["max_alerts"]))
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
