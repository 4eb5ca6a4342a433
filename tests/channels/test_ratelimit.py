"""Rate limits with the clock passed in, and digests: a burst over the limit is folded, never
dropped."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from procrules.alerts.channels import RateLimiter, build_channel, digest, parse_rate
from procrules.alerts.channels.ratelimit import Rate

from .conftest import NOW, notification

S = dt.timedelta(seconds=1)


def test_parse_rate() -> None:
    assert parse_rate("20/min") == Rate(20, 60 * S)
    assert parse_rate(" 5 / s ") == Rate(5, S)
    assert parse_rate("30/10s") == Rate(30, 10 * S)
    assert str(parse_rate("100/h")) == "100/h"
    for bad in ("20", "0/min", "x/min", "20/fortnight", "20/0s"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_never_more_than_twenty_in_any_minute() -> None:
    limiter = RateLimiter([parse_rate("20/min")])
    sent = []
    t = NOW
    for _ in range(600):  # try every second for ten minutes
        if limiter.try_acquire(t):
            sent.append(t)
        t += S
    assert len(sent) == 200
    for i in range(len(sent) - 20):
        assert sent[i + 20] - sent[i] >= 60 * S  # any 21 sends span more than a minute


def test_wait_and_available() -> None:
    limiter = RateLimiter([parse_rate("2/min")])
    assert limiter.available(NOW) == 2 and limiter.wait(NOW) == dt.timedelta(0)
    assert limiter.try_acquire(NOW) and limiter.try_acquire(NOW + 10 * S)
    assert limiter.available(NOW + 20 * S) == 0
    assert limiter.wait(NOW + 20 * S) == 40 * S
    assert not limiter.try_acquire(NOW + 59 * S)
    assert limiter.try_acquire(NOW + 60 * S)
    assert RateLimiter().available(NOW) is None and RateLimiter().try_acquire(NOW)


def test_hold_until() -> None:
    limiter = RateLimiter()
    limiter.hold_until(NOW + 600 * S)
    assert limiter.available(NOW) == 0 and limiter.wait(NOW) == 600 * S
    assert limiter.available(NOW + 600 * S) is None


def test_within_budget_unchanged() -> None:
    batch = [notification(1, id=f"n{i}") for i in range(3)]
    assert digest(batch, 3, now=NOW) == batch
    assert digest(batch, None, now=NOW) == batch
    assert digest(batch, 0, now=NOW) == []


def test_burst_becomes_digests_none_lost() -> None:
    levels = ["blue", "yellow", "red"]
    batch = [notification(3, level=levels[i % 3], id=f"n{i}") for i in range(50)]
    out = digest(batch, 4, now=NOW)
    assert len(out) == 4
    assert all(d.is_digest and d.reason == "digest" and d.created_at == NOW for d in out)
    folded = [a["fingerprint"] for d in out for a in d.alerts]
    original = [a["fingerprint"] for n in batch for a in n.alerts]
    assert sorted(folded) == sorted(original)  # all 150, none lost, none twice
    assert {i for d in out for i in d.digest_of} == {n.id for n in batch}
    # the most urgent first
    assert out[0].level == "red" and {a["labels"]["level"] for a in out[0].alerts} == {"red"}
    assert out[-1].alerts[-1]["labels"]["level"] == "blue"
    assert [len(d.alerts) for d in out] == [38, 38, 37, 37]


def test_resolved_come_after_firing() -> None:
    batch = [notification(1, status="resolved", id="r"), notification(1, level="blue", id="f")]
    [d] = digest(batch, 1, now=NOW)
    assert [a["status"] for a in d.alerts] == ["firing", "resolved"]
    assert d.status == "firing" and d.level == "red"


def test_digest_reads_as_a_digest() -> None:
    from procrules.alerts.channels.text import markdown

    batch = [notification(2, level=lv, id=lv) for lv in ("red", "yellow", "blue")]
    batch[0] = replace(batch[0], external_url="https://board.example/")
    [d] = digest(batch, 1, now=NOW)
    text, _ = markdown(d, 4096)
    assert text.splitlines()[:3] == [
        "### 【汇总】6 项预警：红牌 2 项，黄牌 2 项，蓝色提醒 2 项",
        "环节 现场核查 · 责任 营业所",  # shared by all six: said once
        "[打开预警看板](https://board.example/)",
    ]
    assert "- **红牌 WT-2026-0001** · 张*明 · 超期 1 个工作日" in text.splitlines()
    assert "- **蓝色提醒 WT-2026-0002** · 张*明 · 超期 1 个工作日" in text.splitlines()


def test_a_burst_of_1000_reads_in_20_wecom_messages() -> None:
    """Digest lines are short: 1,000 alerts fold into 20 digests of 50, each listed whole
    within WeCom's 4,096 bytes."""
    from procrules.alerts.channels.text import markdown, size

    batch = [notification(1, id=f"n{i}") for i in range(1000)]
    for d in digest(batch, 20, now=NOW):
        text, left = markdown(d, 4096)
        assert left == 0 and size(text) <= 4096 and text.count("\n- ") == 50


def test_thousand_alerts_through_twenty_a_minute(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """1,000 alerts in one pass to a channel limited to 20 a minute arrive as digests within
    the limit, none lost (issue 11, performance), with the clock moved by hand."""
    channel = build_channel(
        {"type": "jsonl", "path": str(tmp_path / "out.jsonl"), "rate_limit": "20/min"}, env={}
    )
    pending = [notification(1, id=f"n{i}") for i in range(1000)]
    # twenty already went out this minute: the budget is spent
    for _ in range(20):
        assert channel.send(notification(1, id="earlier"), now=NOW).ok
    budget = channel.limiter.available(NOW)
    assert budget == 0 and digest(pending, budget, now=NOW) == []
    later = NOW + channel.limiter.wait(NOW)
    assert later == NOW + 60 * S
    batch = digest(pending, channel.limiter.available(later), now=later)
    assert len(batch) == 20
    assert all(channel.send(d, now=later).ok for d in batch)
    assert channel.send(notification(), now=later).reason == "rate_limited"
    import json

    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    digests = [json.loads(line) for line in lines[20:]]
    assert len(digests) == 20
    assert sum(len(d["alerts"]) for d in digests) == 1000
    assert sorted(i for d in digests for i in d["digest_of"]) == sorted(n.id for n in pending)
