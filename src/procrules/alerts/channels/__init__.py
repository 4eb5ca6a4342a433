"""Notification channels: each turns a `Notification` into its platform's wire format, delivers
it, and says what became of it. One module per channel; this package knows nothing of the
watcher, the ladder, the notification log or the outbox, which call it.

The interface (stable; extend, never rename):

    from procrules.alerts.channels import (
        Notification, DeliveryResult, Request, Channel, build_channel, validate_channel,
        channel_schema, digest,
    )

    channel = build_channel(config, name="duty-desk", env=os.environ, base_dir=policy_folder)
        # config: one entry of alerts.yaml's `channels:` (a mapping with `type:`); secrets are
        # read from the environment variables it names (`secret_env`, `token_env`, `key_env`,
        # `password_env`); raises ChannelConfigError (a ProcrulesError, exit 2) listing every
        # fault with its JSON path. `validate_channel(config, file=, path=, env=)` returns the
        # same faults as Problems without raising; `channel_schema()` is a JSON-schema fragment
        # for one entry.
    request = channel.render(notification, now=now)   # pure: url, headers, body bytes
    result = channel.send(notification, client=httpx_client, now=now)
        # result.outcome: "sent" | "retry" | "failed"; result.reason (a stable code),
        # result.detail (the far side's words), result.error_code, result.status_code,
        # result.retry_after (timedelta or None: then use your own backoff).
        #   retry: rate_limited (our limiter), http_429, throttled (45009, 130101, 11232),
        #          http_5xx, http_408, busy, timeout, connect_error, smtp_4xx,
        #          recipients_refused (all 4xx), enospc/eio/... (JSON Lines: the errno name)
        #   failed: refused (bad key/token, signature or keyword refused, quota: see
        #           error_code), http_4xx, unexpected_answer, config, smtp_5xx,
        #           recipients_refused, smtp_not_supported, tls_error, enoent/eacces/eisdir
        # send takes a token from `channel.limiter` first; without one it returns
        # retry/rate_limited and makes no request. client may be None (a short-lived one is
        # made); e-mail and JSON Lines ignore it. send never raises for a delivery problem.
    batch = digest(pending, channel.limiter.available(now), now=now)
        # over the budget, the alerts of all pending notifications are folded into at most
        # `budget` digest notifications (digest_of lists the ids they stand for); within the
        # budget (or unlimited: None) the list comes back unchanged; 0 -> [] (wait
        # channel.limiter.wait(now)).

Notification (frozen): receiver, group_key, status (firing|resolved), level (blue|yellow|red),
alerts (Alertmanager-shaped dicts: labels process, step, rule, role, case_id, level;
annotations summary_zh, summary_en, due, overdue_by, time_left, customer (masked), link,
step_name, role_name; fingerprint; optional status, starts_at, ends_at; a tuple, or a
`PagedAlerts` that reads a long recorded message a page at a time: a channel reads it only as
far as it shows it), created_at (aware),
lang ("zh" default), id (the outbox id; sent as an idempotency key), reason, group_labels,
external_url, digest_of. `to_dict()` / `Notification.from_dict()` round-trip it through JSON.

A channel's own `lang:` (zh|en), when set, overrides the notification's language. Each
channel exposes `name`, `type`, `lang`, `send_resolved` (config, default true: the watcher
decides whether resolved notifications go to it) and `limiter` (`available(now)`, `wait(now)`,
`try_acquire(now)`, `hold_until(t)`). Idempotency: a notification's `id` goes out as the
webhook header X-Procrules-Notification-Id, the e-mail Message-ID and the JSON Lines `id`, so
a receiver can drop the duplicate that at-least-once delivery may bring; IM robots have no such
key.

Channel types: webhook (Alertmanager webhook payload v4 + HMAC-SHA256 signature headers),
wecom (markdown, 4,096 bytes, 20/min), dingtalk (signed and/or keyword, 20/min, 10-minute
hold on 130101), feishu (signed; post or interactive; 5/s and 100/min), email (SMTP), jsonl.
Needs the `[alerts]` extra (httpx).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .base import ANNOTATION_KEYS, LABEL_KEYS, Channel, DeliveryResult, Notification, Request
from .config import ChannelConfigError, channel_schema, settings, validate_channel
from .dingtalk import DingTalkChannel
from .feishu import FeishuChannel
from .http import BaseChannel, HttpChannel
from .jsonl import JsonlChannel
from .ratelimit import Rate, RateLimiter, digest, parse_rate
from .smtp import EmailChannel
from .webhook import WebhookChannel, verify_signature
from .wecom import WeComChannel

__all__ = [
    "ANNOTATION_KEYS",
    "LABEL_KEYS",
    "Channel",
    "ChannelConfigError",
    "DeliveryResult",
    "Notification",
    "Rate",
    "RateLimiter",
    "Request",
    "build_channel",
    "channel_schema",
    "digest",
    "parse_rate",
    "validate_channel",
    "verify_signature",
]

CHANNELS: dict[str, type[BaseChannel]] = {
    "webhook": WebhookChannel,
    "wecom": WeComChannel,
    "dingtalk": DingTalkChannel,
    "feishu": FeishuChannel,
    "email": EmailChannel,
    "jsonl": JsonlChannel,
}


def build_channel(
    config: Mapping[str, Any],
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    file: str = "alerts.yaml",
    path: str = "$",
) -> Channel:
    """A ready channel from one `channels:` entry; a relative jsonl path is read from
    `base_dir` (the policy folder). Every fault at once, as ChannelConfigError."""
    env = os.environ if env is None else env
    problems = validate_channel(config, file=file, path=path, env=env)
    if problems:
        raise ChannelConfigError(problems)
    values = settings(config)
    label = name or values["name"] or values["type"]
    kind = CHANNELS[values["type"]]
    if issubclass(kind, HttpChannel) and importlib.util.find_spec("httpx") is None:
        message = f"the {values['type']} channel needs httpx: pip install 'procrules[alerts]'"
        raise ChannelConfigError.at(file, message, path=f"{path}.type")
    if kind is JsonlChannel:
        return JsonlChannel(label, values, env, base_dir)
    channel: Channel = kind(label, values, env)
    return channel
