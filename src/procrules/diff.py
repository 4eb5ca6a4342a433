"""The impact of a policy or calendar change: judge the same cases under two spec folders and
list what differs (approvers, amounts, missing documents, deadlines, findings). Pure comparison
of two reports; reads nothing itself.
"""

from __future__ import annotations

from typing import Any

from .engine import Report

KINDS = ("ok", "approvals", "amounts", "missing_documents", "deadlines", "findings")


def facets(report: Report) -> dict[str, Any]:
    """What a change of policy can move in one report, as plain sorted lists (picklable)."""
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
    return compare_facets(
        facets(before), facets(after), before.process.version, after.process.version
    )


def compare_facets(
    old: dict[str, Any], new: dict[str, Any], old_version: str, new_version: str
) -> dict[str, dict[str, Any]]:
    """`compare` on the facets of two reports (as `check_batch(view="facets")` returns them)."""
    changes: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        if old[kind] != new[kind]:
            if isinstance(old[kind], list):
                removed = [x for x in old[kind] if x not in new[kind]]
                added = [x for x in new[kind] if x not in old[kind]]
                changes[kind] = {"before": removed, "after": added}
            else:
                changes[kind] = {"before": old[kind], "after": new[kind]}
    if old_version != new_version:
        changes["version"] = {"before": old_version, "after": new_version}
    return changes
