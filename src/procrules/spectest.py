"""Spec tests: cases with expected outcomes, written in YAML beside the specs.

A test file is a list of tests. Each names a process, a case (merged over a plain default
customer), an as_of, and what must hold. This module loads them with their line numbers and
compares a report with the expectation; it never changes a spec.

    - note: a downgrade goes to the deputy GM
      rules: [WT-APPROVER]
      process: water_type_change
      as_of: 2025-10-09T09:00:00+08:00
      case:
        customer: {water_type: special}
        facts: {target_water_type: residential}
        events: ["order_received 2025-09-26T10:00:00+08:00"]
      expect:
        approvals: [{rule: WT-APPROVER, approver: deputy_gm}]
        deadlines: [{rule: WT-APPROVER, due_date: "2025-10-09", status: [running, at_risk]}]
        position: {done: [take_order], open: [verify], missing: [], ended: null}
        verdict: {application: proceed, sla: at_risk}

`position` compares the listed step ids (events for `missing`) as sets, and `ended`;
`verdict` the status of the report's `application` and `sla` sections.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import Checker, validate_case
from .engine import Report
from .errors import ProcrulesError, SpecError
from .report import report_to_dict
from .source import Document, load_yaml

DEFAULT_CUSTOMER = {
    "type": "individual",
    "name": "测试用户",
    "account": "0100000001",
    "water_type": "residential",
    "arrears": "0.00",
    "arrears_months": 0,
}
LIST_KEYS = ("findings", "approvals", "amounts", "deadlines")
EXPECT_KEYS = {
    "ok",
    "exit",
    "missing_documents",
    "exhaustive",
    *LIST_KEYS,
    *(f"{k}_exclude" for k in LIST_KEYS),
    "missing_documents_include",
    "position",
    "verdict",
}
TEST_KEYS = {"note", "rules", "process", "as_of", "case", "expect"}


@dataclass
class SpecTest:
    file: str
    line: int
    note: str
    process: str
    as_of: str
    case: dict[str, Any]
    expect: dict[str, Any]
    rules: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Outcome:
    test: SpecTest
    failures: list[str]
    report: Report | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def build_case(process: str, partial: dict[str, Any], note: str = "") -> dict[str, Any]:
    case = copy.deepcopy(partial)
    case.setdefault("case_id", note[:60] or "TEST")
    case["process"] = process
    case["customer"] = {**DEFAULT_CUSTOMER, **case.get("customer", {})}
    case.setdefault("documents", [])
    case.setdefault("facts", {})
    events = []
    for item in case.get("events", []):
        if isinstance(item, str):
            name, _, at = item.partition(" ")
            events.append({"event": name, "at": at.strip()})
        else:
            events.append(item)
    case["events"] = events
    return case


def load_tests(folder: Path) -> list[SpecTest]:
    """Every test in folder/*.yaml, in file order; a malformed file raises SpecError."""
    tests: list[SpecTest] = []
    problems = []
    for file in sorted(folder.glob("*.yaml")):
        try:
            doc = load_yaml(file)
            tests.extend(_read(doc))
        except SpecError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SpecError(problems)
    return tests


def _read(doc: Document) -> list[SpecTest]:
    if not isinstance(doc.data, list):
        raise doc.problem_at(SpecError, (), "a test file is a list of tests", code="test_schema")
    out = []
    for i, item in enumerate(doc.data):
        if not isinstance(item, dict):
            raise doc.problem_at(SpecError, (i,), "a test is a mapping", code="test_schema")
        for key in item:
            if key not in TEST_KEYS:
                from .errors import did_you_mean

                raise doc.problem_at(
                    SpecError,
                    (i, key),
                    f"unknown key '{key}'",
                    code="test_schema",
                    suggestion=did_you_mean(key, TEST_KEYS),
                )
        for key in ("note", "process", "as_of", "expect"):
            if key not in item:
                raise doc.problem_at(SpecError, (i,), f"test needs '{key}'", code="test_schema")
        for key in item["expect"]:
            if key not in EXPECT_KEYS:
                from .errors import did_you_mean

                raise doc.problem_at(
                    SpecError,
                    (i, "expect", key),
                    f"unknown expectation '{key}'",
                    code="test_schema",
                    suggestion=did_you_mean(key, EXPECT_KEYS),
                )
        line, _ = doc.where((i,))
        out.append(
            SpecTest(
                doc.file,
                line,
                str(item["note"]),
                str(item["process"]),
                str(item["as_of"]),
                item.get("case") or {},
                item["expect"],
                list(item.get("rules") or []),
            )
        )
    return out


def _matches(item: dict[str, Any], pattern: dict[str, Any]) -> bool:
    for key, want in pattern.items():
        got = (item.get("due") or "")[:10] if key == "due_date" else item.get(key)
        allowed = want if isinstance(want, list) and key not in ("accepted",) else [want]
        if got not in allowed and str(got) not in [str(a) for a in allowed]:
            return False
    return True


def run_test(checker: Checker, test: SpecTest, lang: str = "en") -> Outcome:
    """Judge the test's case and compare; failures read `expected ...` / `got ...` as labels
    (rule, approver, status, due), never as Python dicts."""
    exp, got_word = ("应为", "实际") if lang == "zh" else ("expected", "got")
    case = build_case(test.process, test.case, test.note)
    expect = test.expect
    try:
        report = checker.engine.check(
            validate_case(case, test.where), _as_of(test.as_of), test.where
        )
    except ProcrulesError as exc:
        if expect.get("exit") == 2:
            return Outcome(test, [])
        return Outcome(test, [f"could not judge: {exc.render(lang)}"])
    got = report_to_dict(report, "en")
    failures = _typos(checker, test, got)
    if "exit" in expect and expect["exit"] != report.exit_code:
        failures.append(f"exit: {exp} {expect['exit']}, {got_word} {report.exit_code}")
    if "ok" in expect and expect["ok"] != report.ok:
        failures.append(
            f"ok: {exp} {str(expect['ok']).lower()}, {got_word} {str(report.ok).lower()}"
        )
    if "missing_documents" in expect and sorted(expect["missing_documents"]) != sorted(
        got["missing_documents"]
    ):
        failures.append(
            f"missing_documents: {exp} {_words(sorted(expect['missing_documents']))}\n"
            f"      {got_word} {_words(sorted(got['missing_documents']))}"
        )
    for doc in expect.get("missing_documents_include", []):
        if doc not in got["missing_documents"]:
            failures.append(
                f"missing_documents: {exp} {doc} {'在内' if lang == 'zh' else 'among them'}\n"
                f"      {got_word} {_words(got['missing_documents'])}"
            )
    for key in LIST_KEYS:
        for want in expect.get(key, []):
            if not any(_matches(item, want) for item in got[key]):
                failures.append(
                    f"{key}: {exp} {_label(key, want)}\n      {got_word} {_labels(key, got[key])}"
                )
        for bad in expect.get(f"{key}_exclude", []):
            hits = [item for item in got[key] if _matches(item, bad)]
            if hits:
                none = "不应有" if lang == "zh" else "none like"
                failures.append(
                    f"{key}: {exp} {none} {_label(key, bad)}\n      {got_word} {_labels(key, hits)}"
                )
    failures.extend(_position_failures(expect.get("position"), got.get("position") or {}))
    for side, want in (expect.get("verdict") or {}).items():
        have = (got.get(side) or {}).get("status")
        if have != want:
            failures.append(f"verdict: expected {side} {want}, got {have}")
    if expect.get("exhaustive"):
        extra = [
            f
            for f in got["findings"]
            if not any(_matches(f, w) for w in expect.get("findings", []))
        ]
        if extra:
            also = "完整列表，但还有" if lang == "zh" else "exhaustive, but also got"
            failures.append(f"findings: {also} {_labels('findings', extra)}")
    return Outcome(test, failures, report)


def _position_failures(want: dict[str, Any] | None, got: dict[str, Any]) -> list[str]:
    """position: {ended: rejected, open: [step ids], done: [...], missing: [events]}; the lists
    compare as sets, so a test names exactly the open steps."""
    if not want:
        return []
    out = []
    if "ended" in want and want["ended"] != got.get("ended"):
        out.append(f"position: expected ended {want['ended']}, got {got.get('ended')}")
    for key, name in (("open", "step"), ("done", "step"), ("missing", "event")):
        if key in want:
            have = sorted(item[name] for item in got.get(key, []))
            if sorted(want[key]) != have:
                out.append(f"position: expected {key} {sorted(want[key])}, got {have}")
    return out


def _typos(checker: Checker, test: SpecTest, got: dict[str, Any]) -> list[str]:
    """Names in the test that nothing knows: a typo must fail the test, not pass unnoticed."""
    from .errors import did_you_mean

    out = []
    catalog = checker.specs.catalog
    expect = test.expect
    named = [*expect.get("missing_documents", []), *expect.get("missing_documents_include", [])]
    for doc in named:
        if doc not in catalog.documents:
            hint = did_you_mean(doc, catalog.documents)
            out.append(
                f"unknown document '{doc}' in expect"
                + (f" (did you mean '{hint}'?)" if hint else "")
            )
    for key in ("findings", "approvals", "amounts", "deadlines"):
        for pattern in [*expect.get(key, []), *expect.get(f"{key}_exclude", [])]:
            rule = pattern.get("rule") if isinstance(pattern, dict) else None
            if isinstance(rule, str) and rule not in catalog.rules:
                hint = did_you_mean(rule, catalog.rules)
                out.append(
                    f"unknown rule '{rule}' in expect"
                    + (f" (did you mean '{hint}'?)" if hint else "")
                )
    expected_codes = {p.get("code") for p in expect.get("findings", []) if isinstance(p, dict)}
    for finding in got["findings"]:
        code = finding["code"]
        if (
            code in ("unknown_document", "unknown_event", "unknown_fact")
            and code not in expected_codes
        ):
            out.append(
                f"the case: {finding['message']}"
                + (
                    f" (did you mean '{finding['suggestion']}'?)"
                    if finding.get("suggestion")
                    else ""
                )
            )
    return out


def _as_of(value: str) -> Any:
    from .api import resolve_as_of

    return resolve_as_of(value)


# How an item reads in a failure: its leading fields bare, the rest as `key value`.
_LABEL_FIELDS = {
    "findings": ("rule", "code", "severity"),
    "approvals": ("rule", "approver"),
    "amounts": ("rule", "name", "amount"),
    "deadlines": ("rule", "id", "status", "due", "done"),
}


def _words(values: Any) -> str:
    if isinstance(values, list):
        return ", ".join(str(v) for v in values) if values else "(none)"
    if isinstance(values, bool):
        return str(values).lower()
    return "(none)" if values is None else str(values)


def _label(key: str, item: dict[str, Any]) -> str:
    """`WT-APPROVER deputy_gm`, `WT-VERIFY verify status met due 2026-10-08T23:59:59+08:00`."""
    lead_keys = _LABEL_FIELDS[key][:2]
    lead = [str(item[k]) for k in lead_keys if item.get(k) is not None]
    rest = [f"{k} {_words(v)}" for k, v in item.items() if k not in lead_keys]
    return " ".join(lead + rest)


def _labels(key: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return "(none)"
    fields = _LABEL_FIELDS[key]
    return "; ".join(
        _label(key, {k: i.get(k) for k in fields if i.get(k) is not None}) for i in items
    )


@dataclass
class Coverage:
    """What the spec tests exercised: seed rules, and both branches of every routing condition."""

    rules: set[str] = field(default_factory=set)
    taken: dict[tuple[str, int], set[bool]] = field(default_factory=dict)
    versions: set[tuple[str, str]] = field(default_factory=set)  # (process, version) judged

    def add(self, outcome: Outcome) -> None:
        self.rules.update(outcome.test.rules)
        report = outcome.report
        if report is None:
            return
        self.versions.add((report.process.id, report.process.version))
        self.rules.update(f.rule for f in report.findings if f.rule)
        self.rules.update(a.rule for a in report.approvals)
        self.rules.update(a.rule for a in report.amounts)
        self.rules.update(c.deadline.rule for c in report.deadlines if c.status != "not_started")
        happened = {
            e["event"] if isinstance(e, dict) else str(e).split(" ")[0]
            for e in outcome.test.case.get("events", [])
        }
        process = report.process
        self.rules.update(s.rule for s in process.steps if s.rule and s.event in happened)
        fired = {(a.rule, a.approver) for a in report.approvals}
        for i, approval in enumerate(process.approvals):
            if approval.when is not None:
                key = (process.id, i)
                self.taken.setdefault(key, set()).add((approval.rule, approval.approver) in fired)

    def untested_rules(self, checker: Checker) -> list[str]:
        """Seed rules no test exercised and no spec marks informational."""
        return sorted(set(checker.specs.catalog.rules) - self.rules - self.informational(checker))

    def informational_only(self, checker: Checker) -> list[str]:
        """Rules no test exercised, cited as informational (NC-BUILD: no spec can enforce it)."""
        return sorted(self.informational(checker) - self.rules)

    @staticmethod
    def informational(checker: Checker) -> set[str]:
        return {i.rule for p in checker.specs.processes.values() for i in p.informational}

    def untested_versions(self, checker: Checker) -> list[str]:
        """'water_type_change 2027.1 (processes/water_type_change@2027.yaml)': a version of a
        flow that no test judged a case by."""
        return [
            f"{p.id} {p.version} ({p.file})"
            for pid in sorted(checker.specs.versions)
            for p in checker.specs.versions[pid]
            if (pid, p.version) not in self.versions
        ]

    def untaken_branches(self, checker: Checker) -> list[str]:
        """'process approvals[i] (rule -> approver): never true / never false'."""
        out = []
        for process in checker.specs.processes.values():
            for i, approval in enumerate(process.approvals):
                if approval.when is None:
                    continue
                seen = self.taken.get((process.id, i), set())
                where = (
                    f"{process.id} approvals[{i}] ({approval.rule} -> {approval.approver}, "
                    f"when {approval.when.source})"
                )
                for branch in (True, False):
                    if branch not in seen:
                        out.append(f"{where}: never {'taken' if branch else 'skipped'}")
        return out
