"""The service's configuration: tokens from a file or the environment, decision-log masks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from procrules.errors import UsageError  # noqa: E402
from procrules.service.auth import is_loopback, load_tokens  # noqa: E402
from procrules.service.decisionlog import Masker, parse_mask  # noqa: E402


def test_tokens_from_a_file_and_the_environment(tmp_path: Path) -> None:
    secret = "crm-secret-0123456789"
    file = tmp_path / "tokens.json"
    file.write_text(
        json.dumps(
            {
                "tokens": [
                    {"name": "counter", "token": "counter-0123456789", "scopes": ["check"]},
                    {
                        "name": "crm",
                        "sha256": hashlib.sha256(secret.encode()).hexdigest(),
                        "scopes": ["check", "ingest"],
                    },
                ]
            }
        ),
        "utf-8",
    )
    tokens = load_tokens(
        file, "ops:ops-token-0123456789:admin,bot:bot-token-0123456789:check+ingest"
    )
    crm = tokens.find(secret)
    assert crm is not None and crm.name == "crm" and crm.allows("ingest")
    assert not crm.allows("admin")
    ops = tokens.find("ops-token-0123456789")
    assert ops is not None and ops.allows("ingest") and ops.allows("check")  # admin: all
    assert tokens.find("bot-token-0123456789").allows("ingest")  # type: ignore[union-attr]
    assert tokens.find("nobody") is None
    assert not load_tokens(None, None) and not load_tokens(None, "")


@pytest.mark.parametrize(
    ("content", "path"),
    [
        ('{"tokens": [{"token": "short", "scopes": ["check"]}]}', "$.tokens[0]"),
        (
            '{"tokens": [{"token": "long-enough-token-1", "scopes": ["read"]}]}',
            "$.tokens[0].scopes",
        ),
        ('{"tokens": [{"token": "long-enough-token-1", "scopes": []}]}', "$.tokens[0].scopes"),
        ('{"tokens": [{"sha256": "zz", "scopes": ["check"]}]}', "$.tokens[0]"),
        ('{"tokens": {}}', "$.tokens"),
    ],
)
def test_a_bad_tokens_file_names_the_place(tmp_path: Path, content: str, path: str) -> None:
    file = tmp_path / "tokens.json"
    file.write_text(content, "utf-8")
    with pytest.raises(UsageError) as info:
        load_tokens(file, None)
    assert info.value.problems[0].path == path
    assert str(file) in info.value.render()


def test_malformed_tokens_json_and_env(tmp_path: Path) -> None:
    file = tmp_path / "tokens.json"
    file.write_text('{"tokens": [\n  {"token": }', "utf-8")
    with pytest.raises(UsageError) as info:
        load_tokens(file, None)
    assert info.value.problems[0].line == 2
    with pytest.raises(UsageError):
        load_tokens(None, "ops:short:admin")
    with pytest.raises(UsageError):
        load_tokens(None, "ops:ops-token-0123456789:root")
    with pytest.raises(UsageError):
        load_tokens(tmp_path / "missing.json", None)


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.3.4.5") and is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback(None) and not is_loopback("")


def test_masks_by_path_and_inside_text() -> None:
    masker = Masker(["$.input.customer.name", "$.input.facts..phone", "$.input.events[*].by"])
    record = {
        "input": {
            "customer": {"name": "张三", "type": "individual"},
            "facts": {"contacts": [{"phone": "010-1234567"}], "note": "手机 13912345678"},
            "events": [{"event": "a", "by": "李四"}, {"event": "b", "by": "王五"}],
        },
        "result": {"customer": {"name": "kept: results are not input"}},
    }
    masked, hits = masker.mask(record)
    assert masked["input"]["customer"]["name"] == "***"
    assert masked["input"]["facts"]["contacts"][0]["phone"] == "***"
    assert masked["input"]["facts"]["note"] == "手机 ***"
    assert [e["by"] for e in masked["input"]["events"]] == ["***", "***"]
    assert masked["result"] == record["result"]
    assert record["input"]["customer"]["name"] == "张三"  # the original is left alone
    assert "$.input.events[1].by" in hits and "$.input.facts.note" in hits
    for bad in ("input.name", "$.a[x]", "$..", "$.a["):
        with pytest.raises(UsageError):
            parse_mask(bad)
