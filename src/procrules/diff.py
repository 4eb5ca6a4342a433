"""The impact of a policy or calendar change: judge the same cases under two spec folders and
list what differs (approvers, amounts, missing documents, deadlines, findings). Pure comparison
of two reports; reads nothing itself.
"""

from __future__ import annotations

from typing import Any

from .engine import Report

KINDS = ("ok", "approvals", "amounts", "missing_documents", "deadlines", "findings")


def _facets(report: Report) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "approvals": sorted(f"{a.rule}: {a.approver}" for a in report.approvals),
        "amounts": sorted(f"{a.rule} {a.name} {a.amount}" for a in report.amounts),
        "missing_documents": sorted(report.missing_documents),
        "deadlines": sorted(
            f"{c.deadline.rule} {c.deadline.id}#{c.cycle}: "
            f"{c.due.isoformat(timespec='seconds') if c.due else '-'} {c.status}"
            for c in report.deadlines
        ),
        "findings": sorted(
            f"{f.severity} {f.code} {f.rule or ''}".strip() for f in report.findings
        ),
    }


def compare(before: Report, after: Report) -> dict[str, dict[str, Any]]:
    """Each kind of outcome that differs, with its value before and after."""
    old, new = _facets(before), _facets(after)
    changes: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        if old[kind] != new[kind]:
            if isinstance(old[kind], list):
                removed = [x for x in old[kind] if x not in new[kind]]
                added = [x for x in new[kind] if x not in old[kind]]
                changes[kind] = {"before": removed, "after": added}
            else:
                changes[kind] = {"before": old[kind], "after": new[kind]}
    if before.process.version != after.process.version:
        changes["version"] = {"before": before.process.version, "after": after.process.version}
    return changes
