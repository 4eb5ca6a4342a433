"""WeCom (企业微信) group robot: markdown of at most 4,096 bytes, 20 messages a minute.

The key in the URL is the only secret (WeCom has no signing): it comes from `key_env` and never
appears in a result or a log line.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from .base import Notification, Request
from .http import USER_AGENT, CodedChannel, json_body
from .text import markdown

MARKDOWN_LIMIT_BYTES = 4096


class WeComChannel(CodedChannel):
    type = "wecom"
    # 45009: "api freq out of limit"; the robot's window is a minute
    throttle_codes = {45009: dt.timedelta(seconds=60)}

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        notification = self.localise(notification)
        key = self.required_secret("key_env")
        content, _ = markdown(notification, MARKDOWN_LIMIT_BYTES, heading="### ")
        body = json_body({"msgtype": "markdown", "markdown": {"content": content}})
        url = f"{self.settings['url']}?key={quote(key, safe='')}"
        return Request(url, {"Content-Type": "application/json", "User-Agent": USER_AGENT}, body)
