"""Signatures against the hand-computed vectors of research/service-alerts.md §4."""

from __future__ import annotations

import datetime as dt

from procrules.alerts.channels import build_channel, verify_signature
from procrules.alerts.channels.dingtalk import sign as dingtalk_sign
from procrules.alerts.channels.feishu import sign as feishu_sign
from procrules.alerts.channels.webhook import sign as webhook_sign

from .conftest import notification

AT = dt.datetime.fromtimestamp(1767225600, dt.UTC)  # 2026-01-01T00:00:00Z


def test_dingtalk_vector() -> None:
    assert dingtalk_sign("1767225600000", "SECtestsecret") == (
        "Xawfl41C4fQUG2e6NNrh4EuSj5hMKKlJZ2dYEgu1C7M%3D"
    )


def test_feishu_vector() -> None:
    assert feishu_sign("1767225600", "feishu-test-secret") == (
        "+O/t8xQIQMWSvTBZyknDY29EsHsGDkn69jEmEuuS2Fs="
    )


def test_dingtalk_render_carries_the_vector() -> None:
    env = {"T": "tok", "S": "SECtestsecret"}
    channel = build_channel({"type": "dingtalk", "token_env": "T", "secret_env": "S"}, env=env)
    request = channel.render(notification(), now=AT)
    assert request.url == (
        "https://oapi.dingtalk.com/robot/send?access_token=tok&timestamp=1767225600000"
        "&sign=Xawfl41C4fQUG2e6NNrh4EuSj5hMKKlJZ2dYEgu1C7M%3D"
    )


def test_dingtalk_timestamp_keeps_milliseconds() -> None:
    env = {"T": "tok", "S": "SECtestsecret"}
    channel = build_channel({"type": "dingtalk", "token_env": "T", "secret_env": "S"}, env=env)
    request = channel.render(notification(), now=AT + dt.timedelta(microseconds=123_999))
    assert "timestamp=1767225600123&" in request.url


def test_feishu_render_carries_the_vector() -> None:
    env = {"T": "hook-token", "S": "feishu-test-secret"}
    channel = build_channel({"type": "feishu", "token_env": "T", "secret_env": "S"}, env=env)
    request = channel.render(notification(), now=AT)
    assert request.url == "https://open.feishu.cn/open-apis/bot/v2/hook/hook-token"
    import json

    body = json.loads(request.body)
    assert body["timestamp"] == "1767225600"
    assert body["sign"] == "+O/t8xQIQMWSvTBZyknDY29EsHsGDkn69jEmEuuS2Fs="


def test_webhook_signature_round_trip() -> None:
    channel = build_channel(
        {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret_env": "S"}, env={"S": "k"}
    )
    request = channel.render(notification(), now=AT)
    assert request.headers["X-Procrules-Timestamp"] == "1767225600"
    # by hand: HMAC-SHA256("k", "1767225600." + body)
    assert request.headers["X-Procrules-Signature"] == webhook_sign("k", "1767225600", request.body)
    assert verify_signature("k", request.body, request.headers, now=AT)
    assert not verify_signature("other", request.body, request.headers, now=AT)
    assert not verify_signature("k", request.body + b" ", request.headers, now=AT)
    assert not verify_signature("k", request.body, request.headers, now=AT + dt.timedelta(hours=1))


def test_webhook_sign_by_hand() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1767225600.{}", hashlib.sha256).hexdigest()
    assert webhook_sign("k", "1767225600", b"{}") == "sha256=" + expected
