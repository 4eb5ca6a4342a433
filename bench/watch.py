"""Benchmark of the SLA watcher: prints the figures issue 11 sets targets for.

    python bench/watch.py [--cases N] [--burst N] [--passes 1|2|3] [--jobs N] [--keep FILE]

1. A watcher pass over N open cases in the case store (SQLite; target for 100,000: under 60 s on
   a 2-core machine, memory flat): wall time of the first pass (every card new) and of a second
   pass at the same time (nothing to send), and how much each raised the process's peak
   resident memory over its resident memory at its start (Linux: the high-water mark is reset
   before each pass). `--burst 0 --passes 1` measures the first pass alone, on a fresh process.
   With `--board`, then: the board over the same store, its cases projected (`/board`, a red
   filter, the next page), median of five requests each through the ASGI app.
2. A burst: N alerts in one pass to a JSON Lines channel limited to 20 a minute, one group per
   case: they go out as digests within the limit, over the following minutes, none lost.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from procrules.alerts.delivery import build_channels  # noqa: E402
from procrules.alerts.policy import load_alert_policy  # noqa: E402
from procrules.alerts.store import AlertStore  # noqa: E402
from procrules.alerts.watcher import Watcher  # noqa: E402
from procrules.api import Checker  # noqa: E402
from procrules.calendar import SHANGHAI  # noqa: E402
from procrules.spec.compile import shipped_processes_dir  # noqa: E402
from procrules.store import open_store  # noqa: E402

NOW = dt.datetime(2026, 10, 12, 10, 0, tzinfo=SHANGHAI)


# At NOW (Monday 2026-10-12 10:00): 70% of the cases on track, 10% each blue, yellow and red.
ORDERED = ["2026-10-12T09:00"] * 7 + ["2026-10-09T10:00", "2026-10-08T10:00", "2026-09-29T10:00"]


def _case(i: int) -> dict[str, object]:
    example = json.loads(
        (shipped_processes_dir() / "examples" / "water_type_change.json").read_text("utf-8")
    )
    example["case_id"] = f"WT-{i:06d}"
    example["events"] = [{"event": "order_received", "at": f"{ORDERED[i % 10]}:00+08:00"}]
    return example


def _policy(folder: Path, group_by: str, rate: str) -> None:
    text = (shipped_processes_dir() / "alerts.yaml").read_text("utf-8")
    text = text.replace("group_by: [recipient, level]", f"group_by: {group_by}")
    text = text.replace(
        "desk: {type: jsonl, path: procrules-alerts.jsonl}",
        f"desk: {{type: jsonl, path: out.jsonl, rate_limit: '{rate}', fsync: false}}",
    )
    (folder / "alerts.yaml").write_text(text, "utf-8")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> float:
    """Reset the kernel's high-water mark of this process (Linux: clear_refs 5) and return the
    resident memory now, so that each pass's growth is measured from its own start, not from
    the peak an earlier pass left."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def _fill(store_path: Path, n: int) -> float:
    started = time.perf_counter()
    store = open_store(str(store_path))
    for i in range(n):
        case = _case(i)
        store.put_case(str(case["case_id"]), case)
        store.append(str(case["case_id"]), case["events"])  # type: ignore[arg-type]
    store.close()
    return time.perf_counter() - started


def _watcher(folder: Path, store_path: Path, jobs: int = 1) -> Watcher:
    checker = Checker.load(folder)
    policy = load_alert_policy(checker.specs)
    channels = build_channels(policy.channels, base_dir=folder)
    return Watcher(
        checker,
        policy,
        AlertStore.open(str(store_path)),
        channels,
        jobs=jobs,
        source=(str(folder), None),
    )


def _cases(w: Watcher):  # type: ignore[no-untyped-def]
    from procrules.alerts.cases import StoreCases

    return StoreCases(w.store.engine)


def bench_board(db: Path, folder: Path, project: bool = True) -> None:
    """The board's pages over a store whose open cases are projected (and watched), through a
    real server on a loopback port."""
    import re
    import socket
    import statistics
    import threading

    import httpx
    import uvicorn

    from procrules.service.board import board_app

    checker = Checker.load(folder)
    policy = load_alert_policy(checker.specs)
    if project:
        store = open_store(str(db))
        started = time.perf_counter()
        ids = list(store.open_case_ids())
        store.refresh(checker, NOW, ids)
        print(f"board: {len(ids):,} open cases projected in {time.perf_counter() - started:.1f} s")
        store.close()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    app = board_app(str(db), checker, policy, clock=lambda: NOW)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        first = httpx.get(base + "/board", timeout=60).text
        after = re.search(r'id="next-page" href="/board\?([^"]+)"', first)
        for label, url in (
            ("/board", "/board"),
            ("/board?light=red", "/board?light=red"),
            ("next page", "/board?" + (after.group(1).replace("&amp;", "&") if after else "")),
        ):
            times = []
            for _ in range(5):
                t = time.perf_counter()
                page = httpx.get(base + url, timeout=60)
                times.append(time.perf_counter() - t)
            rows = page.text.count("<tr data-case=")
            print(
                f"board: {label}: median {statistics.median(times) * 1000:.0f} ms, "
                f"{rows} rows, {len(page.content) // 1024} KiB"
            )
    finally:
        server.should_exit = True
        thread.join(5)


def bench_pass(
    n: int, tmp: Path, jobs: int, keep: Path | None, passes: int = 3, board: bool = False
) -> None:
    folder = tmp / "policy"
    shutil.copytree(shipped_processes_dir(), folder, ignore=shutil.ignore_patterns("tests"))
    _policy(folder, "[recipient, level]", "off")
    db = tmp / "cases.db"
    if keep is not None and keep.exists():
        shutil.copy(keep, db)
        fill = 0.0
    else:
        fill = _fill(db, n)
        if keep is not None:
            shutil.copy(db, keep)
    w = _watcher(folder, db, jobs)
    rows = []
    for label in (
        f"first pass, {jobs} job(s)",
        f"second pass, {jobs} job(s)",
        "third pass, 1 job",
    )[:passes]:
        w.jobs = jobs if "1 job" not in label else 1
        start = _reset_peak()
        result = w.run_once(_cases(w), NOW)
        rows.append(
            (
                label,
                result.seconds,
                result.cases,
                result.firing,
                len(result.recorded),
                _status_mb("VmHWM") - start,
            )
        )
    print(f"store filled with {n:,} cases in {fill:.1f} s")
    for label, seconds, cases, firing, recorded, grew in rows:
        print(
            f"{label}: {seconds:.2f} s for {cases:,} cases ({cases / seconds:,.0f} cases/s), "
            f"{firing:,} cards firing, {recorded} notifications; peak memory grew {grew:.0f} MB "
            "over the pass's start (this process; judging workers are apart)"
        )
    print(f"peak RSS {_peak_mb():.0f} MB; target: 100,000 cases under 60 s")
    if board:
        w.store.engine.dispose()
        bench_board(db, folder)


def bench_burst(n: int, tmp: Path) -> None:
    folder = tmp / "burst"
    shutil.copytree(shipped_processes_dir(), folder, ignore=shutil.ignore_patterns("tests"))
    _policy(folder, "[case_id, level]", "20/min")
    db = tmp / "burst.db"
    _fill(db, n)
    w = _watcher(folder, db)
    cases = list(_cases(w))
    start = NOW + dt.timedelta(days=10)  # every case is past its limit: all red at once
    per_minute: list[int] = []
    first = w.run_once(cases, start)
    recorded = len(first.recorded)
    messages = (
        sum(1 for _ in (folder / "out.jsonl").open()) if (folder / "out.jsonl").exists() else 0
    )
    per_minute.append(messages)
    for minute in range(1, 30):
        if not w.store.outbox_rows("pending"):
            break
        w.run_once(cases, start + dt.timedelta(minutes=minute))
        total = sum(1 for _ in (folder / "out.jsonl").open())
        per_minute.append(total - sum(per_minute))
    seen: set[str] = set()
    for line in (folder / "out.jsonl").open(encoding="utf-8"):
        for alert in json.loads(line)["alerts"]:
            seen.add(f"{alert['fingerprint']}:{alert['labels'].get('recipient')}")
    expected = sum(len(r["group"]) and r["firing"] for r in first.recorded)
    print(
        f"burst: {recorded:,} notifications recorded in one pass; messages per minute "
        f"{per_minute} (limit 20); {len(seen):,} of {expected:,} alert-recipient pairs "
        f"delivered; outbox left pending: {len(w.store.outbox_rows('pending'))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=1_000, help="0: no burst")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for judging")
    parser.add_argument("--passes", type=int, default=3, choices=(1, 2, 3))
    parser.add_argument("--board", action="store_true", help="then time the board's pages")
    parser.add_argument(
        "--keep", type=Path, default=None, help="reuse (or save) the filled store at this path"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.burst:
            bench_burst(args.burst, Path(tmp))
        bench_pass(args.cases, Path(tmp), args.jobs, args.keep, args.passes, args.board)


if __name__ == "__main__":
    main()
