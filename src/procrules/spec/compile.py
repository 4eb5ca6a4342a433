"""Load, validate and compile a folder of specs into frozen `Process` objects.

Every fault in every file is collected (schema first, then names, expressions and rule ids),
sorted by place and raised together as one SpecError. Compiling does all expensive work once,
so that judging a case is a walk over prepared data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from ..cache import load_policy_yaml
from ..errors import Problem, SpecError, did_you_mean, json_path
from ..expressions import (
    NUMBER,
    T_ANY,
    T_BOOL,
    T_NUMBER,
    T_STRING,
    Environment,
    Expression,
    ExpressionError,
    Type,
    compile_expression,
    to_decimal,
)
from ..limits import MAX_DURATION, MAX_NUMBER
from ..source import Document, Path_, policy_text, read_policy_bytes
from .model import (
    Amount,
    Approval,
    Catalog,
    Check,
    Counting,
    Deadline,
    Duration,
    Fact,
    Finding,
    Informational,
    Label,
    Precedence,
    Process,
    Requirement,
    Step,
    Tariff,
)

SHARED_FILES = {"catalog", "tariff", "rules", "calendar", "alerts"}
FACT_TYPES = {
    "number": T_NUMBER,
    "integer": T_NUMBER,
    "money": T_NUMBER,
    "bool": T_BOOL,
    "string": T_STRING,
}
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_.]*)\}")

_DURATIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\d+)\s*(working days?|个工作日|工作日)(内)?$"), "working_days"),
    (re.compile(r"^(\d+)\s*(working hours?|个工作小时|工作小时)(内)?$"), "working_hours"),
    (re.compile(r"^(\d+)\s*(calendar days?|days?|日|天)(内)?$"), "calendar_days"),
    (re.compile(r"^(\d+)\s*(weeks?|周|个星期)(内)?$"), "weeks"),
    (re.compile(r"^(\d+)\s*(months?|个月)(内)?$"), "months"),
    (re.compile(r"^(\d+)\s*(hours?|小时|个小时)(内)?$"), "hours"),
]
_END_OF_MONTH = re.compile(r"^(end of (the )?month|当月月底前|月底前)$")
_SAME_DAY = re.compile(r"^(same day before|当天)\s*(\d{1,2}:\d{2})\s*(前)?$")
_SAME_DAY_END = re.compile(r"^(same day|当天|当日)(内)?$")


def _shipped(installed: str, checkout_folder: str) -> Path:
    """An installed data folder; in a source checkout (editable install), the repository's own."""
    package = Path(__file__).resolve().parent.parent
    folder = package / installed
    return folder if folder.is_dir() else package.parents[1] / checkout_folder


def shipped_processes_dir() -> Path:
    """The specs installed with the package (a copy of the repository's processes/)."""
    return _shipped("shipped_processes", "processes")


def shipped_schemas_dir() -> Path:
    return _shipped("shipped_schemas", "schemas")


def shipped_schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((shipped_schemas_dir() / name).read_text("utf-8"))
    return data


@cache
def _process_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(shipped_schema("process.schema.json"))


def parse_duration(text: str) -> Duration | None:
    """'7 working days', '24 hours', '1 month', 'end of month', 'same day before 17:00', 中文."""
    value = " ".join(str(text).split()).lower()
    for pattern, kind in _DURATIONS:
        m = pattern.match(value)
        if m:
            return Duration(kind, int(m.group(1)), text=str(text))
    if _SAME_DAY_END.match(value):
        return Duration("same_day", text=str(text))
    if _END_OF_MONTH.match(value):
        return Duration("end_of_month", text=str(text))
    m = _SAME_DAY.match(value)
    if m:
        try:
            return Duration(
                "same_day_cutoff", cutoff=dt.time.fromisoformat(m.group(2).zfill(5)), text=str(text)
            )
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class SpecSet:
    """Everything compiled from one folder: the shared vocabulary, the tariff, the processes.

    `versions` holds every version of a flow, oldest first (files ID.yaml and ID@VERSION.yaml);
    `processes` the newest of each.
    """

    folder: Path
    catalog: Catalog
    tariff: Tariff
    versions: dict[str, tuple[Process, ...]]
    calendar_file: Path | None
    # Content hash of every policy file read (specs, catalogue, tariff, rules, calendar.yaml,
    # alerts.yaml): any edit changes it; answers and caches name it. It hashes the very bytes
    # that were parsed: each file is read once, and `sources` keeps the text of the files other
    # loaders parse later (calendar.yaml, alerts.yaml), so they read no newer content either.
    revision: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def processes(self) -> dict[str, Process]:
        return {pid: versions[-1] for pid, versions in self.versions.items()}

    def in_force(self, process_id: str, day: dt.date) -> Process | None:
        """The version in force on `day`: the latest effective_from on or before it (else the
        oldest version, so that a case from before every version is still judged)."""
        versions = self.versions.get(process_id)
        if not versions:
            return None
        chosen = versions[0]
        for version in versions:
            if version.effective_from <= day:
                chosen = version
        return chosen


class _Collector:
    """Problems found while reading one document, each located by its JSON path."""

    def __init__(self, doc: Document, problems: list[Problem]) -> None:
        self.doc = doc
        self.problems = problems

    def add(
        self,
        path: Path_,
        code: str,
        message: str,
        suggestion: str | None = None,
        column_offset: int = 0,
    ) -> None:
        line, column = self.doc.where(path)
        self.problems.append(
            Problem(
                self.doc.file,
                line,
                column + column_offset,
                code,
                message,
                json_path(path),
                suggestion,
            )
        )


_REQUIRED = re.compile(r'^"(.+)" is a required property$')


def _schema_problems(
    doc: Document, validator: jsonschema_rs.Draft202012Validator, known_keys: Iterable[str]
) -> list[Problem]:
    out: list[Problem] = []
    col = _Collector(doc, out)
    renamed: set[tuple[Path_, str]] = set()  # (object, key) a misspelt key stands for
    required: list[tuple[Path_, str]] = []
    for error in validator.iter_errors(doc.data):
        path = tuple(error.instance_path)
        # the kinds' fields, read defensively: the library's error classes have changed before
        unexpected = getattr(error.kind, "unexpected", None)
        missing = getattr(error.kind, "property", None)
        if unexpected is None and missing is None:
            found = _REQUIRED.match(error.message)
            missing = found.group(1) if found else None
        if unexpected is not None:
            for key in unexpected:
                guess = did_you_mean(key, known_keys)
                col.add(path + (key,), "spec_schema", f"unknown key '{key}'", guess)
                if guess:
                    renamed.add((path, guess))
        elif missing is not None:
            required.append((path, str(missing)))
        else:
            col.add(path, "spec_schema", error.message)
    for path, key in required:  # 'approvr' already says what is wrong with a missing 'approver'
        if (path, key) not in renamed:
            col.add(path, "spec_schema", f"missing required key '{key}'")
    return out


def _schema_keys(schema: Any) -> set[str]:
    keys: set[str] = set()
    if isinstance(schema, dict):
        keys.update(schema.get("properties", {}))
        for value in schema.values():
            keys |= _schema_keys(value)
    elif isinstance(schema, list):
        for value in schema:
            keys |= _schema_keys(value)
    return keys


def _label(value: Any) -> Label:
    return Label(str(value["zh"]), str(value["en"]))


def _labels(
    doc: Document, key: str, col: _Collector, extra: Iterable[str] = ()
) -> dict[str, Label]:
    """A mapping of id -> {zh, en}; a missing name is a fault at its place."""
    out: dict[str, Label] = {}
    section = (doc.data or {}).get(key)
    if not isinstance(section, dict):
        col.add((key,), "spec_schema", f"'{key}' must map ids to {{zh, en}} names")
        return out
    for ident, value in section.items():
        path = (key, ident)
        if not isinstance(value, dict):
            col.add(path, "spec_schema", f"'{ident}' needs a name: {{zh: ..., en: ...}}")
            continue
        for lang in ("zh", "en"):
            if not isinstance(value.get(lang), str) or not value.get(lang):
                col.add(path, "missing_label", f"'{ident}' has no {lang} name")
        unknown = set(value) - {"zh", "en", *extra}
        for k in sorted(unknown):
            col.add(
                path + (k,),
                "spec_schema",
                f"unknown key '{k}'",
                did_you_mean(k, ["zh", "en", *extra]),
            )
        out[ident] = Label(str(value.get("zh", ident)), str(value.get("en", ident)))
    return out


def load_specs(folder: Path | None = None) -> SpecSet:
    """Load and compile every spec in `folder` (default: the shipped specs); raise on any fault."""
    folder = shipped_processes_dir() if folder is None else folder
    if not folder.is_dir():
        raise SpecError.at(str(folder), "not a folder of process specs", code="file_not_found")
    problems: list[Problem] = []
    texts, revision = read_policy_folder(folder)
    catalog, tariff = _load_shared(folder, texts, problems)
    versions: dict[str, list[Process]] = {}
    files = sorted(folder / name for name in texts if Path(name).stem not in SHARED_FILES)
    if not files:
        problems.append(Problem(str(folder), 0, 0, "no_specs", "no process specs (*.yaml) here"))
    for file in files:
        try:
            doc = _parse(file, texts)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        found = _schema_problems(doc, _process_validator(), _PROCESS_KEYS)
        if found:
            problems.extend(found)
            continue
        if catalog is None or tariff is None:
            continue
        process = _ProcessCompiler(doc, catalog, tariff, problems).compile()
        if process is not None:
            versions.setdefault(process.id, []).append(process)
    ordered = {pid: tuple(sorted(v, key=lambda p: p.effective_from)) for pid, v in versions.items()}
    for pid, procs in ordered.items():
        for older, newer in zip(procs, procs[1:], strict=False):
            if older.effective_from == newer.effective_from or older.version == newer.version:
                problems.append(
                    Problem(
                        newer.file,
                        1,
                        1,
                        "duplicate_version",
                        f"'{pid}' has two versions with the same version or "
                        f"effective_from (also in {older.file})",
                        "$.version",
                    )
                )
    if problems:
        raise SpecError(problems)
    assert catalog is not None and tariff is not None
    return SpecSet(
        folder,
        catalog,
        tariff,
        ordered,
        folder / "calendar.yaml" if "calendar.yaml" in texts else None,
        revision,
        {name: text for name, text in texts.items() if isinstance(text, str)},
    )


def read_policy_folder(folder: Path) -> tuple[dict[str, str | SpecError], str]:
    """Every top-level *.yaml of `folder`, each read once: its text (or why it cannot be read),
    and the policy revision of exactly those bytes."""
    digest = hashlib.sha256()
    texts: dict[str, str | SpecError] = {}
    for file in sorted(folder.glob("*.yaml")):
        try:
            data = read_policy_bytes(file)
        except SpecError as exc:  # reported by whichever loader parses the file
            texts[file.name] = exc
            data = b"<unreadable>"
        else:
            try:
                texts[file.name] = policy_text(file, data)
            except SpecError as exc:
                texts[file.name] = exc
        _hash_file(digest, file.name, data)
    return texts, digest.hexdigest()[:16]


def _hash_file(digest: Any, name: str, data: bytes) -> None:
    digest.update(name.encode() + b"\0")
    digest.update(data)
    digest.update(b"\0")


def _parse(file: Path, texts: dict[str, str | SpecError]) -> Document:
    """A file of the folder, parsed from the text read with the others (absent: not found)."""
    text = texts.get(file.name)
    if text is None:
        raise SpecError.at(str(file), "no such file", code="file_not_found")
    if isinstance(text, SpecError):
        raise text
    return load_policy_yaml(file, text)  # the parse cache, keyed by these same bytes


def policy_revision(folder: Path, extra: Path | None = None) -> str:
    """A short content hash of the policy in `folder` (every top-level *.yaml) and of `extra`
    (a calendar override named on the command line), as files stand now: for showing which
    policy a command is about to use. A loaded policy names its own (`SpecSet.revision`, of the
    bytes it parsed). File names count, so a rename changes it."""
    digest = hashlib.sha256()
    files = sorted(folder.glob("*.yaml"))
    if extra is not None and extra not in files:
        files.append(extra)
    for file in files:
        try:  # never open a FIFO or a device: reading the policy refuses them with a message
            data = read_policy_bytes(file)
        except SpecError:
            data = b"<unreadable>"
        _hash_file(digest, file.name, data)
    return digest.hexdigest()[:16]


_PROCESS_KEYS = _schema_keys(shipped_schema("process.schema.json"))


def _load_shared(
    folder: Path, texts: dict[str, str | SpecError], problems: list[Problem]
) -> tuple[Catalog | None, Tariff | None]:
    docs: dict[str, Document] = {}
    for name in ("catalog", "tariff", "rules"):
        try:
            docs[name] = _parse(folder / f"{name}.yaml", texts)
        except SpecError as exc:
            problems.extend(exc.problems)
    if len(docs) < 3:
        return None, None
    before = len(problems)
    cat = docs["catalog"]
    col = _Collector(cat, problems)
    if not isinstance(cat.data, dict):
        col.add((), "spec_schema", "the catalogue is a mapping of customer_types, roles, documents")
        return None, None
    for key in cat.data:
        if key not in ("customer_types", "roles", "documents"):
            col.add(
                (key,),
                "spec_schema",
                f"unknown key '{key}'",
                did_you_mean(key, ["customer_types", "roles", "documents"]),
            )
    customer_types = _labels(cat, "customer_types", col)
    roles = _labels(cat, "roles", col)
    documents = _labels(cat, "documents", col, extra=("aliases", "substitutes"))
    by_name = {label.zh: ident for ident, label in documents.items()}
    for ident, value in (cat.data.get("documents") or {}).items():
        aliases = value.get("aliases", []) if isinstance(value, dict) else []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            col.add(
                ("documents", ident, "aliases"),
                "spec_schema",
                "aliases are a list of other names for the document",
            )
            continue
        for alias in aliases:
            if alias in by_name and by_name[alias] != ident:
                col.add(
                    ("documents", ident, "aliases"),
                    "spec_schema",
                    f"'{alias}' already names '{by_name[alias]}'",
                )
            by_name[alias] = ident
    substitutes: dict[str, tuple[str, ...]] = {}
    for ident, value in (cat.data.get("documents") or {}).items():
        instead = value.get("substitutes", []) if isinstance(value, dict) else []
        where = ("documents", ident, "substitutes")
        if not isinstance(instead, list) or not all(isinstance(a, str) for a in instead):
            col.add(where, "spec_schema", "substitutes is a list of document ids it stands in for")
            continue
        for j, other in enumerate(instead):
            if other not in documents or other == ident:
                col.add(
                    where + (j,),
                    "spec_reference_error",
                    f"unknown document '{other}'",
                    did_you_mean(other, [d for d in documents if d != ident]),
                )
        if instead:
            substitutes[ident] = tuple(instead)
    rules_doc = docs["rules"]
    rules: dict[str, Label] = {}
    if isinstance(rules_doc.data, dict):
        wrapped = Document(
            rules_doc.file,
            {"rules": rules_doc.data},
            {("rules",) + k: v for k, v in rules_doc.positions.items()},
        )
        rules = _labels(wrapped, "rules", _Collector(wrapped, problems))
    else:
        _Collector(rules_doc, problems).add(
            (), "spec_schema", "the rule register maps ids to names"
        )
    tariff = _load_tariff(docs["tariff"], problems)
    if len(problems) > before or tariff is None:
        return None, None
    catalog = Catalog(
        customer_types, roles, documents, rules, by_name, cat.file, cat.positions, substitutes
    )
    return catalog, tariff


def _load_tariff(doc: Document, problems: list[Problem]) -> Tariff | None:
    col = _Collector(doc, problems)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("water_types"), dict):
        col.add((), "spec_schema", "the tariff needs water_types: {id: {zh, en, price}}")
        return None
    labels = _labels(doc, "water_types", col, extra=("price", "aliases"))
    prices: dict[str, Decimal] = {}
    for ident, value in data["water_types"].items():
        try:
            prices[ident] = Decimal(str(value.get("price")))
            if not prices[ident].is_finite() or prices[ident] < 0:
                raise InvalidOperation
        except (InvalidOperation, AttributeError):
            col.add(
                ("water_types", ident, "price"),
                "tariff_price",
                f"price of '{ident}' must be a number of yuan, like \"5.00\"",
            )
    return Tariff(
        str(data.get("currency", "CNY")),
        labels,
        prices,
        doc.file,
        _names(data["water_types"], labels, col, "water_types"),
    )


def _names(
    section: dict[str, Any], labels: dict[str, Label], col: _Collector, key: str
) -> dict[str, str]:
    """Chinese name or alias -> id, so that a case may say 居民生活用水 for residential."""
    by_name = {label.zh: ident for ident, label in labels.items()}
    for ident, value in section.items():
        aliases = value.get("aliases", []) if isinstance(value, dict) else []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            col.add((key, ident, "aliases"), "spec_schema", "aliases are a list of other names")
            continue
        for alias in aliases:
            if by_name.get(alias, ident) != ident:
                col.add(
                    (key, ident, "aliases"),
                    "spec_schema",
                    f"'{alias}' already names '{by_name[alias]}'",
                )
            by_name[alias] = ident
    return by_name


class _ProcessCompiler:
    def __init__(
        self, doc: Document, catalog: Catalog, tariff: Tariff, problems: list[Problem]
    ) -> None:
        self.doc = doc
        self.data: dict[str, Any] = doc.data
        self.catalog = catalog
        self.tariff = tariff
        self.col = _Collector(doc, problems)
        self.problems = problems
        self.start = len(problems)
        self.events: dict[str, Label] = {k: _label(v) for k, v in self.data["events"].items()}
        self.step_ids = [
            str(step["id"]) for step in self.data.get("steps", []) if isinstance(step, dict)
        ]
        self.names: dict[str, Type] = {
            "customer.type": Type("string", tuple(catalog.customer_types)),
            "customer.name": T_STRING,
            "customer.account": T_STRING,
            "customer.water_type": Type("string", tuple(tariff.prices)),
            "customer.arrears": Type(NUMBER, low=Decimal(0), high=MAX_NUMBER),
            "customer.arrears_months": Type(NUMBER, low=Decimal(0), high=MAX_NUMBER),
        }

    # -- helpers ---------------------------------------------------------------------------
    def env(self) -> Environment:
        prices = tuple(self.tariff.prices.values())
        return Environment(
            self.names,
            frozenset(self.events),
            tuple(self.tariff.prices),
            (min(prices), max(prices)) if prices else None,
        )

    def expr(self, path: Path_, source: Any, want: Type | None = None) -> Expression | None:
        words = None
        if isinstance(source, dict):  # a condition with its label: {expr: ..., label: {zh, en}}
            label = source.get("label") or {}
            words = {"zh": str(label.get("zh", "")), "en": str(label.get("en", ""))}
            path, source = path + ("expr",), source.get("expr", "")
        try:
            compiled = compile_expression(str(source), self.env())
        except ExpressionError as exc:
            self.col.add(path, exc.code, exc.message, exc.suggestion, exc.column - 1)
            return None
        line, column = self.doc.where(path)
        compiled = replace(compiled, where=(self.doc.file, line, column, json_path(path)))
        if want is not None and compiled.type.kind not in (want.kind, "any"):
            self.col.add(
                path,
                "expression_type",
                f"'{source}' gives a {compiled.type.kind}, expected a {want.kind}",
            )
            return None
        return replace(compiled, words=words) if words else compiled

    def rule(self, path: Path_, rule: str) -> str:
        if rule not in self.catalog.rules:
            self.col.add(
                path,
                "unknown_rule",
                f"rule '{rule}' is not in the rule register",
                did_you_mean(rule, self.catalog.rules),
            )
        return rule

    def known(self, path: Path_, value: str, choices: Iterable[str], what: str) -> str:
        choices = list(choices)
        if value not in choices:
            self.col.add(
                path,
                "spec_reference_error",
                f"unknown {what} '{value}'",
                did_you_mean(value, choices),
            )
        return value

    def message(self, path: Path_, value: dict[str, str]) -> Label:
        for lang in ("zh", "en"):
            for m in PLACEHOLDER.finditer(value[lang]):
                if m.group(1) not in self.names:
                    self.col.add(
                        path + (lang,),
                        "expression_unknown_name",
                        f"unknown name '{m.group(1)}' in message",
                        did_you_mean(m.group(1), self.names),
                    )
        return _label(value)

    def time(self, path: Path_, value: str | None) -> dt.time | None:
        if value is None:
            return None
        try:
            return dt.time.fromisoformat(value)
        except ValueError:
            self.col.add(path, "spec_schema", f"'{value}' is not a time like 17:00")
            return None

    @staticmethod
    def listed(value: str | list[str]) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)

    # -- sections --------------------------------------------------------------------------
    def compile(self) -> Process | None:
        d = self.data
        stem = Path(self.doc.file).stem.split("@")[0]  # ID.yaml, or ID@VERSION.yaml
        if d["id"] != stem:
            self.col.add(
                ("id",),
                "spec_id_mismatch",
                f"process id '{d['id']}' must equal the file name '{stem}'",
            )
        try:
            effective = dt.date.fromisoformat(d["effective_from"])
        except ValueError:
            self.col.add(("effective_from",), "spec_schema", "not a real date")
            effective = dt.date.min
        roles = tuple(d["roles"])
        for i, role in enumerate(roles):
            self.known(("roles", i), role, self.catalog.roles, "role")
        if not set(roles) <= set(self.catalog.roles):
            # one misspelt lane is one fault: steps are then checked against the catalogue only
            roles = tuple(self.catalog.roles)
        facts = self.facts()
        derive = self.derive()
        documents = self.documents()
        gates = tuple(
            c
            for c in (
                self.check(("gates", i), g, gate=True) for i, g in enumerate(d.get("gates", []))
            )
            if c
        )
        checks = tuple(
            c
            for c in (self.check(("checks", i), g) for i, g in enumerate(d.get("checks", [])))
            if c
        )
        steps = self.steps(roles)
        approvals = self.approvals(roles)
        amounts = self.amounts()
        deadlines = self.deadlines()
        informational = tuple(
            Informational(self.rule(("informational", i, "rule"), x["rule"]), _label(x["reason"]))
            for i, x in enumerate(d.get("informational", []))
        )
        if len(self.problems) > self.start:
            return None
        return Process(
            id=d["id"],
            label=_label(d["name"]),
            version=str(d["version"]),
            effective_from=effective,
            description=_label(d["description"]) if "description" in d else None,
            roles=roles,
            events=self.events,
            facts=facts,
            derive=derive,
            documents=documents,
            gates=gates,
            checks=checks,
            steps=steps,
            approvals=approvals,
            amounts=amounts,
            deadlines=deadlines,
            informational=informational,
            file=self.doc.file,
            event_by_name={label.zh: ident for ident, label in self.events.items()},
            positions=self.doc.positions,
        )

    def facts(self) -> dict[str, Fact]:
        out: dict[str, Fact] = {}
        raw = self.data.get("facts", {})
        for name, spec in raw.items():
            path: Path_ = ("facts", name)
            kind = spec["type"]
            values: tuple[str, ...] = ()
            if kind == "enum":
                if "values" not in spec:
                    self.col.add(path, "spec_schema", f"enum fact '{name}' needs values")
                values = tuple(spec.get("values", ()))  # a list, or value -> {zh, en}
                self.names[f"facts.{name}"] = Type("string", values)
            elif kind == "water_type":
                values = tuple(self.tariff.prices)
                self.names[f"facts.{name}"] = Type("string", values)
            else:
                self.names[f"facts.{name}"] = FACT_TYPES[kind]
            bounds = self.bounds(path, kind, spec)
            if kind in ("number", "integer", "money"):
                self.names[f"facts.{name}"] = Type(NUMBER, low=bounds[0], high=bounds[1])
            if "required_by" in spec:
                self.rule(path + ("required_by",), spec["required_by"])
            out[name] = Fact(
                name,
                kind,
                _label(spec["name"]),
                values,
                spec.get("default"),
                spec.get("required_by"),
                value_labels=(
                    {v: _label(n) for v, n in spec["values"].items()}
                    if isinstance(spec.get("values"), dict)
                    else {}
                ),
                minimum=bounds[0] if "minimum" in spec else None,
                maximum=bounds[1] if "maximum" in spec else None,
            )
        # conditions may name any fact, so they compile once every fact is declared
        for name, spec in raw.items():
            if "required_when" in spec:
                if "required_by" not in spec:
                    self.col.add(
                        ("facts", name),
                        "spec_schema",
                        "required_when needs required_by (the rule that asks for it)",
                    )
                cond = self.expr(("facts", name, "required_when"), spec["required_when"], T_BOOL)
                out[name] = replace(out[name], required_when=cond)
        return out

    def bounds(self, path: Path_, kind: str, spec: dict[str, Any]) -> tuple[Decimal, Decimal]:
        """The range of a number fact: its minimum and maximum within +-1e15; money from 0."""
        low = Decimal(0) if kind == "money" else -MAX_NUMBER
        high = MAX_NUMBER
        for key in ("minimum", "maximum"):
            if key not in spec:
                continue
            if kind not in ("number", "integer", "money"):
                self.col.add(path + (key,), "spec_schema", f"only a number fact has a {key}")
                continue
            try:
                value = to_decimal(spec[key])
                if abs(value) > MAX_NUMBER:
                    raise TypeError
            except TypeError:
                self.col.add(
                    path + (key,),
                    "spec_schema",
                    f"{key} must be a number between -{MAX_NUMBER} and {MAX_NUMBER}",
                )
                continue
            if key == "minimum":
                low = value
            else:
                high = value
        if low > high:
            self.col.add(path, "spec_schema", "minimum is greater than maximum")
        return low, high

    def derive(self) -> tuple[tuple[str, Expression], ...]:
        out = []
        for name, source in self.data.get("derive", {}).items():
            if name in self.names or name in ("customer", "facts", "true", "false"):
                self.col.add(("derive", name), "duplicate_name", f"'{name}' is already a name")
                continue
            compiled = self.expr(("derive", name), source)
            self.names[name] = compiled.type if compiled else T_ANY
            if compiled:
                out.append((name, compiled))
        return tuple(out)

    def documents(self) -> tuple[Requirement, ...]:
        out = []
        for i, spec in enumerate(self.data.get("documents", [])):
            path: Path_ = ("documents", i)
            rule = self.rule(path + ("rule",), spec["rule"])
            kinds = spec["for"]
            types = (
                frozenset(self.catalog.customer_types)
                if kinds == "any"
                else frozenset(self.listed(kinds))
            )
            items = []
            for j, item in enumerate(spec["require"]):
                alternatives = self.listed(item) if isinstance(item, str) else tuple(item["any_of"])
                for k, doc_id in enumerate(alternatives):
                    where = (
                        path + ("require", j)
                        if isinstance(item, str)
                        else path + ("require", j, "any_of", k)
                    )
                    self.known(where, doc_id, self.catalog.documents, "document")
                # a substitution declared in the catalogue holds in every spec
                accepted = [a for doc_id in alternatives for a in self.catalog.accepted(doc_id)]
                items.append(tuple(dict.fromkeys(accepted)))
            when = self.expr(path + ("when",), spec["when"], T_BOOL) if "when" in spec else None
            note = _label(spec["note"]) if "note" in spec else None
            out.append(Requirement(rule, types, tuple(items), when, note))
        return tuple(out)

    def check(self, path: Path_, spec: dict[str, Any], gate: bool = False) -> Check | None:
        rule = self.rule(path + ("rule",), spec["rule"])
        when = self.expr(path + ("when",), spec["when"], T_BOOL)
        message = self.message(path + ("message",), spec["message"])
        if when is None:
            return None
        return Check(rule, spec["code"], spec.get("severity", "error"), when, message, gate)

    def steps(self, roles: tuple[str, ...]) -> tuple[Step, ...]:
        raw = self.data["steps"]
        ids: dict[str, str] = {}
        for i, spec in enumerate(raw):
            if spec["id"] in ids:
                self.col.add(
                    ("steps", i, "id"), "duplicate_step", f"step '{spec['id']}' appears twice"
                )
            ids[spec["id"]] = spec["event"]
        out = []
        for i, spec in enumerate(raw):
            path: Path_ = ("steps", i)
            step_roles = self.listed(spec["role"])
            for j, role in enumerate(step_roles):
                where = path + ("role",) if isinstance(spec["role"], str) else path + ("role", j)
                if role != "approver":
                    self.known(where, role, roles, "role")
            self.known(path + ("event",), spec["event"], self.events, "event")
            groups: list[tuple[str, ...]] = []
            for j, item in enumerate(spec.get("after", ())):
                if isinstance(item, str):
                    self.known(path + ("after", j), item, ids, "step")
                    groups.append((item,))
                    continue
                for k, other in enumerate(item["any_of"]):
                    self.known(path + ("after", j, "any_of", k), other, ids, "step")
                groups.append(tuple(item["any_of"]))
            after = tuple(dict.fromkeys(a for g in groups for a in g))
            instead = tuple(spec.get("alternative_to", ()))
            for j, other in enumerate(instead):
                self.known(path + ("alternative_to", j), other, ids, "step")
            requires = []
            for j, req in enumerate(spec.get("requires", ())):
                where = path + ("requires", j)
                self.known(where + ("step",), req["step"], ids, "step")
                when = self.expr(where + ("when",), req["when"], T_BOOL) if "when" in req else None
                requires.append(
                    Precedence(
                        req["step"],
                        ids.get(req["step"], ""),
                        self.rule(where + ("rule",), req["rule"]),
                        when,
                        bool(req.get("strict", False)),
                    )
                )
            rule = self.rule(path + ("rule",), spec["rule"]) if "rule" in spec else None
            when = self.expr(path + ("when",), spec["when"], T_BOOL) if "when" in spec else None
            out.append(
                Step(
                    spec["id"],
                    step_roles,
                    spec["event"],
                    _label(spec["name"]),
                    rule,
                    after,
                    tuple(requires),
                    tuple(groups),
                    when,
                    bool(spec.get("optional", False)),
                    bool(spec.get("repeats", False)),
                    spec.get("ends"),
                    instead,
                )
            )
        for i, step in enumerate(out):  # a terminal step ends the flow: nothing may follow it
            for later in out:
                if step.ends and step.id in later.after:
                    self.col.add(
                        ("steps", i, "ends"),
                        "spec_schema",
                        f"step '{step.id}' ends the flow, but step '{later.id}' follows it",
                    )
        return tuple(out)

    def approvals(self, roles: tuple[str, ...]) -> tuple[Approval, ...]:
        out = []
        for i, spec in enumerate(self.data.get("approvals", [])):
            path: Path_ = ("approvals", i)
            self.known(path + ("approver",), spec["approver"], roles, "role")
            when = self.expr(path + ("when",), spec["when"], T_BOOL) if "when" in spec else None
            note = _label(spec["note"]) if "note" in spec else None
            rule = self.rule(path + ("rule",), spec["rule"])
            out.append(Approval(rule, spec["approver"], when, note))
        return tuple(out)

    def amounts(self) -> tuple[Amount, ...]:
        out = []
        for i, spec in enumerate(self.data.get("amounts", [])):
            path: Path_ = ("amounts", i)
            formula = self.expr(path + ("formula",), spec["formula"], T_NUMBER)
            when = self.expr(path + ("when",), spec["when"], T_BOOL) if "when" in spec else None
            rule = self.rule(path + ("rule",), spec["rule"])
            if formula is not None:
                out.append(
                    Amount(
                        rule,
                        spec["name"],
                        _label(spec["label"]),
                        formula,
                        when,
                        _label(spec["explain"]) if "explain" in spec else None,
                    )
                )
        return tuple(out)

    def deadlines(self) -> tuple[Deadline, ...]:
        out = []
        seen: set[str] = set()
        for i, spec in enumerate(self.data.get("deadlines", [])):
            path: Path_ = ("deadlines", i)
            rule = self.rule(path + ("rule",), spec["rule"])
            ident = spec.get("id", rule.lower().replace("-", "_"))
            if ident in seen:
                self.col.add(
                    path,
                    "duplicate_deadline",
                    f"two deadlines are called '{ident}': give one an id",
                )
            seen.add(ident)
            lists = {}
            for key in ("start", "stop", "pause", "resume"):
                events = self.listed(spec.get(key, []))
                for j, event in enumerate(events):
                    where = path + (key,) if isinstance(spec.get(key), str) else path + (key, j)
                    self.known(where, event, self.events, "event")
                lists[key] = events
            if bool(lists["pause"]) != bool(lists["resume"]):
                self.col.add(path, "spec_schema", "pause and resume go together")
            duration = parse_duration(spec["within"])
            if duration is None:
                self.col.add(
                    path + ("within",),
                    "bad_duration",
                    f"cannot read '{spec['within']}': write e.g. '7 working days', "
                    "'24 hours', '1 month', 'end of month', 'same day', 'same day before 17:00'",
                )
                continue
            longest = MAX_DURATION.get(duration.kind)
            if longest is not None and duration.amount > longest:
                self.col.add(
                    path + ("within",),
                    "bad_duration",
                    f"'{spec['within']}' is longer than ten years "
                    f"(at most {longest} {duration.kind.replace('_', ' ')})",
                )
                continue
            if lists["pause"] and duration.kind in ("end_of_month", "same_day", "same_day_cutoff"):
                self.col.add(
                    path + ("pause",), "spec_schema", "a fixed-point deadline cannot pause"
                )
            across = spec.get("runs_across") or {}
            for j, step_id in enumerate(across.get("steps", ())):
                self.known(path + ("runs_across", "steps", j), step_id, self.step_ids, "step")
            roll = spec.get("roll", "forward")  # RULES.md: a rest-day last day moves on
            when = self.expr(path + ("when",), spec["when"], T_BOOL) if "when" in spec else None
            warn = float(spec.get("warn_at", "75%").rstrip("%")) / 100
            breach = spec.get("on_breach")
            on_breach = (
                Finding(
                    breach["code"],
                    breach.get("severity", "error"),
                    self.message(path + ("on_breach", "message"), breach["message"]),
                )
                if breach
                else None
            )
            out.append(
                Deadline(
                    rule,
                    ident,
                    _label(spec["name"])
                    if "name" in spec
                    else self.catalog.rules.get(rule, Label(rule, rule)),
                    lists["start"],
                    lists["stop"],
                    duration,
                    warn,
                    lists["pause"],
                    lists["resume"],
                    spec.get("on_resume", "continue") == "restart",
                    roll,
                    when,
                    on_breach,
                    Counting(
                        spec.get("receipt", "calendar_date"),
                        self.time(path + ("receipt_cutoff",), spec.get("receipt_cutoff")),
                        spec.get("ends", "midnight"),
                        bool(spec.get("count_start_day", False)),
                    ),
                    tuple(across.get("steps", ())),
                    _label(across["reason"]) if across else None,
                )
            )
        return tuple(out)
