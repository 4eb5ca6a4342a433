"""Messages people read: Chinese by default, every field there, cut on a character boundary
with a count of what was left out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procrules.alerts.channels.text import cut_utf8, fit, markdown, plain, size, title

from .conftest import notification


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=60), st.integers(min_value=0, max_value=200))
def test_cut_never_splits_a_character(text: str, limit: int) -> None:
    cut = cut_utf8(text, limit)
    assert text.startswith(cut)
    assert size(cut) <= limit
    # the next character would not have fitted
    if cut != text:
        assert size(text[: len(cut) + 1]) > limit


@pytest.mark.parametrize(
    "text,limit,expected",
    [
        ("超期", 6, "超期"),
        ("超期", 5, "超"),  # 3 + 2 bytes of 期: the half character is dropped
        ("超期", 3, "超"),
        ("超期", 2, ""),
        ("a超", 3, "a"),
        ("👍x", 3, ""),  # 4-byte character
        ("👍x", 4, "👍"),
    ],
)
def test_cut_table(text: str, limit: int, expected: str) -> None:
    assert cut_utf8(text, limit) == expected


def test_fit_counts_what_is_left_out() -> None:
    items = [f"- 第 {i} 件" for i in range(10)]
    text, left = fit(["标题"], items, 40, lambda k: f"另有 {k} 项未列出")
    assert size(text) <= 40
    lines = text.split("\n")
    assert lines[0] == "标题" and lines[-1] == f"另有 {left} 项未列出"
    assert len(lines) - 2 + left == 10


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(max_size=30), max_size=3),
    st.lists(st.text(min_size=1, max_size=40), max_size=12),
    st.integers(min_value=0, max_value=300),
)
def test_fit_always_within_the_limit(head: list[str], items: list[str], limit: int) -> None:
    def more(k: int) -> str:
        return f"另有 {k} 项未列出"

    text, left = fit(head, items, limit, more)
    assert size(text) <= limit
    assert 0 <= left <= len(items)
    if left and limit >= size(more(left)):
        assert text.endswith(more(left))  # the count is never cut away
    if not left and size("\n".join(head)) <= limit:
        assert text.startswith("\n".join(head))
    if not left and items:
        assert text.endswith(items[-1]) or text.endswith("…")  # the last one listed


def test_head_too_long_keeps_the_count() -> None:
    text, left = fit(["超" * 50], ["a"], 40, lambda k: f"另有 {k} 项未列出")
    assert left == 1 and size(text) <= 40 and text.endswith("\n另有 1 项未列出")


def test_fit_cuts_a_single_long_item() -> None:
    text, left = fit(["标题"], ["超" * 100], 60, lambda k: f"另有 {k} 项未列出")
    assert left == 0 and size(text) <= 60 and text.endswith("…")
    text.encode("utf-8").decode("utf-8")  # whole characters only


def test_fit_everything_fits() -> None:
    assert fit(["t"], ["a", "b"], 100, lambda k: "x") == ("t\na\nb", 0)


def test_title_in_both_languages() -> None:
    assert title(notification(3)) == "【红牌】3 件办件时限预警"
    assert title(notification(1, level="blue", lang="en")) == "[Reminder] 1 case deadline alert(s)"
    assert title(notification(2, status="resolved")) == "【已恢复】2 件办件预警解除"


def test_every_field_in_chinese() -> None:
    text, left = markdown(notification(1), 4096)
    assert left == 0
    assert text == (
        "### 【红牌】1 件办件时限预警\n"
        "现场核查已超期\n"
        "- **WT-2026-0001** · 客户 张*明 · 环节 现场核查 · 责任 营业所 · 期限 10月8日（周四）前"
        " · 超期 1 个工作日 [办件详情](https://board.example/cases/WT-2026-0001)"
    )


def test_plain_text_in_english() -> None:
    text, _ = plain(notification(1, lang="en"), 10_000)
    assert text.splitlines()[1] == "Site check is overdue"
    assert "customer 张*明 · step 现场核查 · responsible 营业所 · due 10月8日（周四）前" in text


def test_values_never_break_lines() -> None:
    from procrules.alerts.channels import Notification

    from .conftest import NOW, alert

    n = Notification("r", "g", "firing", "red", (alert(customer="张\n*明"),), NOW)
    text, _ = markdown(n, 4096)
    assert "客户 张 *明" in text and len(text.splitlines()) == 3


def test_big_group_truncated_with_count() -> None:
    text, left = markdown(notification(200), 4096)
    assert size(text) <= 4096 and left > 0
    assert text.endswith(f"另有 {left} 项未列出")
    assert text.count("\n- ") == 200 - left


def test_channel_lang_overrides_the_notification() -> None:
    from procrules.alerts.channels import build_channel

    en = build_channel({"type": "wecom", "key_env": "K", "lang": "en"}, env={"K": "k"})
    zh = build_channel({"type": "wecom", "key_env": "K"}, env={"K": "k"})
    assert b"[Red card]" in en.render(notification(lang="zh")).body
    assert "【红牌】".encode() in zh.render(notification(lang="zh")).body
    assert b"[Red card]" in zh.render(notification(lang="en")).body
