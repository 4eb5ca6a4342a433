"""JSON Lines: one object per notification, appended and synced; a torn line stays alone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from procrules.alerts.channels import Notification, build_channel

from .conftest import NOW, notification


def test_appends_one_object_per_notification(tmp_path: Path) -> None:
    channel = build_channel(
        {"type": "jsonl", "path": "out/alerts.jsonl"}, env={}, base_dir=tmp_path, name="log"
    )
    (tmp_path / "out").mkdir()
    first, second = notification(1, id="a"), notification(2, level="yellow", id="b")
    assert channel.send(first, now=NOW).ok and channel.send(second, now=NOW).ok
    lines = (tmp_path / "out/alerts.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == ["a", "b"]
    assert records[0]["channel"] == "log" and records[0]["written_at"] == NOW.isoformat()
    assert Notification.from_dict(records[1]) == second  # round trip
    assert "张*明" in lines[0]  # Chinese kept as text, not \u escapes


def test_torn_line_is_closed_off(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b'{"id": "ok"}\n{"id": "torn by a cra')
    channel = build_channel({"type": "jsonl", "path": str(path)}, env={})
    assert channel.send(notification(id="next"), now=NOW).ok
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'{"id": "torn by a cra'
    assert json.loads(lines[2])["id"] == "next"


def test_missing_folder_fails_with_the_reason(tmp_path: Path) -> None:
    channel = build_channel({"type": "jsonl", "path": str(tmp_path / "no/such.jsonl")}, env={})
    result = channel.send(notification(), now=NOW)
    assert (result.outcome, result.reason) == ("failed", "enoent")
    assert "no/such.jsonl" in result.detail


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "ro.jsonl"
    path.write_text("")
    path.chmod(0o444)
    result = build_channel({"type": "jsonl", "path": str(path)}, env={}).send(
        notification(), now=NOW
    )
    assert (result.outcome, result.reason) == ("failed", "eacces")


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    result = build_channel({"type": "jsonl", "path": str(tmp_path)}, env={}).send(
        notification(), now=NOW
    )
    assert (result.outcome, result.reason) == ("failed", "eisdir")
