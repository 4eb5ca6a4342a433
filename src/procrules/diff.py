"""The impact of a policy or calendar change: judge the same cases under two spec folders and
list what differs (approvers, amounts, missing documents, deadlines, findings). Pure comparison
of two reports; reads nothing itself.

Each outcome has a stable key (what the JSON lists: ids, rule ids, ISO times) and words for
people (names of approvers, documents and deadlines, dates as people write them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .engine import Report
from .report import t
from .spec.model import Label
from .wording import due_text

KINDS = ("ok", "approvals", "amounts", "missing_documents", "deadlines", "findings")

_HEADINGS = {
    "ok": Label("判定", "verdict"),
    "approvals": Label("审批", "approvals"),
    "amounts": Label("应缴金额", "amounts owed"),
    "missing_documents": Label("缺少资料", "missing documents"),
    "deadlines": Label("时限", "deadlines"),
    "findings": Label("提示与问题", "findings"),
    "version": Label("流程版本", "process version"),
}
_SEVERITY = {"error": Label("错误", "error"), "warning": Label("提醒", "warning")}
_REMOVED = Label("不再", "no longer")
_ADDED = Label("新增", "now")


def heading(kind: str, lang: str) -> str:
    """The name of a kind of outcome: 审批 / approvals."""
    return _HEADINGS[kind].get(lang)


@dataclass(frozen=True)
class _Item:
    """One item of an outcome list: what it is (paired across the two reports by `identity`),
    its name and its value in words, and the rule it comes from."""

    identity: str
    name: Label | None
    value: Label | None
    rule: str = ""

    def text(self, lang: str) -> str:
        parts = [x.get(lang) for x in (self.name, self.value) if x is not None]
        return " ".join(parts) + (f" [{self.rule}]" if self.rule else "")

    def plain(self) -> list[Any]:
        """As plain data: [identity, [zh, en] | None, [zh, en] | None, rule]."""
        return [self.identity, _pair(self.name), _pair(self.value), self.rule]

    @classmethod
    def of(cls, plain: list[Any]) -> _Item:
        identity, name, value, rule = plain
        return cls(identity, Label(*name) if name else None, Label(*value) if value else None, rule)


def _pair(label: Label | None) -> list[str] | None:
    return None if label is None else [label.zh, label.en]


def _both(make: Any) -> Label:
    return Label(make("zh"), make("en"))


def facets(report: Report, documents: dict[str, Label] | None = None) -> dict[str, Any]:
    """What a change of policy can move in one report, as plain picklable data (what
    `check_batch(view="facets")` returns): `ok`, and for each list of outcomes {key: item}, the
    key stable (ids, rule ids, ISO times) and the item in words (see `_Item.plain`)."""
    items = _facets(report, documents or {})
    return {
        kind: {k: v.plain() for k, v in value.items()} if isinstance(value, dict) else value
        for kind, value in items.items()
    }


def _facets(report: Report, documents: dict[str, Label]) -> dict[str, Any]:
    """Each kind of outcome: a bool, or {key: item} for the items of a list."""

    def due(at: dt.datetime | None, lang: str) -> str:
        return due_text(at, lang, report.as_of) if at else "-"

    return {
        "ok": report.ok,
        "approvals": {
            f"{a.rule}: {a.approver}": _Item(a.rule, None, a.label, a.rule)
            for a in report.approvals
        },
        "amounts": {
            f"{a.rule} {a.name} {a.amount}": _Item(
                f"{a.rule} {a.name}",
                a.label,
                Label(f"{a.amount} {a.currency}", f"{a.amount} {a.currency}"),
                a.rule,
            )
            for a in report.amounts
        },
        "missing_documents": {
            d: _Item(d, documents.get(d, Label(d, d)), None) for d in report.missing_documents
        },
        "deadlines": {
            f"{c.deadline.rule} {c.deadline.id}#{c.cycle}: "
            f"{c.due.isoformat(timespec='seconds') if c.due else '-'} {c.status}": _Item(
                f"{c.deadline.id}#{c.cycle}",
                c.deadline.label,
                Label(
                    f"{due(c.due, 'zh')}（{t(c.status, 'zh')}）",
                    f"{due(c.due, 'en')} ({t(c.status, 'en')})",
                ),
                c.deadline.rule,
            )
            for c in report.deadlines
        },
        "findings": {
            f"{f.severity} {f.code} {f.rule or ''}".strip(): _Item(
                f"{f.severity} {f.code} {f.rule or ''}",
                None,
                _both(
                    lambda lang, f=f: (
                        _SEVERITY.get(f.severity, Label(f.severity, f.severity)).get(lang)
                        + f" {f.message.get(lang)}"
                    )
                ),
                f.rule or "",
            )
            for f in report.findings
        },
    }


def _changes(
    old: dict[str, Any], new: dict[str, Any], old_version: str, new_version: str
) -> dict[str, tuple[Any, Any]]:
    """kind -> (before, after): the items only before and only after, or the two values."""
    changes: dict[str, tuple[Any, Any]] = {}
    for kind in KINDS:
        if isinstance(old[kind], dict):
            if sorted(old[kind]) != sorted(new[kind]):
                removed = {k: v for k, v in sorted(old[kind].items()) if k not in new[kind]}
                added = {k: v for k, v in sorted(new[kind].items()) if k not in old[kind]}
                changes[kind] = (removed, added)
        elif old[kind] != new[kind]:
            changes[kind] = (old[kind], new[kind])
    if old_version != new_version:
        changes["version"] = (old_version, new_version)
    return changes


def compare(
    before: Report, after: Report, documents: dict[str, Label] | None = None
) -> dict[str, dict[str, Any]]:
    """Each kind of outcome that differs, with its value before and after (keys, for JSON)."""
    return compare_facets(
        facets(before, documents),
        facets(after, documents),
        before.process.version,
        after.process.version,
    )


def compare_facets(
    old: dict[str, Any], new: dict[str, Any], old_version: str, new_version: str
) -> dict[str, dict[str, Any]]:
    """`compare` on the facets of two reports (as `check_batch(view="facets")` returns them)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, (before, after) in _changes(old, new, old_version, new_version).items():
        if isinstance(before, dict):
            out[kind] = {"before": list(before), "after": list(after)}
        else:
            out[kind] = {"before": before, "after": after}
    return out


def describe(before: Report, after: Report, documents: dict[str, Label], lang: str) -> list[str]:
    """The same changes in words, one line per item: an item on both sides with another value
    as `name old -> new`, else no longer / now: 审批: 分管副总经理 -> 营业所经理 [WT-APPROVER]."""
    return describe_facets(
        facets(before, documents),
        facets(after, documents),
        before.process.version,
        after.process.version,
        lang,
    )


def describe_facets(
    old: dict[str, Any], new: dict[str, Any], old_version: str, new_version: str, lang: str
) -> list[str]:
    """`describe` on the facets of two reports."""
    lines = []
    for kind, (before, after) in _changes(old, new, old_version, new_version).items():
        heading = _HEADINGS[kind].get(lang)
        if isinstance(before, dict):
            removed = [_Item.of(v) for v in before.values()]
            added = [_Item.of(v) for v in after.values()]
            lines += _item_lines(heading, removed, added, lang)
        elif kind == "ok":
            verdict = {True: t("ok", lang), False: t("blocked", lang)}
            lines.append(f"{heading}: {verdict[before]} -> {verdict[after]}")
        else:
            lines.append(f"{heading}: {before} -> {after}")
    return lines


def _item_lines(heading: str, removed: list[_Item], added: list[_Item], lang: str) -> list[str]:
    def single(items: list[_Item]) -> dict[str, _Item]:
        counts: dict[str, int] = {}
        for item in items:
            counts[item.identity] = counts.get(item.identity, 0) + 1
        return {i.identity: i for i in items if counts[i.identity] == 1}

    old, new = single(removed), single(added)
    paired = {k for k in old if k in new and old[k].value is not None}
    lines = []
    for item in removed:
        if item.identity in paired:
            after = new[item.identity]
            assert item.value is not None and after.value is not None
            name = f"{item.name.get(lang)} " if item.name else ""
            rule = f" [{item.rule}]" if item.rule else ""
            lines.append(
                f"{heading}: {name}{item.value.get(lang)} -> {after.value.get(lang)}{rule}"
            )
        else:
            lines.append(f"{heading}: {_REMOVED.get(lang)} {item.text(lang)}")
    lines += [
        f"{heading}: {_ADDED.get(lang)} {i.text(lang)}" for i in added if i.identity not in paired
    ]
    return lines
