"""What a person reads: titles and one line per alert, in Chinese (default) or English, and
cutting a message to a byte limit on a character boundary with a count of what was left out.

Pure functions over a Notification; every string here exists in both languages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .base import LEVELS, AlertView, Mapped, Notification, views

if TYPE_CHECKING:
    from .base import DeliveryResult

# key: (en, zh)
TEXT: dict[str, tuple[str, str]] = {
    "blue": ("Reminder", "蓝色提醒"),
    "yellow": ("Yellow card", "黄牌"),
    "red": ("Red card", "红牌"),
    "title_firing": ("[{level}] {n} case deadline alert(s)", "【{level}】{n} 件办件时限预警"),
    "title_resolved": ("[Resolved] {n} case alert(s) cleared", "【已恢复】{n} 件办件预警解除"),
    "title_digest": ("[Digest] {n} alert(s): {counts}", "【汇总】{n} 项预警：{counts}"),
    "count": ("{level} {n}", "{level} {n} 项"),
    "resolved": ("resolved", "已恢复"),
    "customer": ("customer {v}", "客户 {v}"),
    "step": ("step {v}", "环节 {v}"),
    "role": ("responsible {v}", "责任 {v}"),
    "due": ("due {v}", "期限 {v}"),
    "open_case": ("open the case", "办件详情"),
    "open_board": ("open the board", "打开预警看板"),
    "more": ("{n} more not listed", "另有 {n} 项未列出"),
    "keyword": ("keyword", "关键词"),
    "sent": ("sent", "已发送"),
    "retry": ("will retry", "稍后重试"),
    "failed": ("failed for good", "发送失败（不再重试）"),
    "after": ("after {s} s", "{s} 秒后"),
}

SEP = {"zh": " · ", "en": " · "}


def t(key: str, lang: str, **params: object) -> str:
    en, zh = TEXT[key]
    return (zh if lang == "zh" else en).format(**params)


def one_line(value: str) -> str:
    """Values from a case never break the message's lines."""
    return " ".join(value.split())


def title(n: Notification) -> str:
    alerts = views(n)
    if n.is_digest:
        counts = []
        for level in reversed(LEVELS):
            k = sum(1 for a in alerts if (a.label("level") or n.level) == level)
            if k:
                counts.append(t("count", n.lang, level=t(level, n.lang), n=k))
        return t(
            "title_digest",
            n.lang,
            n=len(alerts),
            counts="，".join(counts) if n.lang == "zh" else ", ".join(counts),
        )
    if n.status == "resolved":
        return t("title_resolved", n.lang, n=len(alerts))
    return t("title_firing", n.lang, level=t(n.level, n.lang), n=len(alerts))


def summary(a: AlertView, lang: str) -> str:
    return one_line(a.note(f"summary_{lang}") or a.note("summary"))


def step_of(a: AlertView) -> str:
    return one_line(a.note("step_name") or a.label("step"))


def role_of(a: AlertView) -> str:
    return one_line(a.note("role_name") or a.label("role"))


def shared(alerts: Sequence[AlertView]) -> dict[str, str]:
    """The step and the role when every alert of a digest has the same one: said once on top."""
    out = {}
    for key, value_of in (("step", step_of), ("role", role_of)):
        values = {value_of(a) for a in alerts}
        if len(values) == 1 and "" not in values:
            out[key] = values.pop()
    return out


def shared_line(common: dict[str, str], lang: str) -> str:
    return SEP[lang].join(t(key, lang, v=value) for key, value in common.items())


def fields(a: AlertView, lang: str, *, with_level: bool) -> list[str]:
    """case id, customer, step, responsible role, due, overdue by (or time left)."""
    out = [_head(a, lang, with_level)]
    for key, value in (
        ("customer", a.note("customer")),
        ("step", step_of(a)),
        ("role", role_of(a)),
        ("due", a.note("due")),
    ):
        if value:
            out.append(t(key, lang, v=one_line(value)))
    late = a.note("overdue_by") or a.note("time_left")
    if late:
        out.append(one_line(late))
    return out


def compact_fields(a: AlertView, lang: str, common: dict[str, str]) -> list[str]:
    """A digest's line: level and case id, customer, step and role unless shared, then how late
    (or the due date): short enough for about 60 cases in WeCom's 4,096 bytes."""
    out = [_head(a, lang, True)]
    out.extend(
        value
        for key, value in (
            ("customer", one_line(a.note("customer"))),
            ("step", step_of(a)),
            ("role", role_of(a)),
        )
        if value and key not in common
    )
    late = a.note("overdue_by") or a.note("time_left")
    if late:
        out.append(one_line(late))
    elif a.note("due"):
        out.append(t("due", lang, v=one_line(a.note("due"))))
    return out


def _head(a: AlertView, lang: str, with_level: bool) -> str:
    head = one_line(a.label("case_id")) or "?"
    if with_level and a.label("level") in LEVELS:
        head = f"{t(a.label('level'), lang)} {head}"
    if a.status == "resolved":
        resolved = t("resolved", lang)
        head = f"{head} ({resolved})" if lang == "en" else f"{head}（{resolved}）"
    return head


def markdown_line(a: AlertView, lang: str, *, with_level: bool) -> str:
    parts = fields(a, lang, with_level=with_level)
    parts[0] = f"**{parts[0]}**"
    line = "- " + SEP[lang].join(parts)
    if a.note("link"):
        line += f" [{t('open_case', lang)}]({one_line(a.note('link'))})"
    return line


def compact_markdown_line(a: AlertView, lang: str, common: dict[str, str]) -> str:
    parts = compact_fields(a, lang, common)
    parts[0] = f"**{parts[0]}**"
    return "- " + SEP[lang].join(parts)


def plain_line(a: AlertView, lang: str, *, with_level: bool) -> str:
    line = "- " + SEP[lang].join(fields(a, lang, with_level=with_level))
    if a.note("link"):
        line += f" {one_line(a.note('link'))}"
    return line


def cut_utf8(text: str, limit_bytes: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits `limit_bytes`: never half a character."""
    data = text.encode("utf-8")
    if len(data) <= limit_bytes:
        return text
    return data[: max(limit_bytes, 0)].decode("utf-8", errors="ignore")


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def fit(
    head: Sequence[str],
    items: Sequence[str],
    limit_bytes: int,
    more: Callable[[int], str],
) -> tuple[str, int]:
    """head and as many items as fit in `limit_bytes` (UTF-8), joined by newlines, then a line
    saying how many were left out. Returns (text, items left out). Items are kept whole while
    they fit; when not even the first fits whole it is cut on a character boundary ("…"); a
    head too long is cut so that the count line still shows."""
    head_text = "\n".join(head)
    pieces = [head_text] if head_text else []
    used = size(head_text)
    kept = 0
    for i, item in enumerate(items):
        left = len(items) - i - 1
        tail = 1 + size(more(left)) if left else 0
        add = size(item) + (1 if pieces else 0)
        if used + add + tail > limit_bytes:
            break
        pieces.append(item)
        used += add
        kept += 1
    left_out = len(items) - kept
    if left_out and not kept:
        tail = 1 + size(more(left_out - 1)) if left_out > 1 else 0
        room = limit_bytes - used - (1 if pieces else 0) - tail - size("…")
        if room >= 24:  # a few characters of the first line say more than the count alone
            pieces.append(cut_utf8(items[0], room) + "…")
            kept, left_out = 1, left_out - 1
    text = "\n".join(pieces)
    if left_out:
        count = more(left_out)
        room = limit_bytes - 1 - size(count)
        text = f"{cut_utf8(text, room)}\n{count}" if room > 0 else count
    return cut_utf8(text, limit_bytes), left_out


def markdown(
    n: Notification, limit_bytes: int, *, heading: str = "### ", keyword: str = ""
) -> tuple[str, int]:
    """The message as markdown within `limit_bytes`: a heading (holding `keyword` when given), a
    summary line when there is one alert, and one line per alert. A digest says the shared step
    and role once, links the board once, and keeps its lines short."""
    alerts = views(n)
    head = [f"{heading}{with_keyword(title(n), keyword, n.lang)}"]
    if n.is_digest:
        common = shared(alerts)
        if common:
            head.append(shared_line(common, n.lang))
        if n.external_url:
            head.append(f"[{t('open_board', n.lang)}]({one_line(n.external_url)})")
        lines: Sequence[str] = [compact_markdown_line(a, n.lang, common) for a in alerts]
    else:
        if len(alerts) == 1 and summary(alerts[0], n.lang):
            head.append(summary(alerts[0], n.lang))
        # made as `fit` reads them: a long stored message is read only as far as it fits
        lines = Mapped(alerts, lambda a: markdown_line(a, n.lang, with_level=False))
    return fit(head, lines, limit_bytes, lambda k: t("more", n.lang, n=k))


def with_keyword(text: str, keyword: str, lang: str) -> str:
    """A robot in keyword mode drops messages without its keyword: put it in front."""
    if not keyword or keyword in text:
        return text
    return f"{keyword}｜{text}" if lang == "zh" else f"{keyword} | {text}"


def plain(n: Notification, limit_bytes: int, *, keyword: str = "") -> tuple[str, int]:
    alerts = views(n)
    head = [with_keyword(title(n), keyword, n.lang)]
    if len(alerts) == 1 and summary(alerts[0], n.lang):
        head.append(summary(alerts[0], n.lang))
    lines = Mapped(alerts, lambda a: plain_line(a, n.lang, with_level=n.is_digest))
    return fit(head, lines, limit_bytes, lambda k: t("more", n.lang, n=k))


def describe_result(result: DeliveryResult, lang: str) -> str:
    text = f"{result.channel}: {t(result.outcome, lang)} ({result.reason}"
    if result.error_code:
        text += f" {result.error_code}"
    if result.detail:
        text += f": {result.detail}"
    text += ")"
    if result.retry_after is not None:
        text += " " + t("after", lang, s=int(result.retry_after.total_seconds()))
    return text
