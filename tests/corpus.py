"""A seeded corpus of cases for proving that a faster check says exactly what it said before.

Every shipped example, every acceptance case (when /work/shared or ../shared is there), every
spec test, and a few hundred variants per flow built from them: events dropped, shifted across
国庆节, the Spring Festival, weekends and into a provisional year, reordered, repeated, written
with other UTC offsets; facts, customer fields and documents varied; as_of varied. Each case's
output (the JSON report in both languages, the text report and `explain` in both languages, or
the error when it cannot be judged) is hashed; tests/corpus/reference.json holds the hashes.
Regenerate them on purpose with `python scripts/corpus_reference.py --write`.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).resolve().parent / "corpus" / "reference.json"
VARIANTS_PER_FLOW = 300
COUNTING_VARIANTS_PER_FLOW = 150  # on the counting variant of the specs (variant_policy)
SEED = 20261001

# Instants a record may be moved to: around 国庆节 (2025 and 2026, with their make-up days), the
# Spring Festival, weekends, month ends, a year end into the provisional 2027, the calendar's end.
ANCHORS = (
    "2025-09-26T10:00:00",
    "2025-09-28T16:40:00",
    "2025-09-30T17:45:00",
    "2026-02-13T11:00:00",
    "2026-02-28T09:30:00",
    "2026-04-30T15:00:00",
    "2026-06-30T23:30:00",
    "2026-09-25T08:15:00",
    "2026-09-29T10:00:00",
    "2026-09-30T18:05:00",
    "2026-10-03T10:00:00",
    "2026-10-08T08:59:00",
    "2026-10-10T14:00:00",
    "2026-11-28T12:00:00",
    "2026-12-24T10:00:00",
    "2026-12-31T16:00:00",
    "2036-12-20T10:00:00",  # near the calendar's last day: a due date past it cannot be judged
    "2036-12-30T16:00:00",
)
AS_OF_STEPS_HOURS = (-3, 0, 1, 5, 20, 26, 49, 72, 120, 170, 240, 400, 700, 1500)
OFFSETS = ("+08:00", "+08:00", "+08:00", "Z", "+00:00", "+09:00", "-05:00", "")


@dataclass(frozen=True)
class Item:
    key: str
    case: Any  # a dict, or whatever the acceptance folder holds
    as_of: str
    policy_date: str | None = None


def shared_cases() -> Path | None:
    for base in (ROOT.parent / "shared", Path("/work/shared")):
        folder = base / "acceptance" / "cases"
        if folder.is_dir():
            return folder
    return None


def _parse(text: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _write(t: dt.datetime, offset: str) -> str:
    if offset == "":
        local = t.astimezone(dt.timezone(dt.timedelta(hours=8)))
        return local.replace(tzinfo=None).isoformat(timespec="seconds")
    if offset == "Z":
        return t.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    return t.astimezone(zone).isoformat(timespec="seconds")


def base_cases(checker: Any) -> dict[str, list[tuple[str, dict[str, Any], str]]]:
    """Per flow: (key, case, as_of) of its example and its spec tests."""
    from procrules.spectest import build_case, load_tests

    out: dict[str, list[tuple[str, dict[str, Any], str]]] = {}
    for path in sorted((ROOT / "processes" / "examples").glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        out.setdefault(case["process"], []).append(
            (f"example/{path.stem}", case, "2026-10-12T09:00:00+08:00")
        )
    for test in load_tests(ROOT / "processes" / "tests"):
        case = build_case(test.process, test.case, test.note)
        key = f"spec/{Path(test.file).name}:{test.line}"
        out.setdefault(test.process, []).append((key, case, str(test.as_of)))
    return out


# What the shipped specs never use, put on their deadlines in turn by variant_policy: pauses
# (continuing and restarting), working hours, receipt on the next working day with a cut-off,
# the close of business hours, the day of receipt counted.
COUNTING_VARIANTS: tuple[dict[str, Any], ...] = (
    {"pause": "PAUSE", "resume": "RESUME"},
    {"within": "16 working hours"},
    {"receipt": "next_working_day", "receipt_cutoff": "17:00", "ends": "close"},
    {"pause": "PAUSE", "resume": "RESUME", "on_resume": "restart", "within": "10 days"},
    {"count_start_day": True, "receipt": "next_working_day"},
    {"within": "36 hours", "pause": "PAUSE", "resume": "RESUME"},
)
FIXED_POINT = ("end_of_month", "same_day", "same_day_cutoff")


def variant_policy(folder: Path) -> Path:
    """A copy of the shipped specs whose deadlines use every counting rule in turn; the pause
    and resume events are steps of the same flow (the corpus moves and repeats them)."""
    import shutil

    import yaml

    from procrules.spec.compile import parse_duration

    target = folder / "processes"
    shutil.copytree(ROOT / "processes", target)
    for path in sorted(target.glob("*.yaml")):
        data = yaml.safe_load(path.read_text("utf-8"))
        if not isinstance(data, dict) or not data.get("deadlines") or not data.get("steps"):
            continue
        events = [s["event"] for s in data["steps"] if "event" in s]
        for i, deadline in enumerate(data["deadlines"]):
            extra = dict(COUNTING_VARIANTS[i % len(COUNTING_VARIANTS)])
            if "pause" in extra:
                duration = parse_duration(str(extra.get("within", deadline["within"])))
                if duration is None or duration.kind in FIXED_POINT:
                    continue  # a fixed-point deadline cannot pause
                starts = (
                    deadline["start"]
                    if isinstance(deadline["start"], list)
                    else [deadline["start"]]
                )
                k = events.index(starts[0]) if starts[0] in events else i
                stops = set(
                    deadline["stop"] if isinstance(deadline["stop"], list) else [deadline["stop"]]
                )
                later = [e for e in events[k + 1 :] + events[:k] if e not in stops] or events
                extra["pause"] = [later[0]]
                extra["resume"] = [later[1 % len(later)]]
            deadline.update(extra)
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


def items(checker: Any, variant: Any = None) -> Iterator[Item]:
    """Every case of the corpus, in a fixed order; with `variant` (a checker of
    variant_policy), cases judged by it too (keys `counting/...`)."""
    bases = base_cases(checker)
    for flow in sorted(bases):
        for key, case, as_of in bases[flow]:
            yield Item(key, case, as_of)
    folder = shared_cases()
    if folder is not None:
        for path in sorted(folder.glob("*.case.json")):
            expect = json.loads(path.with_name(path.name.replace(".case", ".expect")).read_text())
            args = list(expect.get("args", []))
            as_of = args[args.index("--as-of") + 1] if "--as-of" in args else "2026-10-12T09:00"
            policy = args[args.index("--policy-date") + 1] if "--policy-date" in args else None
            try:
                case: Any = json.loads(path.read_text("utf-8"))
            except ValueError:
                continue  # malformed on purpose: the case never reaches the check
            yield Item(f"acceptance/{path.name}", case, as_of, policy)
    for flow in sorted(bases):
        rng = random.Random(f"{SEED}/{flow}")
        process = checker.specs.versions[flow][-1]
        for i in range(VARIANTS_PER_FLOW):
            _, base, _ = rng.choice(bases[flow])
            case, as_of = vary(rng, copy.deepcopy(base), process, checker.specs)
            yield Item(f"{flow}/{i:03d}", case, as_of)
    if variant is None:
        return
    for flow in sorted(bases):
        rng = random.Random(f"{SEED}/counting/{flow}")
        process = variant.specs.versions[flow][-1]
        for i in range(COUNTING_VARIANTS_PER_FLOW):
            _, base, _ = rng.choice(bases[flow])
            case, as_of = vary(rng, copy.deepcopy(base), process, variant.specs)
            yield Item(f"counting/{flow}/{i:03d}", case, as_of)


def vary(rng: random.Random, case: dict[str, Any], process: Any, specs: Any) -> tuple[Any, str]:
    events = [(e["event"], _parse(e["at"])) for e in case.get("events") or []]
    step_events = [s.event for s in process.steps]
    pausing = [d for d in process.deadlines if d.pause]
    for _ in range(rng.randint(1, 4)):
        what = rng.randrange(13 if pausing else 12)
        if what == 0 and events:  # drop an event
            events.pop(rng.randrange(len(events)))
        elif what == 1 and events:  # move the whole record to an anchor
            anchor = _parse(rng.choice(ANCHORS))
            first = min(t for _, t in events)
            events = [(e, t - first + anchor) for e, t in events]
        elif what == 2 and events:  # shift one event
            j = rng.randrange(len(events))
            delta = dt.timedelta(hours=rng.choice((1, 3, 9, 20, 30, 50, 75, 150, 250)))
            sign = rng.choice((-1, 1))
            events[j] = (events[j][0], events[j][1] + sign * delta)
        elif what == 3 and len(events) > 1:  # reorder: swap two times
            a, b = rng.sample(range(len(events)), 2)
            events[a], events[b] = (events[a][0], events[b][1]), (events[b][0], events[a][1])
        elif what == 4 and events:  # repeat a step
            e, t = rng.choice(events)
            events.append((e, t + dt.timedelta(hours=rng.choice((2, 26, 100)))))
        elif what == 5:  # a step of the flow, at some time near the record
            t = max((t for _, t in events), default=_parse(rng.choice(ANCHORS)))
            event = rng.choice(step_events)
            if rng.random() < 0.15:
                event = process.events[event].zh  # by its Chinese name
            elif rng.random() < 0.05:
                event = "site_verifed"  # a typo: unknown_event
            events.append((event, t + dt.timedelta(hours=rng.choice((-30, 1, 4, 40, 200)))))
        elif what in (6, 7):
            vary_facts(rng, case, process, specs)
        elif what == 8:
            vary_customer(rng, case, specs)
        elif what == 9:
            vary_documents(rng, case, specs)
        elif what == 10 and events:  # time of day: before hours, after hours, the last minute
            j = rng.randrange(len(events))
            hm = rng.choice(((7, 0), (8, 30), (11, 59), (17, 0), (17, 45), (23, 59), (0, 0)))
            local = events[j][1].astimezone(dt.timezone(dt.timedelta(hours=8)))
            events[j] = (events[j][0], local.replace(hour=hm[0], minute=hm[1]))
        elif what == 11:
            rng.shuffle(events)
        elif what == 12:  # a pause, and perhaps its resume, a while after the clock starts
            d = rng.choice(pausing)
            t = min((t for e, t in events if e in d.start), default=_parse(rng.choice(ANCHORS)))
            paused = t + dt.timedelta(hours=rng.choice((2, 20, 30, 60, 200)))
            events.append((rng.choice(d.pause), paused))
            if rng.random() < 0.7:
                resumed = paused + dt.timedelta(hours=rng.choice((1, 5, 26, 50, 170)))
                events.append((rng.choice(d.resume), resumed))
    offset = rng.choice(OFFSETS)
    case["events"] = [{"event": e, "at": _write(t, offset)} for e, t in events]
    if rng.random() < 0.1:
        case["received_at"] = _write(
            min((t for _, t in events), default=_parse(ANCHORS[8])), "+08:00"
        )
    last = max((t for _, t in events), default=_parse(rng.choice(ANCHORS)))
    if rng.random() < 0.15:
        as_of_t = _parse(rng.choice(ANCHORS))
    else:
        as_of_t = last + dt.timedelta(hours=rng.choice(AS_OF_STEPS_HOURS))
    as_of_t += dt.timedelta(minutes=rng.choice((0, 0, 7, 30)))
    return case, _write(as_of_t, rng.choice(("+08:00", "+08:00", "Z", "")))


def vary_facts(rng: random.Random, case: dict[str, Any], process: Any, specs: Any) -> None:
    facts = case.setdefault("facts", {})
    if not process.facts or rng.random() < 0.1:
        facts["no_such_fact"] = 1
        return
    fact = rng.choice(list(process.facts.values()))
    if rng.random() < 0.2:
        facts.pop(fact.name, None)
        return
    kind = fact.type
    if kind in ("number", "money"):
        value: Any = rng.choice((0, 1, 3, 12.5, "80.00", 5000, 100000, 100001, 250000.5))
    elif kind == "integer":
        value = rng.choice((0, 1, 2, 3, 6, 12, 40))
    elif kind == "bool":
        value = rng.choice((True, False))
    elif kind == "water_type":
        value = rng.choice([*specs.tariff.prices, *specs.tariff.water_type_by_name])
    elif fact.values:
        value = rng.choice(fact.values)
    else:
        value = rng.choice(("A", "甲", ""))
    facts[fact.name] = None if rng.random() < 0.05 else value


def vary_customer(rng: random.Random, case: dict[str, Any], specs: Any) -> None:
    customer = case.setdefault("customer", {})
    what = rng.randrange(4)
    if what == 0:
        customer["type"] = rng.choice(list(specs.catalog.customer_types))
    elif what == 1:
        customer["arrears"] = rng.choice(("0.00", "12.50", 0, 300, "0.01"))
    elif what == 2:
        customer["arrears_months"] = rng.choice((0, 1, 2, 3, 7))
    else:
        water_types = [*specs.tariff.prices, *specs.tariff.water_type_by_name]
        customer["water_type"] = rng.choice(water_types)


def vary_documents(rng: random.Random, case: dict[str, Any], specs: Any) -> None:
    documents = case.setdefault("documents", [])
    if documents and rng.random() < 0.4:
        documents.pop(rng.randrange(len(documents)))
    elif rng.random() < 0.1:
        documents.append("no_such_document")
    elif rng.random() < 0.2:
        documents.append(rng.choice(list(specs.catalog.document_by_name)))
    else:
        documents.append(rng.choice(list(specs.catalog.documents)))


def output(checker: Any, item: Item) -> str:
    """Everything a person or a program is shown for one case."""
    from procrules.api import resolve_as_of, validate_case
    from procrules.cli import parse_policy_date
    from procrules.errors import ProcrulesError
    from procrules.explain import explain
    from procrules.report import render_text, report_to_dict, to_json

    parts = []
    try:
        policy = parse_policy_date(item.policy_date)
        judgement = checker.engine.judge(
            validate_case(item.case, item.key), resolve_as_of(item.as_of), item.key, policy
        )
        report = judgement.run()
    except ProcrulesError as exc:
        return "cannot judge\n" + exc.render("en") + "\n" + exc.render("zh")
    parts.append(f"ok={report.ok} exit={report.exit_code}")
    parts.append(f"failed={[report.failed(on) for on in ('application', 'sla', 'any')]}")
    for lang in ("en", "zh"):
        parts.append(to_json(report_to_dict(report, lang)))
        parts.append(render_text(report, lang))
        parts.append(explain(judgement, report, lang))
    # the same wherever the specs are checked out, and whatever else the folder holds (a spec
    # test, alerts.yaml): the revision is pinned by the policy tests, the reports here
    text = "\n".join(parts)
    if report.policy_revision:
        text = text.replace(report.policy_revision, "<revision>")
    return text.replace(report.policy_folder, "<policy>") if report.policy_folder else text


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def case_digest(item: Item) -> str:
    return digest(json.dumps([item.case, item.as_of, item.policy_date], ensure_ascii=False))


def fingerprints(checker: Any, variant: Any = None) -> dict[str, list[str]]:
    """key -> [digest of the input, digest of the output]."""
    return {
        item.key: [
            case_digest(item),
            digest(output(variant if item.key.startswith("counting/") else checker, item)),
        ]
        for item in items(checker, variant)
    }
