"""The channels part of alerts.yaml: every fault with its JSON path, in both languages, and a
JSON-schema fragment that agrees with the validator."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from procrules.alerts.channels import (
    ChannelConfigError,
    build_channel,
    channel_schema,
    validate_channel,
)

ENV = {"DT_TOKEN": "t", "DT_SECRET": "SECx"}


@pytest.mark.parametrize(
    "config,expected",
    [
        ({"type": "dingtalk", "token_env": "DT_TOKEN"}, []),
        ("dingtalk", [("$.channels.duty", "'channel' is string, expected mapping")]),
        ({"token_env": "X"}, [("$.channels.duty", "missing required key 'type'")]),
        (
            {"type": "dingtalks"},
            [
                (
                    "$.channels.duty.type",
                    "'dingtalks' is not one of webhook, wecom, dingtalk, feishu, email, jsonl",
                )
            ],
        ),
        (
            {"type": "dingtalk", "tokn_env": "DT_TOKEN"},
            [
                ("$.channels.duty", "missing required key 'token_env'"),
                ("$.channels.duty.tokn_env", "unknown key 'tokn_env'"),
            ],
        ),
        (
            {"type": "dingtalk", "token_env": "DT_TOKEN", "secret_env": "NOT_SET"},
            [("$.channels.duty.secret_env", "environment variable 'NOT_SET' is not set")],
        ),
        (
            {"type": "dingtalk", "token_env": "dt-token"},
            [
                (
                    "$.channels.duty.token_env",
                    "'dt-token' is not the name of an environment variable",
                )
            ],
        ),
        (
            {"type": "webhook", "url": "ftp://x"},
            [("$.channels.duty.url", "'ftp://x' is not an http:// or https:// address")],
        ),
        (
            {"type": "wecom", "key_env": "DT_TOKEN", "rate_limit": "20 per minute"},
            [("$.channels.duty.rate_limit", "'20 per minute' is not a rate like '20/min'")],
        ),
        (
            {"type": "feishu", "token_env": "DT_TOKEN", "msg_type": "card"},
            [("$.channels.duty.msg_type", "'card' is not one of post, interactive")],
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b", "to": [], "port": 99999},
            [
                ("$.channels.duty.port", "'port' must be between 0 and 65535"),
                ("$.channels.duty.to", "'to' lists nothing"),
            ],
        ),
        (
            {
                "type": "email",
                "host": "mx",
                "from": "a@b",
                "to": ["x@y", 3],
                "ssl": True,
                "starttls": True,
            },
            [
                ("$.channels.duty.starttls", "'ssl' and 'starttls' cannot both be true"),
                ("$.channels.duty.to[1]", "'to' is integer, expected string"),
            ],
        ),
        (
            {"type": "jsonl", "path": "a.jsonl", "timeout_seconds": 0, "send_resolved": "yes"},
            [
                ("$.channels.duty.send_resolved", "'send_resolved' is string, expected boolean"),
                ("$.channels.duty.timeout_seconds", "'timeout_seconds' must be more than 0"),
            ],
        ),
    ],
)
def test_faults_with_paths(config: Any, expected: list[tuple[str, str]]) -> None:
    problems = validate_channel(config, path="$.channels.duty", env=ENV)
    assert sorted((p.path, p.message) for p in problems) == sorted(expected)
    if expected:
        with pytest.raises(ChannelConfigError) as caught:
            build_channel(config, env=ENV, path="$.channels.duty")
        assert caught.value.code == "channel_config_error"


def test_suggestion_and_chinese() -> None:
    with pytest.raises(ChannelConfigError) as caught:
        build_channel(
            {"type": "dingtalk", "tokn_env": "X", "secret_env": "NOPE"},
            env={},
            file="policy/alerts.yaml",
            path="$.channels.duty",
        )
    zh = caught.value.render("zh")
    assert (
        "policy/alerts.yaml: channel_config_error: 未知的键 'tokn_env'（是否应为 'token_env'？），"
        "位于 $.channels.duty.tokn_env"
    ) in zh
    assert "环境变量 'NOPE' 未设置，位于 $.channels.duty.secret_env" in zh
    assert "格式错误" not in zh  # every message has its Chinese form


def test_env_not_checked_without_env() -> None:
    assert validate_channel({"type": "dingtalk", "token_env": "ANY_NAME"}) == []


def test_rate_limit_off_and_lists() -> None:
    ch = build_channel({"type": "wecom", "key_env": "K", "rate_limit": "off"}, env={"K": "k"})
    assert ch.limiter.rates == ()
    ch = build_channel(
        {"type": "wecom", "key_env": "K", "rate_limit": ["2/s", "10/min"]}, env={"K": "k"}
    )
    assert [str(r) for r in ch.limiter.rates] == ["2/s", "10/min"]
    ch = build_channel({"type": "wecom", "key_env": "K"}, env={"K": "k"})
    assert [str(r) for r in ch.limiter.rates] == ["20/min"]


GOOD = [
    {
        "type": "webhook",
        "url": "https://hooks.example/am",
        "secret_env": "S",
        "max_alerts": 50,
        "headers": {"X-Team": "csc"},
    },
    {"type": "wecom", "key_env": "WECOM_KEY", "lang": "en"},
    {
        "type": "dingtalk",
        "token_env": "T",
        "secret_env": "S",
        "keyword": "工单预警",
        "rate_limit": "10/min",
    },
    {
        "type": "feishu",
        "token_env": "T",
        "msg_type": "interactive",
        "rate_limit": ["5/s", "100/min"],
    },
    {
        "type": "email",
        "host": "smtp.example",
        "port": 587,
        "from": "a@b.c",
        "to": ["d@e.f"],
        "starttls": True,
        "username": "u",
        "password_env": "P",
    },
    {"type": "jsonl", "path": "alerts.jsonl", "fsync": False, "rate_limit": "off"},
]
BAD = [
    {"type": "wecom"},
    {"type": "wecom", "key_env": "K", "extra": 1},
    {"type": "feishu", "token_env": "T", "msg_type": "card"},
    {"type": "email", "host": "h", "from": "a@b", "to": []},
    {"type": "jsonl", "path": "x", "rate_limit": "fast"},
    {"type": "sms"},
]


@pytest.mark.parametrize("config", GOOD + BAD)
def test_schema_agrees_with_the_validator(config: dict[str, Any]) -> None:
    schema_ok = jsonschema.Draft202012Validator(channel_schema()).is_valid(config)
    assert schema_ok == (validate_channel(config) == [])
    assert schema_ok == (config in GOOD)
    jsonschema.Draft202012Validator.check_schema(channel_schema())


def test_missing_extra_said_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "httpx" else real(name, *a)
    )
    with pytest.raises(ChannelConfigError) as caught:
        build_channel({"type": "wecom", "key_env": "K"}, env={"K": "k"}, path="$.channels.g")
    assert caught.value.render("zh").endswith(
        "wecom 渠道需要 httpx：pip install 'procrules[alerts]'，位于 $.channels.g.type"
    )
    assert build_channel({"type": "jsonl", "path": "x.jsonl"}, env={})  # needs no extra
