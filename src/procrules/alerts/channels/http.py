"""What every HTTP channel shares: secrets from the environment, the limiter, one POST, and
the answer sorted into sent / retry / failed. The channels differ only in render and in reading
their platform's error codes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any

from ... import __version__
from .base import DeliveryResult, Notification, Outcome, Request
from .config import DEFAULT_RATES, rates_of
from .ratelimit import RateLimiter

DEFAULT_RETRY_AFTER = dt.timedelta(seconds=60)  # when a 429 does not say how long
USER_AGENT = f"procrules/{__version__}"


def retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return dt.timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(when - now, dt.timedelta(0))


def fit_body(limit_bytes: int, build: Callable[[int], bytes]) -> bytes:
    """The body `build(content_limit)` makes, with the content limit lowered until the whole
    body (JSON escapes and all) fits `limit_bytes`."""
    content_limit = limit_bytes
    for _ in range(16):
        body = build(content_limit)
        if len(body) <= limit_bytes:
            return body
        content_limit -= len(body) - limit_bytes + 16
    return build(max(content_limit, 0))


def json_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class BaseChannel:
    """What every channel has: name, language, limiter, secrets read from the environment (and
    scrubbed from anything it reports), and the shape of its results."""

    type = ""

    def __init__(self, name: str, settings: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.name = name
        self.lang: str | None = settings["lang"]
        self.send_resolved: bool = settings["send_resolved"]
        self.timeout = float(settings["timeout_seconds"])
        self.settings = dict(settings)
        self._env = env
        self._secrets: set[str] = set()
        rate_limit = settings["rate_limit"]
        self.limiter = RateLimiter(
            rates_of(
                rate_limit if rate_limit is not None else list(DEFAULT_RATES.get(self.type, ()))
            )
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.limiter!r})"

    def localise(self, notification: Notification) -> Notification:
        """The notification in the channel's `lang` when one is set, else in its own."""
        if self.lang and self.lang != notification.lang:
            return replace(notification, lang=self.lang)
        return notification

    def secret(self, key: str) -> str:
        """The value of the environment variable the setting `key` names ('' when none)."""
        var = self.settings.get(key)
        if not var:
            return ""
        value = self._env.get(var, "")
        if value:
            self._secrets.add(value)
        return value

    def required_secret(self, key: str, *, optional: bool = False) -> str:
        """`secret(key)`, refusing a variable that is named but not set (and, unless `optional`,
        a setting that names none)."""
        value = self.secret(key)
        if not value and (self.settings.get(key) or not optional):
            raise ValueError(f"environment variable '{self.settings.get(key)}' is not set")
        return value

    def scrub(self, text: str) -> str:
        for value in self._secrets:
            text = text.replace(value, "***")
        return text[:300]

    def result(
        self, outcome: Outcome, reason: str, now: dt.datetime, **more: Any
    ) -> DeliveryResult:
        if "detail" in more:
            more["detail"] = self.scrub(str(more["detail"]))
        return DeliveryResult(outcome, self.name, reason, attempted_at=now, **more)

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        raise NotImplementedError

    def send(
        self, notification: Notification, *, client: Any = None, now: dt.datetime
    ) -> DeliveryResult:
        raise NotImplementedError

    def rate_limited(self, now: dt.datetime) -> DeliveryResult:
        return self.result("retry", "rate_limited", now, retry_after=self.limiter.wait(now) or None)

    def throttled(self, now: dt.datetime, after: dt.timedelta, **more: Any) -> DeliveryResult:
        """The far side said "too fast": hold the limiter and retry after `after`."""
        self.limiter.hold_until(now + after)
        return self.result("retry", more.pop("reason", "throttled"), now, retry_after=after, **more)


class HttpChannel(BaseChannel):
    """A channel that POSTs `render(...)`; subclasses read their platform's answer in `answer`."""

    def send(
        self, notification: Notification, *, client: Any = None, now: dt.datetime
    ) -> DeliveryResult:
        import httpx

        if not self.limiter.try_acquire(now):
            return self.rate_limited(now)
        try:
            url, headers, content = self.content(notification, now)
        except ValueError as exc:  # a secret missing from the environment since start-up
            return self.result("failed", "config", now, detail=str(exc))
        own = client is None
        http = httpx.Client() if own else client
        try:
            response = http.post(url, content=content, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            return self.result("retry", "timeout", now, detail=str(exc) or "timed out")
        except httpx.TransportError as exc:
            return self.result("retry", "connect_error", now, detail=str(exc))
        except httpx.InvalidURL as exc:
            return self.result("failed", "config", now, detail=str(exc))
        finally:
            if own:
                http.close()
        return self.classify(response, now)

    def content(
        self, notification: Notification, now: dt.datetime
    ) -> tuple[str, dict[str, str], bytes | Iterable[bytes]]:
        """What `send` posts: url, headers and the body (bytes, or chunks for a long message)."""
        request = self.render(notification, now=now)
        return request.url, dict(request.headers), request.body

    def classify(self, response: Any, now: dt.datetime) -> DeliveryResult:
        status = int(response.status_code)
        after = retry_after(response.headers.get("retry-after"), now)
        text = response.text
        if status == 429:
            return self.throttled(
                now,
                after or DEFAULT_RETRY_AFTER,
                reason="http_429",
                status_code=status,
                detail=text,
            )
        if status >= 500 or status == 408:
            return self.result(
                "retry", f"http_{status}", now, status_code=status, retry_after=after, detail=text
            )
        return self.answer(status, text, now)

    def answer(self, status: int, text: str, now: dt.datetime) -> DeliveryResult:
        """A 2xx is sent; any other status is refused for good."""
        if 200 <= status < 300:
            return self.result("sent", "sent", now, status_code=status)
        return self.result("failed", f"http_{status}", now, status_code=status, detail=text)


class CodedChannel(HttpChannel):
    """An IM robot answering {"errcode": 0, "errmsg": "ok"} (or its own spelling of it)."""

    code_keys: tuple[str, ...] = ("errcode",)
    message_keys: tuple[str, ...] = ("errmsg",)
    # errcode -> how long to hold the robot before trying again
    throttle_codes: Mapping[int, dt.timedelta] = {}
    busy_codes: frozenset[int] = frozenset({-1})  # "system busy": retry with backoff

    def answer(self, status: int, text: str, now: dt.datetime) -> DeliveryResult:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        code = None
        if isinstance(data, dict):
            code = next((data[k] for k in self.code_keys if k in data), None)
        message = ""
        if isinstance(data, dict):
            message = str(next((data[k] for k in self.message_keys if k in data), ""))
        if not isinstance(code, int) or isinstance(code, bool):
            if 200 <= status < 300:
                return self.result(
                    "failed", "unexpected_answer", now, status_code=status, detail=text
                )
            return self.result("failed", f"http_{status}", now, status_code=status, detail=text)
        more: dict[str, Any] = {"status_code": status, "error_code": str(code), "detail": message}
        if code == 0:
            return self.result("sent", "sent", now, status_code=status)
        if code in self.throttle_codes:
            return self.throttled(now, self.throttle_codes[code], reason="throttled", **more)
        if code in self.busy_codes:
            return self.result("retry", "busy", now, **more)
        return self.result("failed", "refused", now, **more)
