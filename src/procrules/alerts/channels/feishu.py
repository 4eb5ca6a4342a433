"""Feishu (飞书) / Lark custom bot: a rich-text `post` or an `interactive` card, signed with
HMAC-SHA256 keyed by "<timestamp s>\\n<secret>" over an empty message, the timestamp and sign in
the JSON body; 5 messages a second and 100 a minute; bodies up to 20 KB.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any

from .base import AlertView, Mapped, Notification, Request, views
from .http import USER_AGENT, CodedChannel, fit_body, json_body
from .text import (
    SEP,
    compact_fields,
    fields,
    fit,
    markdown,
    shared,
    shared_line,
    summary,
    t,
    title,
    with_keyword,
)

BODY_LIMIT_BYTES = 20000
CARD_COLOURS = {"blue": "blue", "yellow": "yellow", "red": "red"}


def sign(timestamp_s: str, secret: str) -> str:
    """Base64 of HMAC-SHA256 keyed with timestamp + "\\n" + secret, over nothing."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuChannel(CodedChannel):
    type = "feishu"
    code_keys = ("code", "StatusCode")
    message_keys = ("msg", "StatusMessage")
    # 11232: frequency limited (custom bot); 99991400: the OpenAPI limiter's "too many requests"
    throttle_codes = {11232: dt.timedelta(seconds=60), 99991400: dt.timedelta(seconds=60)}
    # Permanent, reason kept: 19021 sign mismatch or timestamp off by over an hour,
    # 19022 IP not allowed, 19024 keyword missing, 9499 bad request.

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        notification = self.localise(notification)
        when = now or notification.created_at
        token = self.required_secret("token_env")
        secret = self.required_secret("secret_env", optional=True)
        keyword = self.settings["keyword"] or ""
        signed: dict[str, Any] = {}
        if secret:
            timestamp = str(int(when.timestamp()))
            signed = {"timestamp": timestamp, "sign": sign(timestamp, secret)}

        def build(limit: int) -> bytes:
            if self.settings["msg_type"] == "interactive":
                message = self._card(notification, limit, keyword)
            else:
                message = self._post(notification, limit, keyword)
            return json_body({**signed, **message})

        body = fit_body(BODY_LIMIT_BYTES, build)
        url = f"{self.settings['url'].rstrip('/')}/{token}"
        return Request(url, {"Content-Type": "application/json", "User-Agent": USER_AGENT}, body)

    def _card(self, n: Notification, limit: int, keyword: str) -> dict[str, Any]:
        text, _ = markdown(n, limit, heading="", keyword=keyword)
        heading, _, rest = text.partition("\n")
        return {
            "msg_type": "interactive",
            "card": {
                "config": {"wide_screen_mode": True},
                "header": {
                    "title": {"tag": "plain_text", "content": heading},
                    "template": "green" if n.status == "resolved" else CARD_COLOURS[n.level],
                },
                "elements": [{"tag": "markdown", "content": rest}],
            },
        }

    def _post(self, n: Notification, limit: int, keyword: str) -> dict[str, Any]:
        """Rich text: one paragraph per alert, the link as a real link (a digest links the
        board once and keeps its lines short, as in markdown)."""
        alerts = views(n)
        heading = with_keyword(title(n), keyword, n.lang)
        top: list[list[dict[str, str]]] = []
        if n.is_digest:
            common = shared(alerts)

            def line_of(a: AlertView) -> str:
                return SEP[n.lang].join(compact_fields(a, n.lang, common))

            def link_of(a: AlertView) -> str:
                return ""

            if common:
                top.append([{"tag": "text", "text": shared_line(common, n.lang)}])
            if n.external_url:
                board = {"tag": "a", "text": t("open_board", n.lang), "href": n.external_url}
                top.append([board])
        else:

            def line_of(a: AlertView) -> str:
                return SEP[n.lang].join(fields(a, n.lang, with_level=False))

            def link_of(a: AlertView) -> str:
                return a.note("link")

            if len(alerts) == 1 and summary(alerts[0], n.lang):
                top.append([{"tag": "text", "text": summary(alerts[0], n.lang)}])
        # which alerts fit: measured as plain text with room for each link, made as `fit` reads
        # them, so a long stored message is read only as far as it fits
        measured = Mapped(alerts, lambda a: f"{line_of(a)} {link_of(a)}")
        _, left_out = fit([heading], measured, limit, lambda k: t("more", n.lang, n=k))
        kept = len(alerts) - left_out
        paragraphs = list(top)
        shown = alerts[:kept]
        lines = [line_of(a) for a in shown]
        links = [link_of(a) for a in shown]
        for line, link in zip(lines, links, strict=True):
            paragraph = [{"tag": "text", "text": line + (" " if link else "")}]
            if link:
                paragraph.append({"tag": "a", "text": t("open_case", n.lang), "href": link})
            paragraphs.append(paragraph)
        if left_out:
            paragraphs.append([{"tag": "text", "text": t("more", n.lang, n=left_out)}])
        locale = "zh_cn" if n.lang == "zh" else "en_us"
        return {
            "msg_type": "post",
            "content": {"post": {locale: {"title": heading, "content": paragraphs}}},
        }
