"""DingTalk (钉钉) custom robot: markdown, signed (加签) with HMAC-SHA256 over
"<timestamp ms>\\n<secret>" keyed by the secret, and/or a keyword that every message must hold;
20 messages a minute, above which the robot is throttled for ten minutes; bodies up to 20,000
bytes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from urllib.parse import quote, quote_plus

from .base import Notification, Request
from .http import USER_AGENT, CodedChannel, fit_body, json_body
from .text import markdown, title, with_keyword

BODY_LIMIT_BYTES = 20000  # larger bodies are refused with 460101


def sign(timestamp_ms: str, secret: str) -> str:
    """The `sign` query value: Base64 of HMAC-SHA256(secret, ts + "\\n" + secret), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return quote_plus(base64.b64encode(digest.digest()))


class DingTalkChannel(CodedChannel):
    type = "dingtalk"
    # 130101: sent too fast, the robot is throttled for 10 minutes
    throttle_codes = {130101: dt.timedelta(minutes=10)}
    # Permanent, reason kept: 310000 keyword/sign/IP refused, 300001 bad token,
    # 90030 monthly quota spent (an operator must act), 460101 too large.

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        notification = self.localise(notification)
        when = now or notification.created_at
        token = self.required_secret("token_env")
        secret = self.required_secret("secret_env", optional=True)
        keyword = self.settings["keyword"] or ""
        heading = with_keyword(title(notification), keyword, notification.lang)

        def build(limit: int) -> bytes:
            text, _ = markdown(notification, limit, heading="### ", keyword=keyword)
            return json_body({"msgtype": "markdown", "markdown": {"title": heading, "text": text}})

        body = fit_body(BODY_LIMIT_BYTES, build)
        url = f"{self.settings['url']}?access_token={quote(token, safe='')}"
        if secret:
            timestamp = str(int(when.timestamp()) * 1000 + when.microsecond // 1000)
            url += f"&timestamp={timestamp}&sign={sign(timestamp, secret)}"
        return Request(url, {"Content-Type": "application/json", "User-Agent": USER_AGENT}, body)
