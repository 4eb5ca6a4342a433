"""The `channels:` part of alerts.yaml: which keys each channel type takes, checked with a JSON
path for every fault, and the same table as a JSON-schema fragment.

Reads no file and no network; environment variables are looked up only in the mapping given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import Problem, ProcrulesError, did_you_mean
from .ratelimit import Rate, parse_rate


class ChannelConfigError(ProcrulesError):
    """A channel in alerts.yaml cannot be built (exit 2)."""

    code = "channel_config_error"


@dataclass(frozen=True)
class Key:
    kind: str  # str, url, env, bool, int, number, list, map, rates, choice
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""


COMMON: dict[str, Key] = {
    "type": Key("choice", True),
    "name": Key("str"),
    "lang": Key("choice", choices=("zh", "en"), help="overrides the notification's language"),
    "rate_limit": Key("rates", help="'20/min', ['5/s', '100/min'] or 'off'"),
    "timeout_seconds": Key("number", default=10.0),
    "send_resolved": Key("bool", default=True),
}

TYPES: dict[str, dict[str, Key]] = {
    "webhook": {
        "url": Key("url", True),
        "secret_env": Key("env"),
        "headers": Key("map", default={}),
        "max_alerts": Key("int", default=0, help="0 sends every alert"),
    },
    "wecom": {
        "url": Key("url", default="https://qyapi.weixin.qq.com/cgi-bin/webhook/send"),
        "key_env": Key("env", True),
    },
    "dingtalk": {
        "url": Key("url", default="https://oapi.dingtalk.com/robot/send"),
        "token_env": Key("env", True),
        "secret_env": Key("env"),
        "keyword": Key("str"),
    },
    "feishu": {
        "url": Key("url", default="https://open.feishu.cn/open-apis/bot/v2/hook"),
        "token_env": Key("env", True),
        "secret_env": Key("env"),
        "keyword": Key("str"),
        "msg_type": Key("choice", default="post", choices=("post", "interactive")),
    },
    "email": {
        "host": Key("str", True),
        "port": Key("int", default=0, help="0: 465 with ssl, else 25"),
        "from": Key("str", True),
        "to": Key("list", True),
        "starttls": Key("bool", default=False),
        "ssl": Key("bool", default=False),
        "username": Key("str"),
        "password_env": Key("env"),
        "subject_prefix": Key("str", default=""),
    },
    "jsonl": {
        "path": Key("str", True),
        "fsync": Key("bool", default=True),
    },
}

# The platforms' own limits (research: service-alerts.md §4); `rate_limit` may lower them.
DEFAULT_RATES: dict[str, tuple[str, ...]] = {
    "wecom": ("20/min",),
    "dingtalk": ("20/min",),
    "feishu": ("5/s", "100/min"),
}

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KIND_WORD = {
    "str": "string",
    "url": "string",
    "env": "string",
    "choice": "string",
    "bool": "boolean",
    "int": "integer",
    "number": "number",
    "list": "list",
    "map": "mapping",
}


def _type_word(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def rates_of(value: Any) -> tuple[Rate, ...]:
    """`rate_limit` as rates: a string, a list of strings, or 'off'/false for none."""
    if value is False or value == "off":
        return ()
    texts = [value] if isinstance(value, str) else list(value)
    return tuple(parse_rate(str(text)) for text in texts)


def validate_channel(
    config: Any,
    *,
    file: str = "alerts.yaml",
    path: str = "$",
    env: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Every fault of one channel entry, each with its JSON path. With `env`, the environment
    variables the entry names must be set in it (an empty value counts as unset)."""

    def problem(where: str, message: str, suggestion: str | None = None) -> Problem:
        return Problem(file, 0, 0, ChannelConfigError.code, message, where, suggestion)

    if not isinstance(config, Mapping):
        return [problem(path, f"'channel' is {_type_word(config)}, expected mapping")]
    kind = config.get("type")
    if kind is None:
        return [problem(path, "missing required key 'type'")]
    if kind not in TYPES:
        return [
            problem(
                f"{path}.type",
                f"'{kind}' is not one of {', '.join(TYPES)}",
                did_you_mean(str(kind), TYPES),
            )
        ]
    keys = {**COMMON, **TYPES[kind]}
    problems = []
    for key in config:
        if key not in keys:
            where = f"{path}[{key!r}]" if not str(key).isidentifier() else f"{path}.{key}"
            problems.append(problem(where, f"unknown key '{key}'", did_you_mean(str(key), keys)))
    for key, spec in keys.items():
        where = f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]"
        if key not in config:
            if spec.required:
                problems.append(problem(path, f"missing required key '{key}'"))
            continue
        problems.extend(_check_value(key, spec, config[key], where, problem, env))
    if kind == "email" and config.get("ssl") is True and config.get("starttls") is True:
        problems.append(problem(f"{path}.starttls", "'ssl' and 'starttls' cannot both be true"))
    if kind == "email" and "password_env" in config and "username" not in config:
        problems.append(problem(path, "missing required key 'username'"))
    return problems


def _check_value(
    key: str, spec: Key, value: Any, where: str, problem: Any, env: Mapping[str, str] | None
) -> list[Problem]:
    kind = spec.kind
    if kind == "choice" and key != "type":
        if not isinstance(value, str) or value not in spec.choices:
            return [
                problem(
                    where,
                    f"'{value}' is not one of {', '.join(spec.choices)}",
                    did_you_mean(str(value), spec.choices),
                )
            ]
        return []
    if kind == "rates":
        if value is False or value == "off":
            return []
        if not isinstance(value, (str, list)) or (
            isinstance(value, list) and (not value or not all(isinstance(v, str) for v in value))
        ):
            return [problem(where, f"'{key}' is {_type_word(value)}, expected string")]
        try:
            rates_of(value)
        except ValueError as exc:
            return [problem(where, str(exc))]
        return []
    expected = _KIND_WORD.get(kind, "string")
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "list": isinstance(value, list),
        "map": isinstance(value, Mapping),
    }.get(kind, isinstance(value, str))
    if not ok:
        return [problem(where, f"'{key}' is {_type_word(value)}, expected {expected}")]
    if kind == "url" and not re.match(r"^https?://[^\s/]+", value):
        return [problem(where, f"'{value}' is not an http:// or https:// address")]
    if kind == "env":
        if not _ENV_NAME.match(value):
            return [problem(where, f"'{value}' is not the name of an environment variable")]
        if env is not None and not env.get(value):
            return [problem(where, f"environment variable '{value}' is not set")]
    if kind == "str" and key in ("path", "host", "from") and not value.strip():
        return [problem(where, f"'{key}' is empty")]
    if kind == "int" and key == "port" and not 0 <= value <= 65535:
        return [problem(where, f"'{key}' must be between 0 and 65535")]
    if kind == "int" and value < 0:
        return [problem(where, f"'{key}' must be 0 or more")]
    if kind == "number" and value <= 0:
        return [problem(where, f"'{key}' must be more than 0")]
    if kind == "list":
        if not value:
            return [problem(where, f"'{key}' lists nothing")]
        return [
            problem(f"{where}[{i}]", f"'{key}' is {_type_word(v)}, expected string")
            for i, v in enumerate(value)
            if not isinstance(v, str) or "@" not in v
        ]
    if kind == "map":
        return [
            problem(f"{where}.{k}", f"'{k}' is {_type_word(v)}, expected string")
            for k, v in value.items()
            if not isinstance(v, str)
        ]
    return []


def settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """A validated entry with every default filled in."""
    keys = {**COMMON, **TYPES[config["type"]]}
    return {key: config.get(key, spec.default) for key, spec in keys.items()}


def _schema_of(key: str, spec: Key) -> dict[str, Any]:
    if spec.kind == "choice":
        return {"enum": list(spec.choices)}
    if spec.kind == "rates":
        rate = {
            "type": "string",
            "pattern": r"^\s*[1-9][0-9]*\s*/\s*[0-9]*(s|sec|second|m|min|minute|h|hour)\s*$",
        }
        return {
            "anyOf": [
                rate,
                {"type": "array", "items": rate, "minItems": 1},
                {"const": "off"},
                {"const": False},
            ]
        }
    shapes: dict[str, dict[str, Any]] = {
        "str": {"type": "string"},
        "url": {"type": "string", "pattern": r"^https?://[^\s/]+"},
        "env": {"type": "string", "pattern": _ENV_NAME.pattern},
        "bool": {"type": "boolean"},
        "int": {"type": "integer", "minimum": 0},
        "number": {"type": "number", "exclusiveMinimum": 0},
        "list": {"type": "array", "items": {"type": "string", "pattern": "@"}, "minItems": 1},
        "map": {"type": "object", "additionalProperties": {"type": "string"}},
    }
    out = dict(shapes[spec.kind])
    if key == "port":
        out["maximum"] = 65535
    if spec.help:
        out["description"] = spec.help
    return out


def channel_schema() -> dict[str, Any]:
    """A JSON-schema (2020-12) fragment for one entry of `channels:`, to embed in the schema of
    alerts.yaml (for editors and for CI); `validate_channel` gives the friendlier messages."""
    variants = []
    for kind, own in TYPES.items():
        keys = {**COMMON, **own}
        properties = {key: _schema_of(key, spec) for key, spec in keys.items()}
        properties["type"] = {"const": kind}
        variants.append(
            {
                "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
                "then": {
                    "properties": properties,
                    "required": sorted(k for k, s in keys.items() if s.required),
                    "additionalProperties": False,
                },
            }
        )
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(TYPES)}},
        "allOf": variants,
    }
