#!/usr/bin/env python3
"""Seeded fuzzing of procrules: mutated cases through the API (and a sample through the CLI),
mutated specs through load, lint and check. Prints counts by outcome.

    python scripts/fuzz.py --cases 100000 --specs 10000 --seed 1
    python scripts/fuzz.py --cases 2000 --specs 200 --save /tmp/fuzz-failures

Outcomes:
  judged          a report came back (exit 0 or 1 in the CLI)
  refused         a ProcrulesError that says what is wrong with the input (exit 2 in the CLI)
  internal        an InternalError: a crash that the error boundary caught (exit 2, but a bug)
  escaped         any other exception out of the API, or a CLI run that printed a traceback or
                  exited other than 0, 1, 2: the failures this script hunts
  slow            over --timeout seconds of CPU (default 5) on one input
For specs, `refused` splits into refused at load and refused by lint; only specs that pass lint
are then checked, and any crash of such a check is a failure.

Every distinct failure (phase, exception type, innermost procrules frame) is printed once with
the input that caused it; --save DIR writes those inputs to files for regression tests.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
SHARED_FILES = ("catalog.yaml", "tariff.yaml", "rules.yaml", "calendar.yaml")

from procrules import Checker, InternalError, ProcrulesError  # noqa: E402
from procrules.calendar import load_calendar  # noqa: E402
from procrules.cli import main as cli_main  # noqa: E402
from procrules.spec.analysis import analyse, calendar_fit  # noqa: E402
from procrules.spec.compile import load_specs  # noqa: E402


class Slow(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Slow


# -- hostile values ------------------------------------------------------------------------


def hostile_value(rng: random.Random) -> Any:
    choices: list[Any] = [
        "NaN",
        "sNaN",
        "-Infinity",
        "9e999999",
        "-1e400",
        "1e30",
        "1e28",
        "１２３",
        "١٢٣",
        "-5",
        "0",
        "0.001",
        " 12 ",
        "1_000",
        -1,
        0,
        10 ** rng.choice([3, 15, 16, 30, 300, 5000]),
        -(10**20),
        1e308,
        -1e-320,
        0.1,
        True,
        False,
        None,
        {},
        [],
        [[]],
        "",
        " ",
        "\n",
        "\r\n",
        "\x00",
        "\u202e",
        "\ud800",
        "\udfff",
        "张三\n伪造的一行",
        "x" * rng.choice([200, 10_001, 100_000]),
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59",
        "2036-12-31T10:00:00",
        "2037-06-01",
        "1900-01-01",
        "2026-02-30T10:00:00",
        "2026-10-01T25:00:00",
        "2026-10-01T10:00:00+99:00",
        "2026-10-01T10:00:00Z",
        "２０２６-10-01",
        "water_type_change",
        "new_connection",
        "residential",
        "special",
        "unit",
        "individual",
        "id_card_copy",
        "身份证",
        "order_received",
        "application_received",
        {"event": "order_received", "at": "2026-09-29T10:00:00+08:00"},
        {"event": "x", "at": "0001-01-01"},
    ]
    value = copy.deepcopy(rng.choice(choices))
    if rng.random() < 0.05:
        depth = rng.choice([20, 33, 100, 300, 1000])
        for _ in range(depth):
            value = [value] if rng.random() < 0.5 else {"a": value}
    return value


def paths_of(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if len(prefix) > 20:  # do not walk into a deep value planted by an earlier mutation
        return out
    if isinstance(data, dict):
        for k, v in data.items():
            out += paths_of(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += paths_of(v, prefix + (i,))
    return out


def set_path(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def mutate_data(data: Any, rng: random.Random) -> Any:
    data = json.loads(json.dumps(data))  # a copy of a seed (seeds are shallow)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        paths = paths_of(data)
        path = rng.choice(paths)
        action = rng.random()
        if action < 0.6:
            data = set_path(data, path, hostile_value(rng))
        elif action < 0.7 and path:
            parent = data
            for part in path[:-1]:
                parent = parent[part]
            del parent[path[-1]]
        elif action < 0.8:
            target = data
            for part in path:
                target = target[part]
            if isinstance(target, dict):
                target[rng.choice(["extra", "case_id", "note", "at", "event", "进程"])] = (
                    hostile_value(rng)
                )
            elif isinstance(target, list) and len(target) < 600:
                # once only: a list extended 6000-fold twice shares its items and would take
                # gigabytes as text, which measures the script rather than procrules
                n = rng.choice([1, 2, 600, 6000])
                target.extend([target[0] if target else 1] * n)
        else:
            target = data
            for part in path:
                target = target[part]
            if isinstance(target, str):
                data = set_path(data, path, target * rng.choice([2, 50]) + hostile_value_text(rng))
    return data


EVENT_NAMES = sorted(
    {
        e
        for p in PROCESSES.glob("*.yaml")
        if p.stem not in {"catalog", "tariff", "rules", "calendar"}
        for e in (yaml.safe_load(p.read_text("utf-8")) or {}).get("events", {})
    }
)
DOCUMENT_NAMES = sorted(
    yaml.safe_load((PROCESSES / "catalog.yaml").read_text("utf-8"))["documents"]
)


def plausible(case: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A case still within the schema and the limits, changed the way real cases differ:
    other times (2010 to 2036, holidays, after hours), orders, documents, types and facts."""
    import datetime as dt

    case = json.loads(json.dumps(case))
    events = case.get("events")
    if not isinstance(events, list):
        events = case["events"] = []
    for _ in range(rng.randrange(4)):
        events.append({"event": rng.choice(EVENT_NAMES), "at": "2026-10-01T09:00:00"})
    for i, event in enumerate(events):
        if isinstance(event, str) and " " in event:  # the spec tests' shorthand "event time"
            name, at = event.split(" ", 1)
            events[i] = event = {"event": name, "at": at}
        if isinstance(event, dict) and rng.random() < 0.5:
            day = dt.datetime(2010, 1, 1) + dt.timedelta(
                days=rng.randrange(365 * 27), minutes=rng.randrange(24 * 60)
            )
            event["at"] = day.isoformat() + rng.choice(["", "+08:00", "Z", "-05:00"])
    rng.shuffle(events)
    if rng.random() < 0.5:
        case["documents"] = rng.sample(DOCUMENT_NAMES, rng.randrange(len(DOCUMENT_NAMES)))
    customer = case.get("customer")
    if not isinstance(customer, dict):
        customer = case["customer"] = {}
    customer["type"] = rng.choice(["individual", "unit"])
    customer["water_type"] = rng.choice(["residential", "administrative", "commercial", "special"])
    customer["arrears"] = rng.choice(["0", "0.00", "12.5", "999999999999.99", 0, 3])
    customer["arrears_months"] = rng.choice([0, 1, 2, 3, 120])
    facts = case.get("facts") if isinstance(case.get("facts"), dict) else {}
    for name, value in list(facts.items()):
        numeric = isinstance(value, int | float) or (
            isinstance(value, str) and value.replace(".", "", 1).isdigit()
        )
        if numeric and not isinstance(value, bool):
            case["facts"][name] = rng.choice([value, 0, "0", 1, "1e15", "0.01", 10**15])
    return case


def hostile_value_text(rng: random.Random) -> str:
    return rng.choice(["", "\n", "\ud800", "x", "０", "\u3000", "'", '"', "\\"])


def mutate_text(text: str, rng: random.Random) -> bytes:
    raw = text.encode("utf-8", "surrogatepass")
    for _ in range(rng.choice([1, 1, 2, 4])):
        kind = rng.random()
        pos = rng.randrange(len(raw) + 1)
        if kind < 0.25:
            raw = raw[:pos] + bytes([rng.randrange(256)]) + raw[pos + 1 :]
        elif kind < 0.4:
            raw = (
                raw[:pos]
                + rng.choice([b"\xff", b"\xc3", b"\r", b"\x00", b"\xed\xa0\x80"])
                + raw[pos:]
            )
        elif kind < 0.5:
            raw = raw[:pos]
        elif kind < 0.6:
            raw = raw.replace(b"{", b'{"process": "x", ', 1)
        elif kind < 0.7:
            raw = raw[:pos] + rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e999"]) + raw[pos:]
        elif kind < 0.8:
            n = rng.choice([40, 500, 2000])
            raw = raw.replace(b'"documents": [', b'"documents": ' + b"[" * n + b"]" * n + b", [", 1)
        elif kind < 0.9:
            raw = raw.replace(b": 0", b": " + b"9" * rng.choice([41, 4301, 20000]), 1)
        else:
            raw = raw[:pos] + raw[pos : pos + 40] * rng.choice([2, 10]) + raw[pos:]
    return raw


# -- seeds ------------------------------------------------------------------------------------


def deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base.get(k), v)
        return out
    return over


def seed_cases() -> list[tuple[dict[str, Any], str]]:
    examples = {p.stem: json.loads(p.read_text("utf-8")) for p in PROCESSES.glob("examples/*.json")}
    seeds = [(case, "2026-10-12T09:00:00+08:00") for case in examples.values()]
    for file in sorted(PROCESSES.glob("tests/*.yaml")):
        for test in yaml.safe_load(file.read_text("utf-8")) or []:
            base = examples.get(test.get("process"))
            if base is None:
                continue
            case = deep_merge(base, test.get("case") or {})
            case["process"] = test["process"]
            seeds.append((case, str(test.get("as_of") or "2026-10-12T09:00:00+08:00")))
    return seeds


# -- one input --------------------------------------------------------------------------------


class Tally:
    def __init__(self, timeout: float, save: Path | None) -> None:
        self.counts: Counter[str] = Counter()
        self.failures: dict[tuple[str, str, str], tuple[str, str]] = {}
        self.timeout = timeout
        self.save = save
        self.notes: list[tuple[str, str, str]] = []

    def note(self, phase: str, what: str, payload: str) -> None:
        """An input that was slow or raised the peak memory: kept (the first few) to replay."""
        self.notes.append((phase, what, payload))
        if self.save and len(self.notes) <= 20:
            self.save.mkdir(parents=True, exist_ok=True)
            name = f"note-{len(self.notes):03d}-{phase}-{what.split()[0]}"
            (self.save / f"{name}.txt").write_text(payload, "utf-8", errors="backslashreplace")

    def failure(self, phase: str, exc: BaseException, payload: str) -> None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "procrules" in f.filename]
        cause = exc.__cause__ if isinstance(exc, InternalError) and exc.__cause__ else exc
        if cause is not exc:
            frames = [
                f for f in traceback.extract_tb(cause.__traceback__) if "procrules" in f.filename
            ] or frames
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
        key = (phase, type(cause).__name__, where)
        if key not in self.failures:
            self.failures[key] = (str(cause)[:200], payload)
            if self.save:
                self.save.mkdir(parents=True, exist_ok=True)
                name = f"{len(self.failures):03d}-{phase}-{type(cause).__name__}"
                (self.save / f"{name}.txt").write_text(payload, "utf-8", errors="backslashreplace")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(tally: Tally, fn: Any) -> tuple[str, Any]:
    """Run one input under a budget of CPU seconds (a shared machine's load does not count),
    with twelve times as much wall time as a backstop."""
    signal.setitimer(signal.ITIMER_PROF, tally.timeout)
    signal.setitimer(signal.ITIMER_REAL, tally.timeout * 12)
    try:
        return "ok", fn()
    except Slow:
        return "slow", None
    except InternalError as exc:
        return "internal", exc
    except ProcrulesError as exc:
        return "refused", exc
    except Exception as exc:  # noqa: BLE001 - counting escapes is the point
        return "escaped", exc
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)


def fuzz_cases(n: int, rng: random.Random, tally: Tally, cli_every: int) -> None:
    from click.testing import CliRunner

    checker = Checker.load(PROCESSES)
    seeds = seed_cases()
    runner = CliRunner()
    tmp = Path(tempfile.mkdtemp(prefix="procrules-fuzz-"))
    try:
        for i in range(n):
            base, as_of = rng.choice(seeds)
            how = rng.random()
            payload: Any
            if how < 0.25:
                payload = plausible(base, rng)
                payload_text = json.dumps(payload, ensure_ascii=False)
                subject = payload if rng.random() < 0.5 else payload_text
                as_of = rng.choice([as_of, "2026-10-12T09:00", "2030-02-01T12:00", "2036-12-01"])
            elif how < 0.6:
                payload = mutate_data(base, rng)
                try:
                    text = json.dumps(payload, ensure_ascii=rng.random() < 0.5)
                except (ValueError, RecursionError, MemoryError):
                    # a list extended 6000-fold several times over shares its items: as text it
                    # would need gigabytes; the dict itself still goes to the checker below
                    text = "{}"
                payload_text = text
                subject: Any = text if rng.random() < 0.5 else payload
            else:
                raw = mutate_text(
                    json.dumps(base, ensure_ascii=False, indent=rng.choice([None, 1])), rng
                )
                payload_text = raw.decode("utf-8", "backslashreplace")
                subject = raw
            if rng.random() < 0.05:
                as_of = rng.choice(
                    ["0001-01-01T00:00", "9999-12-31T23:59", "2036-12-31T12:00", "2026-10-01"]
                )
            before = peak_mib()
            outcome, result = timed(tally, lambda s=subject, a=as_of: checker.check(s, as_of=a))
            if peak_mib() - before > 100:
                tally.note("case", f"memory +{peak_mib() - before:.0f} MiB", payload_text)
            if outcome == "slow":
                tally.note("case", "slow", payload_text)
            label = {"ok": "judged"}.get(outcome, outcome)
            tally.counts[f"cases/{label}"] += 1
            if outcome in ("escaped", "internal"):
                tally.failure("case", result, payload_text)
            if cli_every and i % cli_every == 0:
                file = tmp / "case.json"
                file.write_bytes(
                    subject
                    if isinstance(subject, bytes)
                    else payload_text.encode("utf-8", "surrogatepass")
                )
                res = runner.invoke(
                    cli_main, ["check", str(file), "--as-of", as_of, "--format", "json"]
                )
                text_out = (res.stdout or "") + (res.stderr or "")
                if (
                    res.exit_code not in (0, 1, 2)
                    or "Traceback" in text_out
                    or "internal_error" in text_out
                ):
                    tally.counts["cli/escaped"] += 1
                    exc = res.exception or RuntimeError(f"exit {res.exit_code}: {text_out[:200]}")
                    tally.failure("cli", exc, payload_text)
                else:
                    tally.counts[f"cli/exit {res.exit_code}"] += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- specs ------------------------------------------------------------------------------------

EXPRESSIONS = [
    "customer.arrears / customer.arrears_months > 100",
    "customer.arrears_months > 0 and customer.arrears / customer.arrears_months > 100",
    "1/0 > 0",
    "customer.arrears * 10000000000000000000000000000 > 0",
    "customer.arrears - customer.arrears > 0",
    "(customer.arrears + 1) / (customer.arrears + 1) > 0",
    "customer.arrears > 1e308",
    "customer.arrears > 99999999999999999999999999999999999999",
    "customer.arrears ** 2 > 0",
    "__import__('os')",
    "customer.__class__",
    "(lambda: 1)()",
    "customer.type == 'unit' " * 3,
    "not " * 60 + "true",
    "(" * 60 + "1" + ")" * 60 + " > 0",
    "min(customer.arrears, 1) / max(customer.arrears_months, 0) > 1",
    "price(customer.water_type) / price(customer.water_type) > 0",
]
DURATIONS = [
    "999999999 days",
    "99999 working days",
    "0 working days",
    "3650 days",
    "120 months",
    "121 months",
    "87840 hours",
    "20000 working hours",
    "same day before 25:00",
    "same day before 00:00",
    "end of month",
    "7 个工作日",
]
YAML_SNIPPETS = [
    "x: !!python/object/apply:os.system ['true']\n",
    "x: !foo bar\n",
    "x: !!binary aGVsbG8=\n",
    "base: &b {zh: a, en: b}\nx:\n  <<: *b\n",
    "a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
    "x: " + "[" * 200 + "]" * 200 + "\n",
    "x: " + "9" * 5000 + "\n",
    "x: 1e99999\n",
    "x: .nan\n",
]
CALENDARS = [
    "years:\n  9999: {rest_days: {}, makeup_working_days: []}\n",
    "years:\n  0: {rest_days: {}, makeup_working_days: []}\n",
    "years:\n  2027: {rest_days: {2027-02-30: x}, makeup_working_days: []}\n",
    "business_hours: []\n",
    'business_hours: [["17:00", "08:30"]]\n',
    'business_hours: [["13:30", "17:00"], ["08:30", "12:00"]]\n',
    'business_hours: [["08:30", "24:00"]]\n',
    "closures: [{date: 0001-01-01, name: x}]\n",
]


def mutate_spec(text: str, rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.15:
        lines = text.splitlines(keepends=True)
        pos = rng.randrange(len(lines) + 1)
        return "".join(lines[:pos]) + rng.choice(YAML_SNIPPETS) + "".join(lines[pos:])
    data = yaml.safe_load(text)
    if kind < 0.5:
        targets = [p for p in paths_of(data) if p and p[-1] in ("when", "formula", "required_when")]
        if targets:
            data = set_path(data, rng.choice(targets), rng.choice(EXPRESSIONS))
            if rng.random() < 0.3:
                data.setdefault("derive", {})
                data["derive"]["ratio"] = rng.choice(EXPRESSIONS[:7]).split(" >")[0]
    elif kind < 0.7:
        targets = [p for p in paths_of(data) if p and p[-1] == "within"]
        if targets:
            data = set_path(data, rng.choice(targets), rng.choice(DURATIONS))
        if rng.random() < 0.3:
            for d in data.get("deadlines", []):
                d["ends"] = "close"
    else:
        data = mutate_data(data, rng)
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except Exception:  # noqa: BLE001 - a value yaml cannot write: keep the original
        return text


def fuzz_specs(n: int, rng: random.Random, tally: Tally) -> None:
    files = sorted(p for p in PROCESSES.glob("*.yaml") if p.name not in SHARED_FILES)
    texts = {p.name: p.read_text("utf-8") for p in files}
    examples = {p.stem: json.loads(p.read_text("utf-8")) for p in PROCESSES.glob("examples/*.json")}
    calendar_text = (PROCESSES / "calendar.yaml").read_text("utf-8")
    work = Path(tempfile.mkdtemp(prefix="procrules-fuzz-specs-"))
    try:
        for _ in range(n):
            folder = work / "p"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            for name in SHARED_FILES:
                shutil.copyfile(PROCESSES / name, folder / name)
            name = rng.choice(list(texts))
            mutated = mutate_spec(texts[name], rng)
            (folder / name).write_text(mutated, "utf-8", errors="surrogatepass")
            payload = f"# {name}\n{mutated}"
            if rng.random() < 0.1:
                extra = rng.choice(CALENDARS)
                (folder / "calendar.yaml").write_text(calendar_text + "\n" + extra, "utf-8")
                payload += f"\n# calendar.yaml +\n{extra}"

            def lint(folder: Path = folder) -> list[Any]:
                specs = load_specs(folder)
                cal = load_calendar(specs.calendar_file)
                found = analyse(specs) + calendar_fit(specs, cal)
                return [p for p in found if p.severity == "error"]

            before = peak_mib()
            outcome, result = timed(tally, lint)
            if peak_mib() - before > 100:
                tally.note("lint", f"memory +{peak_mib() - before:.0f} MiB", payload)
            if outcome == "slow":
                tally.note("lint", "slow", payload)
            if outcome == "refused":
                tally.counts["specs/refused at load"] += 1
                continue
            if outcome != "ok":
                tally.counts[f"specs/{outcome} in lint"] += 1
                if outcome in ("escaped", "internal"):
                    tally.failure("lint", result, payload)
                continue
            if result:
                tally.counts["specs/refused by lint"] += 1
                continue
            outcome, checker = timed(tally, lambda f=folder: Checker.load(f))
            if outcome != "ok":
                tally.counts[f"specs/{outcome} at load after lint"] += 1
                if outcome in ("escaped", "internal", "refused"):
                    tally.failure("load-after-lint", checker, payload)
                continue
            stem = Path(name).stem
            cases = [examples[stem]] + [mutate_data(examples[stem], rng) for _ in range(2)]
            worst = "judged"
            for case in cases:
                as_of = rng.choice(["2026-10-12T09:00", "2030-01-01T09:00", "2026-01-05T09:00"])
                outcome, result = timed(
                    tally, lambda c=checker, k=case, a=as_of: c.check(k, as_of=a)
                )
                if outcome in ("escaped", "internal", "slow"):
                    worst = outcome
                    if outcome != "slow":
                        tally.failure(
                            "check-after-lint",
                            result,
                            payload + f"\n# case\n{json.dumps(case, ensure_ascii=False)}",
                        )
            tally.counts[f"specs/lint passed, checks {worst}"] += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--specs", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=5.0, help="CPU seconds per input")
    parser.add_argument(
        "--cli-every", type=int, default=200, help="every Nth case also via the CLI (0: never)"
    )
    parser.add_argument("--save", type=Path, default=None, help="write each distinct failure here")
    parser.add_argument("--memory", type=int, default=3072, help="address-space limit, MiB")
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_AS, (args.memory * 1024 * 1024, resource.RLIM_INFINITY))
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGPROF, _alarm)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    rng = random.Random(args.seed)
    tally = Tally(args.timeout, args.save)
    started = time.perf_counter()
    fuzz_cases(args.cases, rng, tally, args.cli_every)
    case_seconds = time.perf_counter() - started
    fuzz_specs(args.specs, random.Random(args.seed + 1), tally)  # its own stream: replayable
    total = time.perf_counter() - started
    print(
        f"seed {args.seed}: {args.cases} cases in {case_seconds:.1f} s, "
        f"{args.specs} spec mutations in {total - case_seconds:.1f} s"
    )
    for key in sorted(tally.counts):
        print(f"  {key:40} {tally.counts[key]:>8}")
    print(f"  {'peak RSS (MiB)':40} {peak_mib():>8.0f}")
    for phase, what, payload in tally.notes[:20]:
        shown = payload[:200].encode("utf-8", "backslashreplace").decode("utf-8")
        print(f"- note: {phase} {what}: " + shown.replace("\n", "\\n"))
    print(f"distinct failures: {len(tally.failures)}")
    for (phase, name, where), (message, payload) in sorted(tally.failures.items()):
        print(f"- {phase}: {name} at {where}: {message}")
        shown = payload[:300].encode("utf-8", "backslashreplace").decode("utf-8")
        print("    input: " + shown.replace("\n", "\\n"))
    return 1 if tally.failures or any("slow" in k for k in tally.counts) else 0


if __name__ == "__main__":
    raise SystemExit(main())
