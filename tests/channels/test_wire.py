"""Each HTTP channel against a real server on a loopback port that checks the wire format and
the signature: sent, retry (429 with Retry-After, 5xx, throttling codes, time-outs, no server),
failed (signature or keyword refused, bad key, other 4xx)."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from procrules.alerts.channels import build_channel, verify_signature

from . import receiver as platforms
from .conftest import NOW, notification
from .receiver import Receiver, ok_json


def clock() -> dt.datetime:
    return NOW


def test_webhook_is_alertmanager_v4_and_signed(receiver: Receiver, client: httpx.Client) -> None:
    channel = build_channel(
        {"type": "webhook", "url": receiver.url + "/hook", "secret_env": "S"}, env={"S": "k"}
    )
    n = notification(2, group_labels={"role": "business_office", "level": "red"})
    result = channel.send(n, client=client, now=NOW)
    assert (result.outcome, result.reason, result.status_code) == ("sent", "sent", 200)
    [got] = receiver.received
    assert verify_signature("k", got.body, got.headers, now=NOW)
    assert got.headers["X-Procrules-Notification-Id"] == "n-red-2"
    body = got.json
    assert set(body) == {
        "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
        "commonLabels", "commonAnnotations", "externalURL", "alerts",
    }  # fmt: skip
    assert body["version"] == "4" and body["status"] == "firing" and body["truncatedAlerts"] == 0
    assert body["groupLabels"] == {"role": "business_office", "level": "red"}
    assert body["commonLabels"]["role"] == "business_office"
    assert "case_id" not in body["commonLabels"]  # differs between the two alerts
    first = body["alerts"][0]
    assert set(first) == {
        "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
    }  # fmt: skip
    assert first["labels"]["case_id"] == "WT-2026-0001" and first["fingerprint"]
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["annotations"]["customer"] == "张*明"


def test_webhook_max_alerts_counts_the_rest(receiver: Receiver, client: httpx.Client) -> None:
    channel = build_channel({"type": "webhook", "url": receiver.url, "max_alerts": 2}, env={})
    assert channel.send(notification(5), client=client, now=NOW).ok
    body = receiver.received[0].json
    assert len(body["alerts"]) == 2 and body["truncatedAlerts"] == 3


def test_webhook_retry_and_failure(receiver: Receiver, client: httpx.Client) -> None:
    channel = build_channel({"type": "webhook", "url": receiver.url}, env={})
    receiver.script.extend(
        [
            (503, {"Retry-After": "30"}, b"busy"),
            (502, {}, b""),
            (400, {}, b"bad payload"),
            (429, {}, b""),
        ]
    )
    r503 = channel.send(notification(), client=client, now=NOW)
    assert (r503.outcome, r503.reason, r503.retry_after) == (
        "retry", "http_503", dt.timedelta(seconds=30),
    )  # fmt: skip
    r502 = channel.send(notification(), client=client, now=NOW)
    assert (r502.outcome, r502.reason, r502.retry_after) == ("retry", "http_502", None)
    r400 = channel.send(notification(), client=client, now=NOW)
    assert (r400.outcome, r400.reason, r400.detail) == ("failed", "http_400", "bad payload")
    r429 = channel.send(notification(), client=client, now=NOW)
    assert (r429.outcome, r429.reason, r429.retry_after) == (
        "retry", "http_429", dt.timedelta(seconds=60),
    )  # fmt: skip
    # the 429 holds the channel: the next send makes no request until a minute has passed
    held = channel.send(notification(), client=client, now=NOW + dt.timedelta(seconds=59))
    assert (held.outcome, held.reason) == ("retry", "rate_limited") and len(receiver.received) == 4
    assert channel.send(notification(), client=client, now=NOW + dt.timedelta(seconds=60)).ok


def test_retry_after_as_http_date(receiver: Receiver, client: httpx.Client) -> None:
    channel = build_channel({"type": "webhook", "url": receiver.url}, env={})
    receiver.script.append((429, {"Retry-After": "Fri, 09 Oct 2026 01:02:00 GMT"}, b""))
    result = channel.send(notification(), client=client, now=NOW)  # NOW is 01:00:00 UTC
    assert result.retry_after == dt.timedelta(minutes=2)


def test_time_out_is_a_retry(receiver: Receiver, client: httpx.Client) -> None:
    channel = build_channel(
        {"type": "webhook", "url": receiver.url, "timeout_seconds": 0.2}, env={}
    )
    receiver.script.append("hang")
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.reason) == ("retry", "timeout")


def test_no_server_is_a_retry(client: httpx.Client) -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago and is closed now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = build_channel({"type": "webhook", "url": f"http://127.0.0.1:{port}/"}, env={})
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.reason) == ("retry", "connect_error")


def test_own_client_when_none_given(receiver: Receiver) -> None:
    channel = build_channel({"type": "webhook", "url": receiver.url}, env={})
    assert channel.send(notification(), now=NOW).ok


# ---- DingTalk ----


def dingtalk(receiver: Receiver, secret: str = "SECtestsecret", keyword: str = "工单预警"):  # type: ignore[no-untyped-def]
    receiver.responder = platforms.dingtalk("SECtestsecret", "工单预警", clock)
    config = {
        "type": "dingtalk",
        "url": receiver.url + "/robot/send",
        "token_env": "DT_TOKEN",
        "secret_env": "DT_SECRET",
        "keyword": keyword,
    }
    return build_channel(config, env={"DT_TOKEN": "tok", "DT_SECRET": secret})


def test_dingtalk_signed_with_keyword(receiver: Receiver, client: httpx.Client) -> None:
    result = dingtalk(receiver).send(notification(3), client=client, now=NOW)
    assert result.ok, result
    got = receiver.received[0]
    assert got.query["access_token"] == "tok"
    assert got.query["timestamp"] == str(int(NOW.timestamp() * 1000))
    text = got.json["markdown"]["text"]
    assert text.startswith("### 工单预警｜【红牌】3 件办件时限预警\n")
    assert "**WT-2026-0001** · 客户 张*明 · 环节 现场核查 · 责任 营业所" in text
    assert "期限 10月8日（周四）前 · 超期 1 个工作日 [办件详情](https://board.example/" in text


def test_dingtalk_wrong_secret_is_refused_for_good(
    receiver: Receiver, client: httpx.Client
) -> None:
    result = dingtalk(receiver, secret="SECwrong").send(notification(), client=client, now=NOW)
    assert (result.outcome, result.reason, result.error_code) == ("failed", "refused", "310000")
    assert result.detail == "sign not match"
    assert "SECwrong" not in result.describe("zh")


def test_dingtalk_stale_timestamp_is_refused(receiver: Receiver, client: httpx.Client) -> None:
    # a clock two hours behind the platform's: the platform refuses the signature
    result = dingtalk(receiver).send(notification(), client=client, now=NOW - dt.timedelta(hours=2))
    assert (result.outcome, result.error_code) == ("failed", "310000")


def test_dingtalk_missing_keyword_is_refused(receiver: Receiver, client: httpx.Client) -> None:
    result = dingtalk(receiver, keyword="").send(notification(), client=client, now=NOW)
    assert (result.outcome, result.error_code, result.detail) == (
        "failed", "310000", "keywords not in content",
    )  # fmt: skip


def test_dingtalk_throttle_holds_ten_minutes(receiver: Receiver, client: httpx.Client) -> None:
    channel = dingtalk(receiver)
    receiver.script.append(ok_json({"errcode": 130101, "errmsg": "send too fast"}))
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.reason, result.error_code, result.retry_after) == (
        "retry", "throttled", "130101", dt.timedelta(minutes=10),
    )  # fmt: skip
    later = NOW + dt.timedelta(minutes=9, seconds=59)
    assert channel.send(notification(), client=client, now=later).reason == "rate_limited"
    assert channel.send(notification(), client=client, now=NOW + dt.timedelta(minutes=10)).ok
    assert len(receiver.received) == 2


@pytest.mark.parametrize(
    "errcode,outcome",
    [(90030, "failed"), (300001, "failed"), (460101, "failed"), (-1, "retry")],
)
def test_dingtalk_error_codes(
    receiver: Receiver, client: httpx.Client, errcode: int, outcome: str
) -> None:
    channel = dingtalk(receiver)
    receiver.script.append(ok_json({"errcode": errcode, "errmsg": "x"}))
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.error_code) == (outcome, str(errcode))


def test_dingtalk_big_group_fits_20000_bytes(receiver: Receiver, client: httpx.Client) -> None:
    result = dingtalk(receiver).send(notification(400), client=client, now=NOW)
    assert result.ok
    got = receiver.received[0]
    assert len(got.body) <= 20000
    text = got.json["markdown"]["text"]
    listed = text.count("\n- ")
    assert text.endswith(f"另有 {400 - listed} 项未列出") and 50 < listed < 400


# ---- Feishu ----


@pytest.mark.parametrize("msg_type", ["post", "interactive"])
def test_feishu_signed(receiver: Receiver, client: httpx.Client, msg_type: str) -> None:
    receiver.responder = platforms.feishu("feishu-test-secret", clock)
    channel = build_channel(
        {
            "type": "feishu",
            "url": receiver.url + "/open-apis/bot/v2/hook",
            "token_env": "T",
            "secret_env": "S",
            "msg_type": msg_type,
        },
        env={"T": "hook-id", "S": "feishu-test-secret"},
    )
    result = channel.send(notification(2, level="yellow"), client=client, now=NOW)
    assert result.ok, result
    got = receiver.received[0]
    assert got.path == "/open-apis/bot/v2/hook/hook-id"
    body = got.json
    assert body["timestamp"] == str(int(NOW.timestamp()))
    if msg_type == "post":
        post = body["content"]["post"]["zh_cn"]
        assert post["title"] == "【黄牌】2 件办件时限预警"
        first = post["content"][0]
        assert first[0]["text"].startswith("WT-2026-0001 · 客户 张*明 · 环节 现场核查")
        assert first[1] == {
            "tag": "a",
            "text": "办件详情",
            "href": "https://board.example/cases/WT-2026-0001",
        }
    else:
        card = body["card"]
        assert card["header"]["template"] == "yellow"
        assert card["header"]["title"]["content"] == "【黄牌】2 件办件时限预警"
        assert "**WT-2026-0002**" in card["elements"][0]["content"]


def test_feishu_digest_post(receiver: Receiver, client: httpx.Client) -> None:
    from dataclasses import replace

    from procrules.alerts.channels import digest

    receiver.responder = platforms.feishu("", clock)
    channel = build_channel(
        {"type": "feishu", "url": receiver.url, "token_env": "T"}, env={"T": "h"}
    )
    batch = [
        replace(notification(3, level=lv, id=lv), external_url="https://board.example/")
        for lv in ("blue", "red")
    ]
    [d] = digest(batch, 1, now=NOW)
    assert channel.send(d, client=client, now=NOW).ok
    post = receiver.received[0].json["content"]["post"]["zh_cn"]
    assert post["title"] == "【汇总】6 项预警：红牌 3 项，蓝色提醒 3 项"
    assert post["content"][0] == [{"tag": "text", "text": "环节 现场核查 · 责任 营业所"}]
    assert post["content"][1] == [
        {"tag": "a", "text": "打开预警看板", "href": "https://board.example/"}
    ]
    assert post["content"][2] == [
        {"tag": "text", "text": "红牌 WT-2026-0001 · 张*明 · 超期 1 个工作日"}
    ]
    assert len(post["content"]) == 8


def test_feishu_keyword_in_the_title(receiver: Receiver, client: httpx.Client) -> None:
    receiver.responder = platforms.feishu("", clock)
    config = {"type": "feishu", "url": receiver.url, "token_env": "T", "keyword": "工单预警"}
    channel = build_channel(config, env={"T": "h"})
    assert channel.send(notification(), client=client, now=NOW).ok
    post = receiver.received[0].json["content"]["post"]["zh_cn"]
    assert post["title"] == "工单预警｜【红牌】1 件办件时限预警"


def test_feishu_wrong_secret(receiver: Receiver, client: httpx.Client) -> None:
    receiver.responder = platforms.feishu("feishu-test-secret", clock)
    channel = build_channel(
        {"type": "feishu", "url": receiver.url, "token_env": "T", "secret_env": "S"},
        env={"T": "hook-id", "S": "not-the-secret"},
    )
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.reason, result.error_code, result.status_code) == (
        "failed", "refused", "19021", 400,
    )  # fmt: skip


def test_feishu_throttle_code(receiver: Receiver, client: httpx.Client) -> None:
    channel = build_channel(
        {"type": "feishu", "url": receiver.url, "token_env": "T"}, env={"T": "h"}
    )
    receiver.script.append(ok_json({"code": 11232, "msg": "frequency limited"}))
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.error_code) == ("retry", "11232")
    assert result.retry_after == dt.timedelta(seconds=60)


def test_feishu_five_a_second(receiver: Receiver, client: httpx.Client) -> None:
    receiver.responder = lambda _: ok_json({"code": 0, "msg": "success"})
    channel = build_channel(
        {"type": "feishu", "url": receiver.url, "token_env": "T"}, env={"T": "h"}
    )
    outcomes = [channel.send(notification(), client=client, now=NOW).outcome for _ in range(6)]
    assert outcomes == ["sent"] * 5 + ["retry"]
    assert channel.send(notification(), client=client, now=NOW + dt.timedelta(seconds=1)).ok
    assert len(receiver.received) == 6


# ---- WeCom ----


def wecom(receiver: Receiver, key: str = "the-key"):  # type: ignore[no-untyped-def]
    receiver.responder = platforms.wecom("the-key")
    config = {"type": "wecom", "url": receiver.url + "/cgi-bin/webhook/send", "key_env": "K"}
    return build_channel(config, env={"K": key})


def test_wecom_markdown(receiver: Receiver, client: httpx.Client) -> None:
    result = wecom(receiver).send(notification(lang="en"), client=client, now=NOW)
    assert result.ok, result
    content = receiver.received[0].json["markdown"]["content"]
    assert content.splitlines()[:2] == [
        "### [Red card] 1 case deadline alert(s)",
        "Site check is overdue",
    ]
    assert "**WT-2026-0001** · customer 张*明 · step 现场核查 · responsible 营业所" in content


def test_wecom_4096_bytes_on_a_character_boundary(receiver: Receiver, client: httpx.Client) -> None:
    result = wecom(receiver).send(notification(120), client=client, now=NOW)
    assert result.ok, result  # the stand-in refuses over 4,096 bytes with 40058
    content = receiver.received[0].json["markdown"]["content"]
    assert 3900 < len(content.encode()) <= 4096
    listed = content.count("\n- ")
    assert content.endswith(f"另有 {120 - listed} 项未列出")


def test_wecom_bad_key(receiver: Receiver, client: httpx.Client) -> None:
    result = wecom(receiver, key="leaked-wrong-key").send(notification(), client=client, now=NOW)
    assert (result.outcome, result.error_code, result.detail) == (
        "failed", "93000", "invalid webhook url",
    )  # fmt: skip
    assert "leaked-wrong-key" not in json.dumps(result.describe("en"))


def test_wecom_rate_limit_code(receiver: Receiver, client: httpx.Client) -> None:
    channel = wecom(receiver)
    receiver.script.append(ok_json({"errcode": 45009, "errmsg": "api freq out of limit"}))
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.reason, result.retry_after) == (
        "retry", "throttled", dt.timedelta(seconds=60),
    )  # fmt: skip


def test_answer_without_errcode_is_not_taken_for_sent(
    receiver: Receiver, client: httpx.Client
) -> None:
    channel = wecom(receiver)
    receiver.script.append((200, {"Content-Type": "text/html"}, b"<html>portal</html>"))
    result = channel.send(notification(), client=client, now=NOW)
    assert (result.outcome, result.reason) == ("failed", "unexpected_answer")
