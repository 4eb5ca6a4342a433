"""Benchmarks for procrules: every figure that issue 12 sets a target for, as a ratio to a baseline
measured in the same run (interleaved with it, medians, CPU time where the target says so).

    python bench/run.py [--quick] [--cases N] [--million] [--no-dask] [--only checks|sla]

Targets (issue 12, on a 2-core machine):
  - a check of each shipped example <= 6x json.loads of the same bytes (median over the seven),
    none above 10x;
  - a cold `procrules check` of the README example <= 7x `python -c pass` in CPU time, also for
    a case whose deadlines fall in a provisional year;
  - `procrules sla --jobs 2` over 1,000,000 JSON Lines cases < 90 s wall, peak memory < 150 MiB;
    --jobs 1 -> 2 at least 1.7x on an idle machine (the load average is printed beside it);
  - Dask LocalCluster with 2 workers within 1.5x of `--jobs 2`.
These machines are noisy (their speed flips by ~2x): read the ratios, not the absolute figures.
By default the sla and Dask runs use 100,000 cases so that the script ends in a few minutes;
--million runs the target's million (`--million --only sla`: those alone, about five minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from procrules import Checker, load_calendar  # noqa: E402
from procrules.api import validate_case  # noqa: E402
from procrules.calendar import SHANGHAI  # noqa: E402
from procrules.sla import due_time  # noqa: E402
from procrules.spec.compile import load_specs, parse_duration  # noqa: E402

AS_OF = dt.datetime(2026, 10, 12, 9, tzinfo=SHANGHAI)
AS_OF_TEXT = "2026-10-12T09:00:00+08:00"
EXAMPLES = sorted((ROOT / "processes" / "examples").glob("*.json"))


def cpu_block(fn: Callable[[], Any], number: int) -> float:
    """CPU seconds of `number` calls of fn, per call."""
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


def paired(
    ours: Callable[[], Any], base: Callable[[], Any], number: int, repeat: int
) -> tuple[float, float, float]:
    """Interleaved blocks of ours and the baseline; (median ours, median base, median ratio)."""
    a, b, r = [], [], []
    for _ in range(repeat):
        x = cpu_block(ours, number)
        y = cpu_block(base, number)
        a.append(x)
        b.append(y)
        r.append(x / y)
    return statistics.median(a), statistics.median(b), statistics.median(r)


def child_cpu(argv: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of one run of a command and everything it waited for."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or os.environ
    )
    _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def load() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "load average unknown"


def install_kind() -> str:
    """An editable install adds its import hook to every interpreter's start, `python -c pass`
    included (about 10 ms here): the cold-start ratio is lower there than in a plain install."""
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    editable = any(site.glob("__editable__*procrules*"))
    return "editable install" if editable else "plain install"


# -- in-process figures ------------------------------------------------------------------------


def bench_checks(repeat: int) -> None:
    """From JSON text to a report (json.loads, then `validate_case`'s full schema check, then the
    engine) against json.loads of the same bytes: what a caller holding text pays. For
    reference: the target is the next figure, a check of the parsed case."""
    checker = Checker.load(ROOT / "processes")
    engine = checker.engine
    ratios = []
    print(
        "JSON text to report (json.loads included) of each shipped example vs json.loads of "
        "the same bytes (CPU, interleaved; for reference):"
    )
    for path in EXAMPLES:
        text = path.read_text("utf-8")

        def ours(text: str = text) -> None:
            engine.check(validate_case(json.loads(text), "bench"), AS_OF, "bench")

        def base(text: str = text) -> None:
            json.loads(text)

        ours()
        a, _, ratio = paired(ours, base, 200, repeat)
        ratios.append(ratio)
        print(f"  {path.stem:<26} {a * 1e6:7.0f} us  {ratio:5.1f}x json.loads")
    print(
        f"  median over the seven: {statistics.median(ratios):.1f}x; "
        f"highest {max(ratios):.1f}x (no target: it includes the parse it is compared with)"
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


def bench_load(repeat: int) -> None:
    folder = ROOT / "processes"
    ms = statistics.median(
        cpu_block(lambda: (load_specs(folder), load_calendar(folder / "calendar.yaml")), 1)
        for _ in range(repeat)
    )
    print(
        f"specs loaded and compiled (7 flows + calendar, parse cache warm): {ms * 1000:.1f} ms CPU"
    )


def bench_expressions(repeat: int) -> None:
    from decimal import Decimal

    from procrules.expressions import T_NUMBER, Environment, Type, compile_expression

    env = Environment(
        {"customer.type": Type("string", ("individual", "unit")), "facts.project_cost": T_NUMBER}
    )
    cond = compile_expression('customer.type == "unit" and facts.project_cost > 100000', env)
    ctx = {"customer.type": "unit", "facts.project_cost": Decimal(150000)}

    def floor(c: dict[str, Any]) -> bool:
        return c["customer.type"] == "unit" and c["facts.project_cost"] > 100000

    a, _, ratio = paired(lambda: cond(ctx), lambda: floor(ctx), 20_000, repeat)
    print(f"a condition: {a * 1e6:.2f} us ({ratio:.1f}x a hand-written lambda)")


def bench_due(repeat: int) -> None:
    cal = load_calendar()
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(0, 1000)]
    durations = [
        parse_duration(x) for x in ("7 working days", "1 month", "24 hours", "end of month")
    ]
    starts = [dt.datetime.combine(d, dt.time(10), SHANGHAI) for d in days]
    per = statistics.median(
        cpu_block(lambda: [due_time(du, s, cal) for s in starts for du in durations], 1)  # type: ignore[arg-type]
        for _ in range(repeat)
    )
    print(f"due_time (working days, months, hours, month end): {4 * len(days) / per:,.0f} per s")


# -- cold start ----------------------------------------------------------------------------------


def provisional_case(tmp: Path) -> Path:
    """The README example one year later: its deadlines fall in 2027, a provisional year."""
    case = json.loads((ROOT / "processes/examples/water_type_change.json").read_text("utf-8"))
    for event in case["events"]:
        event["at"] = event["at"].replace("2026-", "2027-", 1)
    path = tmp / "provisional.json"
    path.write_text(json.dumps(case, ensure_ascii=False), "utf-8")
    return path


def bench_cold(repeat: int, tmp: Path) -> None:
    exe = shutil.which("procrules")
    if not exe:
        print("cold check: skipped (no procrules on PATH; pip install . first)")
        return
    readme = ROOT / "processes/examples/water_type_change.json"
    runs = {
        "README example": [exe, "check", str(readme), "--as-of", "2026-10-09T09:00:00+08:00"],
        "provisional year": [
            exe,
            "check",
            str(provisional_case(tmp)),
            "--as-of",
            "2027-10-12T09:00:00+08:00",
        ],
    }
    base = [sys.executable, "-c", "pass"]
    cold_env = dict(os.environ)
    print(
        f"cold `procrules check` vs `python -c pass`, CPU time (interleaved medians; "
        f"{install_kind()}):"
    )
    for name, argv in runs.items():
        child_cpu(argv)  # fills the parse cache
        ratios, ours, floor = [], [], []
        for _ in range(repeat):
            a = child_cpu(argv, cold_env)
            b = child_cpu(base)
            ours.append(a)
            floor.append(b)
            ratios.append(a / b)
        print(
            f"  {name:<17} {statistics.median(ours) * 1000:4.0f} ms vs "
            f"{statistics.median(floor) * 1000:3.0f} ms: {statistics.median(ratios):4.1f}x "
            "(target <= 7x)"
        )
    argv = runs["README example"]
    ratios = []
    for _ in range(max(3, repeat // 3)):
        empty = dict(os.environ, PROCRULES_CACHE=tempfile.mkdtemp(dir=tmp))
        ratios.append(child_cpu(argv, empty) / child_cpu(base))
    print(
        f"  README example, parse cache empty (first run after an edit): "
        f"{statistics.median(ratios):4.1f}x"
    )
    if install_kind() == "editable install":
        print(
            "  (editable: `python -c pass` runs the editable import hook too; a plain install "
            "(`pip install .` in a fresh venv) reads higher, see the README)"
        )


# -- many cases ----------------------------------------------------------------------------------


def write_cases(path: Path, count: int) -> None:
    mix = [json.loads(p.read_text("utf-8")) for p in EXAMPLES]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps(dict(mix[i % len(mix)], case_id=f"C-{i}"), ensure_ascii=False))
            out.write("\n")


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total / 1024


class PeakMemory:
    """The peak resident memory of a process tree, sampled every 50 ms while in the block."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, tree_rss_mib(self.pid))
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


# `procrules sla` as its console script runs it, telling on exit its own CPU (all threads: the
# reading, the pool's feeder and result threads, the writing) apart from its workers'.
SLA_RUNNER = """
import os, resource, sys
from procrules.cli import main
try:
    main(sys.argv[1:], prog_name="procrules")
finally:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.environ["BENCH_RUSAGE"], "w") as out:
        out.write(f"{me.ru_utime + me.ru_stime} {kids.ru_utime + kids.ru_stime}")
"""


class SlaRun(NamedTuple):
    wall: float  # seconds
    cpu: float  # seconds, the parent and its workers
    parent_cpu: float  # seconds, the parent alone (with its start-up)
    peak: float  # MiB, the whole process tree


def run_sla(path: Path, jobs: int, tmp: Path) -> SlaRun:
    """One `procrules sla --format jsonl` to /dev/null: wall, CPU, the parent's CPU, peak memory."""
    args = ["sla", str(path), "--format", "jsonl", "--as-of", AS_OF_TEXT, "--jobs", str(jobs)]
    usage = tmp / "rusage"
    paths = [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, BENCH_RUSAGE=str(usage), PYTHONPATH=os.pathsep.join(paths))
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLA_RUNNER, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    with PeakMemory(proc.pid) as memory:
        proc.wait()
    wall = time.perf_counter() - start
    parent, children = (float(x) for x in usage.read_text().split())
    return SlaRun(wall, parent + children, parent, memory.peak)


def startup_cpu(tmp: Path) -> float:
    """The parent's CPU for a run of three cases (imports, the policy, the pool): what a run costs
    it before its first case."""
    path = tmp / "three.jsonl"
    write_cases(path, 3)
    return statistics.median(run_sla(path, 2, tmp).parent_cpu for _ in range(3))


def bench_sla(count: int, tmp: Path, rounds: int) -> float | None:
    path = tmp / f"cases-{count}.jsonl"
    write_cases(path, count)
    fixed = startup_cpu(tmp)
    print(f"`procrules sla --format jsonl` over {count:,} JSON Lines cases ({load()} before):")
    runs: dict[int, list[SlaRun]] = {1: [], 2: []}
    scaling = []
    for _ in range(rounds):  # interleaved: 1, 2, 1, 2, ...
        for jobs in (1, 2):
            run = run_sla(path, jobs, tmp)
            runs[jobs].append(run)
            print(
                f"  --jobs {jobs}: {run.wall:6.1f} s wall, {run.cpu:6.1f} s CPU, "
                f"{count / run.wall:8,.0f} cases/s, peak {run.peak:5.0f} MiB (all processes)"
            )
        scaling.append(runs[1][-1].wall / runs[2][-1].wall)
    two = runs[2]
    two_wall = statistics.median(r.wall for r in two)
    parent_us = statistics.median(max(r.parent_cpu - fixed, 0) for r in two) / count * 1e6
    worker_us = statistics.median(r.cpu - r.parent_cpu for r in two) / count * 1e6
    one_us = statistics.median(r.cpu for r in runs[1]) / count * 1e6
    peak = max(r.peak for rs in runs.values() for r in rs)
    print(
        f"  scaling 1 -> 2 jobs: {statistics.median(scaling):.2f}x (target >= 1.7x on an idle "
        f"machine; {load()} after)"
    )
    print(
        f"  CPU a case: --jobs 1 {one_us:.0f} us; --jobs 2 workers {worker_us:.0f} us, the parent "
        f"{parent_us:.1f} us past its start-up of {fixed * 1000:.0f} ms "
        f"({parent_us / worker_us:.1%} of the workers')"
    )
    print(
        f"  --jobs 2 at a million cases: {two_wall * 1_000_000 / count:.0f} s wall "
        f"{'(measured)' if count >= 1_000_000 else '(extrapolated)'} (target < 90 s); "
        f"peak {peak:.0f} MiB, all processes (target < 150 MiB)"
    )
    return two_wall


def bench_dask(count: int, tmp: Path, jobs2_wall: float | None) -> None:
    try:
        import dask.bag as db
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask: skipped (pip install 'procrules[dask]')")
        return
    from procrules.adapters.dask import judge_bag

    path = tmp / f"cases-{count}.jsonl"
    if not path.exists():
        write_cases(path, count)
    print(f"Dask over {count:,} JSON Lines cases ({load()} before):")
    with (
        PeakMemory(os.getpid()) as memory,
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        bag = db.read_text(str(path), blocksize="8MiB")
        judge_bag(db.from_sequence(["{}"]), AS_OF_TEXT, ROOT / "processes").compute()  # warm
        start = time.perf_counter()
        n = judge_bag(bag, AS_OF_TEXT, ROOT / "processes", view="alerts").count().compute()
        wall = time.perf_counter() - start
    line = (
        f"  LocalCluster, 2 worker processes, {n:,} cases: {wall:.1f} s wall, "
        f"{n / wall:,.0f} cases/s, peak {memory.peak:.0f} MiB (all processes, this one included)"
    )
    if jobs2_wall:
        line += f"\n  Dask / `sla --jobs 2`: {wall / jobs2_wall:.2f}x (target <= 1.5x)"
    print(line + f"; {load()} after")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, 20,000 cases")
    parser.add_argument("--cases", type=int, default=None, help="cases for sla and Dask")
    parser.add_argument("--million", action="store_true", help="1,000,000 cases (minutes)")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--only",
        choices=["checks", "sla"],
        help="checks: the checks against json.loads alone (from the bytes, and of the parsed "
        "case); sla: `procrules sla` on 1 and 2 jobs and Dask alone",
    )
    args = parser.parse_args()
    repeat = 5 if args.quick else 15
    if args.only == "checks":
        bench_checks(repeat)
        bench_check_vs_json(repeat)
        return
    count = args.cases or (1_000_000 if args.million else 20_000 if args.quick else 100_000)
    print(f"machine: {machine()}; {load()}")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.only == "sla":
            jobs2 = bench_sla(count, tmp, 1 if count >= 1_000_000 else 2 if args.quick else 3)
            if not args.no_dask:
                bench_dask(count, tmp, jobs2)
            return
        bench_checks(repeat)
        bench_check_vs_json(repeat)
        bench_load(repeat)
        bench_expressions(repeat)
        bench_due(repeat)
        bench_cold(repeat, tmp)
        jobs2 = bench_sla(count, tmp, 1 if count >= 1_000_000 else 2 if args.quick else 3)
        if not args.no_dask:
            bench_dask(count, tmp, jobs2)


if __name__ == "__main__":
    main()
