"""The impact of a policy or calendar change: judge the same cases under two spec folders and
list what differs (approvers, amounts, missing documents, deadlines, findings). Pure comparison
of two reports; reads nothing itself.

Each outcome has a stable key (what the JSON lists: ids, rule ids, ISO times) and words for
people (names of approvers, documents and deadlines, dates as people write them).
"""

from __future__ import annotations

import datetime as dt
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


def _both(make: Any) -> Label:
    return Label(make("zh"), make("en"))


def _facets(report: Report, documents: dict[str, Label]) -> dict[str, Any]:
    """Each kind of outcome: a bool, or {key: words} for the items of a list."""

    def due(at: dt.datetime | None, lang: str) -> str:
        return due_text(at, lang, report.as_of) if at else "-"

    return {
        "ok": report.ok,
        "approvals": {
            f"{a.rule}: {a.approver}": _both(lambda lang, a=a: f"{a.label.get(lang)} [{a.rule}]")
            for a in report.approvals
        },
        "amounts": {
            f"{a.rule} {a.name} {a.amount}": _both(
                lambda lang, a=a: f"{a.label.get(lang)} {a.amount} {a.currency} [{a.rule}]"
            )
            for a in report.amounts
        },
        "missing_documents": {d: documents.get(d, Label(d, d)) for d in report.missing_documents},
        "deadlines": {
            f"{c.deadline.rule} {c.deadline.id}#{c.cycle}: "
            f"{c.due.isoformat(timespec='seconds') if c.due else '-'} {c.status}": _both(
                lambda lang, c=c: (
                    f"{c.deadline.label.get(lang)} {due(c.due, lang)} "
                    f"{t(c.status, lang)} [{c.deadline.rule}]"
                )
            )
            for c in report.deadlines
        },
        "findings": {
            f"{f.severity} {f.code} {f.rule or ''}".strip(): _both(
                lambda lang, f=f: (
                    f"{_SEVERITY.get(f.severity, Label(f.severity, f.severity)).get(lang)}"
                    f" {f.message.get(lang)}" + (f" [{f.rule}]" if f.rule else "")
                )
            )
            for f in report.findings
        },
    }


def _changes(
    before: Report, after: Report, documents: dict[str, Label]
) -> dict[str, tuple[Any, Any]]:
    """kind -> (before, after): the items only before and only after, or the two values."""
    old, new = _facets(before, documents), _facets(after, documents)
    changes: dict[str, tuple[Any, Any]] = {}
    for kind in KINDS:
        if isinstance(old[kind], dict):
            if sorted(old[kind]) != sorted(new[kind]):
                removed = {k: v for k, v in sorted(old[kind].items()) if k not in new[kind]}
                added = {k: v for k, v in sorted(new[kind].items()) if k not in old[kind]}
                changes[kind] = (removed, added)
        elif old[kind] != new[kind]:
            changes[kind] = (old[kind], new[kind])
    if before.process.version != after.process.version:
        changes["version"] = (before.process.version, after.process.version)
    return changes


def compare(
    before: Report, after: Report, documents: dict[str, Label] | None = None
) -> dict[str, dict[str, Any]]:
    """Each kind of outcome that differs, with its value before and after (keys, for JSON)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, (old, new) in _changes(before, after, documents or {}).items():
        if isinstance(old, dict):
            out[kind] = {"before": list(old), "after": list(new)}
        else:
            out[kind] = {"before": old, "after": new}
    return out


def describe(before: Report, after: Report, documents: dict[str, Label], lang: str) -> list[str]:
    """The same changes in words, one line per item: 审批: 不再 分管副总经理 [WT-APPROVER]."""
    lines = []
    for kind, (old, new) in _changes(before, after, documents).items():
        heading = _HEADINGS[kind].get(lang)
        if isinstance(old, dict):
            lines += [f"{heading}: {_REMOVED.get(lang)} {v.get(lang)}" for v in old.values()]
            lines += [f"{heading}: {_ADDED.get(lang)} {v.get(lang)}" for v in new.values()]
        elif kind == "ok":
            verdict = {True: t("ok", lang), False: t("blocked", lang)}
            lines.append(f"{heading}: {verdict[old]} -> {verdict[new]}")
        else:
            lines.append(f"{heading}: {old} -> {new}")
    return lines
