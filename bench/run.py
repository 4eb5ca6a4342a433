"""Benchmarks for procrules: prints medians (and ratios) of the figures the issues set targets for.

    python bench/run.py [--quick] [--sla-cases N] [--only check-vs-json]

Targets (2-core machines): specs loaded and compiled < 150 ms; >= 5,000 case checks per second
per core; a cold `procrules check` < 400 ms wall; >= 200,000 due-date computations per second;
`procrules sla` over 100,000 JSON Lines cases < 60 s with memory flat in the number of cases.
These machines are noisy: read medians, and the ratios against a baseline measured alongside.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from procrules import Checker, load_calendar  # noqa: E402
from procrules.calendar import SHANGHAI  # noqa: E402
from procrules.sla import due_time  # noqa: E402
from procrules.spec.compile import load_specs, parse_duration  # noqa: E402

AS_OF = dt.datetime(2026, 10, 12, 9, tzinfo=SHANGHAI)


def median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cases() -> list[dict]:  # type: ignore[type-arg]
    mix = [
        json.loads(p.read_text("utf-8"))
        for p in sorted((ROOT / "processes/examples").glob("*.json"))
    ]
    shared = ROOT.parent / "shared" / "acceptance" / "cases"
    for p in sorted(shared.glob("*.case.json")) if shared.exists() else []:
        try:
            mix.append(json.loads(p.read_text("utf-8")))
        except ValueError:
            pass
    return mix


def bench_load(repeat: int) -> None:
    ms = median_ms(
        lambda: (load_specs(ROOT / "processes"), load_calendar(ROOT / "processes/calendar.yaml")),
        repeat,
    )
    print(f"spec load+compile, 7 flows + calendar: median {ms:.1f} ms (target < 150 ms)")


def bench_checks(repeat: int) -> None:
    checker = Checker.load(ROOT / "processes")
    mix = cases()
    engine = checker.engine
    from procrules.api import validate_case

    def one_round() -> None:
        for case in mix:
            engine.check(validate_case(case, "bench"), AS_OF, "bench")

    one_round()
    rounds = max(1, 2000 // len(mix))
    per_round = median_ms(lambda: [one_round() for _ in range(rounds)], repeat)
    rate = rounds * len(mix) / (per_round / 1000)
    json_text = [json.dumps(c, ensure_ascii=False) for c in mix]
    baseline = median_ms(lambda: [json.loads(t) for _ in range(rounds) for t in json_text], repeat)
    print(
        f"case checks (validate + judge, {len(mix)}-case mix incl. deadlines): median "
        f"{rate:,.0f} per second on one core, {1e6 / rate:.0f} us per check "
        f"(= {per_round / baseline:.1f}x json.loads of the same cases; target >= 5,000/s)"
    )


def bench_check_vs_json(repeat: int) -> None:
    """Issue 12's target: a full check (`Checker.check` of the parsed case: schema, rules, flow,
    clocks) of each shipped example against `json.loads` of the same bytes; CPU time, the two
    timed in alternate blocks of one run; the median per example of the per-block ratios, then
    the median over the seven (target <= 6x, none above 10x)."""
    checker = Checker.load(ROOT / "processes")
    examples = {
        p.stem: p.read_bytes() for p in sorted((ROOT / "processes/examples").glob("*.json"))
    }
    parsed = {name: json.loads(raw) for name, raw in examples.items()}
    for name in examples:  # warm: the memos of calendar arithmetic, the compiled specs
        checker.check(parsed[name], AS_OF)
    ratios: dict[str, list[float]] = {name: [] for name in examples}
    check_us: dict[str, list[float]] = {name: [] for name in examples}
    loads_us: dict[str, list[float]] = {name: [] for name in examples}
    cpu, block = time.process_time, 200
    for _ in range(repeat):
        for name, raw in examples.items():
            case, check, loads = parsed[name], checker.check, json.loads
            t0 = cpu()
            for _ in range(block):
                check(case, AS_OF)
            t1 = cpu()
            for _ in range(block):
                loads(raw)
            t2 = cpu()
            ratios[name].append((t1 - t0) / (t2 - t1))
            check_us[name].append((t1 - t0) / block * 1e6)
            loads_us[name].append((t2 - t1) / block * 1e6)
    print("full check of each shipped example vs json.loads of its bytes (CPU time, medians):")
    medians = {}
    for name in examples:
        medians[name] = statistics.median(ratios[name])
        print(
            f"  {name:<26} {statistics.median(check_us[name]):6.1f} us vs "
            f"{statistics.median(loads_us[name]):4.1f} us = {medians[name]:4.1f}x"
        )
    print(
        f"  median over the seven {statistics.median(medians.values()):.1f}x, "
        f"highest {max(medians.values()):.1f}x (target <= 6x, none above 10x)"
    )


def bench_expressions(repeat: int) -> None:
    """Our compiled expressions against a hand-written Python lambda (the floor)."""
    from decimal import Decimal

    from procrules.expressions import T_NUMBER, Environment, Type, compile_expression

    env = Environment(
        {
            "customer.type": Type("string", ("individual", "unit")),
            "facts.project_cost": T_NUMBER,
            "facts.volume": T_NUMBER,
        }
    )
    cond = compile_expression('customer.type == "unit" and facts.project_cost > 100000', env)
    formula = compile_expression("3 * facts.volume * 4.1", env)
    ctx = {
        "customer.type": "unit",
        "facts.project_cost": Decimal(150000),
        "facts.volume": Decimal("40"),
    }
    price = Decimal("4.1")

    def cond_lambda(c: dict) -> bool:  # type: ignore[type-arg]
        return c["customer.type"] == "unit" and c["facts.project_cost"] > 100000

    def formula_lambda(c: dict) -> Decimal:  # type: ignore[type-arg]
        return 3 * c["facts.volume"] * price

    n = 20_000
    for name, ours, floor in (
        ("condition", cond, cond_lambda),
        ("formula", formula, formula_lambda),
    ):
        ours_ms = median_ms(lambda f=ours: [f(ctx) for _ in range(n)], repeat)
        floor_ms = median_ms(lambda f=floor: [f(ctx) for _ in range(n)], repeat)
        print(
            f"expression {name}: median {ours_ms * 1000 / n:.2f} us per evaluation "
            f"({ours_ms / floor_ms:.1f}x a hand-written lambda on Decimals)"
        )


def bench_due(repeat: int) -> None:
    cal = load_calendar()
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(0, 1000)]
    n = len(days)
    ms = median_ms(lambda: [cal.nth_working_day_after(d, 7) for d in days], repeat)
    print(f"nth working day after (bisect): median {n / (ms / 1000):,.0f} per second")
    durations = [
        parse_duration(x) for x in ("7 working days", "1 month", "24 hours", "end of month")
    ]
    starts = [dt.datetime.combine(d, dt.time(10), SHANGHAI) for d in days]
    ms = median_ms(lambda: [due_time(du, s, cal) for s in starts for du in durations], repeat)  # type: ignore[arg-type]
    print(
        f"due_time (working days, months, hours, month end): median "
        f"{4 * n / (ms / 1000):,.0f} per second (target >= 200,000)"
    )


def bench_cold(repeat: int) -> None:
    exe = shutil.which("procrules")
    if not exe:
        print("cold check: skipped (no procrules on PATH; pip install . first)")
        return
    example = ROOT / "processes/examples/water_type_change.json"
    argv = [exe, "check", str(example), "--as-of", "2026-10-12T09:00:00+08:00"]
    subprocess.run(argv, capture_output=True)
    ms = median_ms(lambda: subprocess.run(argv, capture_output=True), repeat)
    base = median_ms(
        lambda: subprocess.run([sys.executable, "-c", "pass"], capture_output=True), repeat
    )
    print(
        f"cold `procrules check` of one case: median {ms:.0f} ms wall "
        f"({ms / base:.1f}x `python -c pass` at {base:.0f} ms; target < 400 ms)"
    )


def bench_sla(count: int) -> None:
    exe = shutil.which("procrules")
    if not exe:
        print("sla: skipped (no procrules on PATH)")
        return
    mix = cases()
    with tempfile.TemporaryDirectory() as tmp:
        for size in (count // 10, count):
            path = Path(tmp) / f"cases-{size}.jsonl"
            with path.open("w", encoding="utf-8") as out:
                for i in range(size):
                    case = dict(mix[i % len(mix)], case_id=f"C-{i}")
                    out.write(json.dumps(case, ensure_ascii=False) + "\n")
            start = time.perf_counter()
            proc = subprocess.Popen(
                [
                    exe,
                    "sla",
                    str(path),
                    "--format",
                    "jsonl",
                    "--as-of",
                    "2026-10-12T09:00:00+08:00",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            print(
                f"`procrules sla` over {size:,} JSON Lines cases: {wall:.1f} s wall, "
                f"peak RSS {usage.ru_maxrss / 1024:.0f} MiB, "
                f"exit {os.waitstatus_to_exitcode(status)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, 10,000 sla cases")
    parser.add_argument("--sla-cases", type=int, default=None)
    parser.add_argument(
        "--only", choices=["check-vs-json"], help="run one benchmark (check-vs-json: issue 12)"
    )
    args = parser.parse_args()
    repeat = 5 if args.quick else 15
    if args.only == "check-vs-json":
        bench_check_vs_json(repeat)
        return
    bench_load(repeat)
    bench_checks(repeat)
    bench_check_vs_json(repeat)
    bench_expressions(repeat)
    bench_due(repeat)
    bench_cold(repeat)
    bench_sla(args.sla_cases or (10_000 if args.quick else 100_000))


if __name__ == "__main__":
    main()
