"""The batch side of the command line: reading many inputs, judging them on every core through
`batch.check_batch`, a progress bar, the run's summary, and `sla`/`diff` output in every format.

Nothing is lost: every input read is judged or yields an error record in its place; folders,
files and links that cannot be read are reported; memory stays bounded whatever the input size
(results stream in input order; `sla`'s urgency order spills sorted runs to temporary files).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
import os
import stat
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from .batch import URGENCY, Policy, Record, check_batch, diff_batch
from .errors import Problem
from .limits import Limits

CHUNK = 1024  # inputs (records, or lines of JSON Lines) at most per task sent to a worker
BLOCK = 256 << 10  # bytes of JSON Lines read at once: about one task's worth
IN_FLIGHT = 4  # tasks queued per worker: bounds memory, keeps every core busy
SPILL = 50_000  # alerts held in memory before a sorted run goes to a temporary file
CASE_SUFFIXES = (".json", ".jsonl")

# Control characters (C0, DEL, C1, line and paragraph separators) as escapes in text output, so
# that a newline or an escape sequence in a field cannot forge lines or repaint the terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROL.update({0x2028: "\\u2028", 0x2029: "\\u2029"})
_CONTROL.update({c: f"\\u{c:04x}" for c in range(0xD800, 0xE000)})  # lone surrogates: no UTF-8


def dumps(value: Any) -> str:
    """One JSON value on one line, Chinese as is; a lone surrogate (which UTF-8 cannot carry, and
    which lenient JSON readers let through) is written as its escape instead of crashing."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return text


def clean(value: object) -> str:
    """A field for text output, with its control characters escaped."""
    return str(value).translate(_CONTROL)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


# -- reading -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What a run read and what became of it; `read == judged + refused` at the end."""

    read: int = 0
    judged: int = 0
    refused: int = 0
    blank_lines: int = 0
    other_files: int = 0
    alerts: int = 0
    with_errors: int = 0  # judged cases with an error finding
    bytes_read: int = 0

    def count(self, outcome: dict[str, Any]) -> None:
        if "error" in outcome:
            self.refused += 1
            return
        self.judged += 1
        if not outcome["ok"]:
            self.with_errors += 1

    def add(self, other: Tally) -> None:
        """Count in what another tally (a worker's, for one task) saw."""
        self.read += other.read
        self.judged += other.judged
        self.refused += other.refused
        self.blank_lines += other.blank_lines
        self.other_files += other.other_files
        self.alerts += other.alerts
        self.with_errors += other.with_errors
        self.bytes_read += other.bytes_read

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "judged": self.judged,
            "refused": self.refused,
            "alerts": self.alerts,
            "blank_lines": self.blank_lines,
            "other_files_skipped": self.other_files,
        }

    def line(self, lang: str, key: str = "batch_summary", **extra: int) -> str:
        """The run's summary for stderr: inputs read, judged, refused, and alerts (or `extra`)."""
        from .messages import tr

        counts = {"read": self.read, "judged": self.judged, "refused": self.refused}
        text = tr(key, lang, **counts, **(extra or {"alerts": self.alerts}))
        if self.blank_lines or self.other_files:
            text += tr("batch_skipped", lang, blank=self.blank_lines, other=self.other_files)
        return text

    @property
    def exit_code(self) -> int:
        """2 if any input could not be judged, else 1 if any case has an error finding, else 0."""
        return 2 if self.refused else 1 if self.with_errors else 0


def _refusal(source: str, code: str, message: str, line: int = 0, column: int = 0) -> Record:
    return Record(source, error=Problem(source, line, column, code, message))


def iter_records(
    paths: Iterable[str],
    tally: Tally,
    stdin: IO[bytes] | None = None,
    limits: Limits | None = None,
) -> Iterator[Record]:
    """Every input in `paths` (files, folders, JSON Lines; `-` is JSON Lines on standard input),
    in order: folders sorted by name, JSON Lines split on `\\n` only. A folder, file or link that
    cannot be read is an error record in its place, and so is a file over `limits.case_bytes` or
    a line over `limits.line_bytes` (default: Limits.from_env()), read no further than its bound.
    Updates `tally.read`, blank lines, bytes."""
    for item in iter_inputs(paths, tally, stdin, limits):
        if isinstance(item, Lines):
            yield from item.records(tally)
        else:
            yield item


def iter_inputs(
    paths: Iterable[str],
    tally: Tally,
    stdin: IO[bytes] | None = None,
    limits: Limits | None = None,
) -> Iterator[Record | Lines]:
    """`iter_records`, with JSON Lines as blocks of whole lines (`Lines`) to be split where they
    are judged; `tally.read` and blank lines count them only once split (`Lines.records`)."""
    limits = limits or Limits.from_env()
    for arg in paths:
        if arg == "-":
            yield from _lines(stdin or sys.stdin.buffer, "<stdin>", tally, limits)
            continue
        path = Path(arg)
        if path.is_dir():
            yield from _folder(path, tally, limits)
        else:
            yield from _file(path, tally, limits)


def _folder(folder: Path, tally: Tally, limits: Limits) -> Iterator[Record | Lines]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        tally.read += 1
        yield _refusal(str(folder), "folder_unreadable", f"cannot read folder: {exc.strerror}")
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            tally.read += 1
            yield _refusal(
                str(path),
                "symlink_not_followed",
                "a symbolic link inside a folder is not followed; name its target to judge it",
            )
        elif entry.is_dir(follow_symlinks=False):
            yield from _folder(path, tally, limits)
        elif path.suffix.lower() in CASE_SUFFIXES:  # .JSON and .Jsonl are cases too
            yield from _file(path, tally, limits)
        else:
            tally.other_files += 1


def _file(path: Path, tally: Tally, limits: Limits) -> Iterator[Record | Lines]:
    source = str(path)
    try:  # without blocking (a FIFO), and checked before anything is read (a device, a folder)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        tally.read += 1
        yield _refusal(source, "file_not_found", "no such file")
        return
    except OSError as exc:
        tally.read += 1
        reason = "not a regular file" if isinstance(exc, IsADirectoryError) else exc.strerror
        yield _refusal(source, "file_unreadable", f"cannot read file: {reason}")
        return
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            tally.read += 1
            yield _refusal(source, "file_unreadable", "cannot read file: not a regular file")
            return
        if path.suffix.lower() == ".jsonl":
            yield from _lines(handle, source, tally, limits)
            return
        try:
            raw = handle.read(limits.case_bytes + 1)
        except OSError as exc:
            tally.read += 1
            yield _refusal(source, "file_unreadable", f"cannot read file: {exc.strerror}")
            return
        tally.read += 1
        tally.bytes_read += len(raw)
        if len(raw) > limits.case_bytes:
            yield _refusal(source, "input_too_large", f"larger than {limits.case_bytes} bytes")
            return
        yield Record(source, raw=raw)


class Lines(NamedTuple):
    """Whole lines of a JSON Lines input as read, `first` the number of the first: the worker that
    judges them splits them into records (`records`), so that reading costs the parent a block
    copy, not a record a line."""

    source: str
    first: int
    last: int  # the number of the last line in `data`
    data: bytes  # whole lines, each ending in \n but (at the end of the input) the last
    line_bytes: int  # a longer line is refused (limits.line_bytes)

    def records(self, tally: Tally) -> list[Record]:
        """A record for each line that is not blank, in order; a line over `line_bytes` as its
        error record. Updates `tally.read` and `tally.blank_lines`."""
        out: list[Record] = []
        parts = self.data.split(b"\n")  # on \n only, never on \r or U+2028
        if self.data.endswith(b"\n"):
            parts.pop()
        source, limit = self.source, self.line_bytes
        for number, line in enumerate(parts, self.first):
            if len(line) > limit:
                out.append(_too_long(f"{source}:{number}", number, limit))
            elif not line or line.isspace():  # the blank of bytes.strip(): ASCII white space
                tally.blank_lines += 1
                continue
            else:  # columns then count within the line
                out.append(Record(f"{source}:{number}", raw=line, line=number))
        tally.read += len(out)
        return out


def _too_long(where: str, number: int, limit: int) -> Record:
    message = f"line longer than {limit} bytes"
    return Record(where, error=Problem(where, 1, 1, "input_too_large", message), line=number)


def _lines(
    handle: IO[bytes], source: str, tally: Tally, limits: Limits
) -> Iterator[Record | Lines]:
    """JSON Lines read in blocks of whole lines (about BLOCK bytes, at most CHUNK lines, a longer
    line alone). Memory stays bounded: a line that grows past `limits.line_bytes` before its end
    is refused in place and read on to its end unkept."""
    number = 0  # lines handed out
    buf = b""  # the start of a line not yet whole
    skipping = False  # inside a line too long to keep

    def cut(final: bool) -> Iterator[Lines]:
        """Blocks of the whole lines in `buf` (with `final`, all of it); `buf` keeps the rest."""
        nonlocal number, buf
        end = len(buf) if final else buf.rfind(b"\n") + 1
        if not end:
            return
        left = buf.count(b"\n", 0, end) + (0 if buf[end - 1] == 0x0A else 1)
        pos = 0
        while left > CHUNK:
            stop = pos
            for _ in range(CHUNK):
                stop = buf.find(b"\n", stop) + 1
            yield Lines(source, number + 1, number + CHUNK, buf[pos:stop], limits.line_bytes)
            number, pos, left = number + CHUNK, stop, left - CHUNK
        yield Lines(source, number + 1, number + left, buf[pos:end], limits.line_bytes)
        number += left
        buf = buf[end:]

    while True:
        try:  # about BLOCK bytes with what is kept: one task's worth of lines per read
            data = handle.read(BLOCK - len(buf) if len(buf) < BLOCK // 2 else BLOCK)
        except OSError as exc:
            yield from cut(final=False)  # (nothing is kept while skipping)
            tally.read += 1
            yield _refusal(f"{source}:{number + 1}", "file_unreadable", f"cannot read: {exc}")
            return
        if not data:
            yield from cut(final=True)
            return
        tally.bytes_read += len(data)
        if skipping:  # the rest of a line too long to keep
            end = data.find(b"\n") + 1
            if not end:
                continue
            data, skipping = data[end:], False
        buf = buf + data if buf else data
        yield from cut(final=False)
        if len(buf) > limits.line_bytes:  # no end in sight: refused, and read on unkept
            number += 1
            tally.read += 1
            yield _too_long(f"{source}:{number}", number, limits.line_bytes)
            buf, skipping = b"", True


def total_bytes(paths: Iterable[str]) -> int | None:
    """The size of every input, for the progress bar's time left (None when unknowable)."""
    total = 0
    for arg in paths:
        if arg == "-":
            return None
        path = Path(arg)
        try:
            if path.is_dir():
                for root, _, files in os.walk(path):
                    for name in files:
                        if Path(name).suffix.lower() in CASE_SUFFIXES:
                            total += os.lstat(os.path.join(root, name)).st_size
            else:
                total += path.stat().st_size
        except OSError:
            continue
    return total


# -- judging on every core -----------------------------------------------------------------------


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _tasks(items: Iterator[Record | Lines]) -> Iterator[list[Record | Lines]]:
    """Inputs grouped into tasks of at most about CHUNK inputs and BLOCK bytes (a block of JSON
    Lines is one task's worth already; small files travel together)."""
    task: list[Record | Lines] = []
    inputs = size = 0
    for item in items:
        task.append(item)
        if isinstance(item, Lines):
            inputs += item.last - item.first + 1
            size += len(item.data)
        else:
            inputs += 1
            size += len(item.raw or "")
        if inputs >= CHUNK or size >= BLOCK:
            yield task
            task, inputs, size = [], 0, 0
    if task:
        yield task


def _warm(policy: Policy) -> None:
    """Worker initialiser: load the policy once, before the first task."""
    try:
        policy.checker()
    except Exception:  # noqa: BLE001 - each task reports the error in its records
        pass


def run_parallel(
    task: Callable[..., Any],
    chunks: Iterator[list[Any]],
    args: tuple[Any, ...],
    policies: tuple[Policy, ...],
    jobs: int,
) -> Iterator[Any]:
    """`task(chunk, *args)` for each chunk, on `jobs` processes; the answers in input order, with
    a bounded number of chunks in flight."""
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if jobs <= 1 or second is None:  # one chunk: starting workers would cost more than it saves
        for chunk in itertools.chain([first], [second] if second else [], chunks):
            yield task(chunk, *args)
        return
    chunks = itertools.chain([first, second], chunks)
    from concurrent.futures import Future, ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, initializer=_warm_all, initargs=(policies,)) as pool:
        pending: deque[Future[Any]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(task, chunk, *args))
            while len(pending) >= jobs * IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _warm_all(policies: tuple[Policy, ...]) -> None:
    for policy in policies:
        _warm(policy)


class Progress:
    """Cases done, rate and time left on stderr, redrawn at most five times a second; silent
    unless stderr is a terminal."""

    def __init__(self, total: int | None, lang: str, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.total = total
        self.lang = lang
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, done: int, bytes_done: int, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.2:
            return
        self.last = now
        elapsed = max(now - self.start, 1e-6)
        rate = done / elapsed
        text = f"{done:,} {'件' if self.lang == 'zh' else 'cases'}  {rate:,.0f}/s"
        if self.total and bytes_done and not final:
            left = elapsed * (self.total - bytes_done) / bytes_done
            text += f"  {'剩余' if self.lang == 'zh' else 'left'} {_duration(max(left, 0))}"
            share = min(bytes_done / self.total, 1.0)
            bar = "#" * int(share * 20)
            text = f"[{bar:<20}] {share:4.0%}  " + text
        sys.stderr.write("\r\x1b[K" + text)
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.enabled and self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# -- sla -------------------------------------------------------------------------------------------


def spool() -> IO[str]:
    """Error records of a json run, kept until the end: in memory up to 1 MiB, then on disk."""
    return tempfile.SpooledTemporaryFile(  # noqa: SIM115 - the caller closes it in `finally`
        max_size=1 << 20, mode="w+", encoding="utf-8"
    )


def _urgency(alert: dict[str, Any]) -> tuple[int, float]:
    """Breached first, then cases with an unknown event, then at risk; least time left first."""
    return (URGENCY.get(alert["status"], 2), alert["hours_left"] or 0)


class UrgencyOrder:
    """Alerts sorted most urgent first with bounded memory: sorted runs of `SPILL` alerts go to
    temporary files and are merged back (stable: equal urgency keeps input order)."""

    def __init__(self) -> None:
        self.held: list[dict[str, Any]] = []
        self.runs: list[IO[str]] = []

    def add(self, alert: dict[str, Any]) -> None:
        self.held.append(alert)
        if len(self.held) >= SPILL:
            run = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in close()
            for item in sorted(self.held, key=_urgency):
                run.write(dumps(item) + "\n")
            run.seek(0)
            self.runs.append(run)
            self.held = []

    def __iter__(self) -> Iterator[dict[str, Any]]:
        streams: list[Iterable[dict[str, Any]]] = [(json.loads(x) for x in r) for r in self.runs]
        streams.append(sorted(self.held, key=_urgency))
        yield from heapq.merge(*streams, key=_urgency)

    def close(self) -> None:
        for run in self.runs:
            run.close()


@dataclass
class Judged:
    """One task of `sla`, judged: what the parent needs of it, small to send back. `parts` is
    the output in input order: (a refusal's message for stderr, or "", then text for stdout),
    the text already written (jsonl: alert lines and error records; bytes when `binary`)."""

    tally: Tally
    statuses: Counter[tuple[str, str]]
    parts: list[tuple[str, str | bytes]]
    errors: list[str]  # json: each error record as one JSON text
    alerts: list[dict[str, Any]]  # json, text: the alerts, for the urgency order


def sla_task(
    items: list[Record | Lines],
    when: dt.datetime,
    policy: Policy,
    lang: str,
    fmt: str,
    binary: bool = False,
) -> Judged:
    """The task of `sla`'s workers: split the inputs into records, `check_batch` them, and write
    the output of `fmt` (jsonl: the lines themselves, so that the parent only copies bytes; text:
    each due time and time left in words; json, text: the alerts to sort)."""
    tally = Tally()
    records: list[Record] = []
    for item in items:
        if isinstance(item, Lines):
            records.extend(item.records(tally))
        else:
            records.append(item)
    outcomes = check_batch(records, when, policy, view="alerts", lang=lang, words=fmt == "text")
    statuses: Counter[tuple[str, str]] = Counter()
    parts: list[tuple[str, str | bytes]] = []
    errors: list[str] = []
    held: list[dict[str, Any]] = []
    jsonl = fmt == "jsonl"
    message, text = "", list[str]()
    for outcome in outcomes:
        tally.count(outcome)
        if "error" in outcome:  # on stderr always (exit 2 names its file), and in place
            if message or text:
                parts.append((message, "".join(text)))
            message, text = clean(render_error(outcome, lang)), []
            if jsonl:
                text.append(dumps(outcome) + "\n")
            elif fmt == "json":
                errors.append(dumps(outcome))
            continue
        process = outcome["process"]
        for status, n in outcome["statuses"].items():
            statuses[(process, status)] += n
        alerts = outcome["alerts"]
        tally.alerts += len(alerts)
        if jsonl:
            text.extend(dumps(a) + "\n" for a in alerts)
        else:
            held.extend(alerts)
    if message or text:
        parts.append((message, "".join(text)))
    if binary:
        parts = [(m, t.encode("utf-8") if isinstance(t, str) else t) for m, t in parts]
    return Judged(tally, statuses, parts, errors, held)


def _utf8(stream: IO[str]) -> IO[bytes] | None:
    """The byte stream under a text stream that writes UTF-8 and leaves \\n as it is, if any:
    jsonl output then goes through as the bytes the workers wrote (the bytes the text stream
    would write, without decoding and encoding them once more in this process)."""
    import codecs

    try:
        encoding = codecs.lookup(getattr(stream, "encoding", None) or "").name
        buffer: IO[bytes] = stream.buffer  # type: ignore[attr-defined]
    except (AttributeError, LookupError, TypeError):
        return None
    return buffer if encoding == "utf-8" and os.linesep == "\n" else None


def sla_run(
    paths: tuple[str, ...],
    when: dt.datetime,
    policy: Policy,
    fmt: str,
    lang: str,
    jobs: int,
    summary_record: bool,
    echo: Callable[..., Any],
    style: Callable[..., str],
) -> int:
    """`procrules sla`: returns the exit code."""
    from .messages import tr
    from .report import t
    from .wording import pad

    checker = policy.checker()  # loaded already (Policy.of): for the folder as it was found
    tally = Tally()
    progress = Progress(total_bytes(paths) if sys.stderr.isatty() else None, lang)
    ordered = UrgencyOrder()
    errors = spool()
    statuses: Counter[tuple[str, str]] = Counter()
    stdout = sys.stdout  # jsonl is copied straight through: echo per line costs a core
    binary = _utf8(stdout) if fmt == "jsonl" else None
    write: Callable[[Any], Any] = stdout.write if binary is None else binary.write
    stdout.flush()  # what the text layer holds goes before the bytes written under it
    judged = run_parallel(
        sla_task,
        _tasks(iter_inputs(paths, tally, limits=checker.limits)),
        (when, policy, lang, fmt, binary is not None),
        (policy,),
        jobs,
    )
    try:
        for result in judged:
            tally.add(result.tally)
            statuses.update(result.statuses)
            for message, text in result.parts:
                if message:
                    progress.close()
                    if binary is not None:
                        binary.flush()
                    stdout.flush()
                    echo(message, err=True)
                if text:
                    write(text)
            for line in result.errors:
                errors.write(line + "\n")
            for alert in result.alerts:
                ordered.add(alert)
            if binary is not None:  # each task's lines as soon as it is judged
                binary.flush()
            progress.update(tally.judged + tally.refused, tally.bytes_read)
        progress.update(tally.judged + tally.refused, tally.bytes_read, final=True)
        progress.close()
        by_process = {f"{p}/{s}": n for (p, s), n in sorted(statuses.items())}
        summary = {
            "as_of": when.isoformat(timespec="seconds"),
            "cases": tally.judged,
            "unreadable": tally.refused,
            **tally.to_dict(),
            "by_process": by_process,
            "policy_folder": str(checker.folder),
            "policy_revision": checker.revision,
        }
        stdout.flush()
        if fmt == "jsonl":
            if summary_record:
                echo(dumps({"summary": summary}))
        elif fmt == "json":
            echo('{"alerts": [', nl=False)
            for i, alert in enumerate(ordered):
                echo(("," if i else "") + "\n  " + dumps(alert), nl=False)
            echo('\n], "errors": [', nl=False)
            errors.seek(0)
            for i, line in enumerate(errors):
                echo(("," if i else "") + "\n  " + line.rstrip("\n"), nl=False)
            echo('\n], "summary": ' + dumps(summary) + "}")
        else:
            for a in ordered:
                case = clean(a["case_id"] or a["source"])
                if a["status"] == "unknown_event":
                    hint = (
                        f" ({tr('did_you_mean', lang, name=clean(a['suggestion']))})"
                        if a["suggestion"]
                        else ""
                    )
                    echo(
                        f"{style(tr('unknown_event', lang), fg='red'):<10} "
                        f"{case}  {clean(a['event'])}{hint}"
                    )
                    continue
                colour = "red" if a["status"] == "breached" else "yellow"
                status_text = t(a["status"], lang)
                echo(
                    f"{style(pad(status_text, 9), fg=colour)} {clean(a['rule']):<12} "
                    f"{case}  {clean(a['name'])}  {a.get('text', '')}"
                )
            echo(
                "\n"
                + tr(
                    "sla_summary",
                    lang,
                    cases=tally.judged,
                    alerts=tally.alerts,
                    unreadable=tally.refused,
                )
            )
            for key, n in by_process.items():
                echo(f"  {key}: {n}")
    finally:
        progress.close()
        ordered.close()
        errors.close()
    echo(tally.line(lang), err=True)
    return tally.exit_code


def render_error(outcome: dict[str, Any], lang: str) -> str:
    """An error record as the one-line message of the CLI: source: code: message at $.path."""
    from .messages import localise

    error = outcome["error"]
    where = error["file"] or outcome["source"]
    if error["line"]:
        where += f":{error['line']}" + (f":{error['column']}" if error["column"] else "")
    more = error["problems"] - 1
    tail = f" (+{more})" if more > 0 else ""
    text = f"{where}: {error['code']}: {localise(error['message'], lang)}"
    if error["path"] and error["path"] != "$":
        text += f" {'位于' if lang == 'zh' else 'at'} {error['path']}"
    return text + tail


# -- diff ------------------------------------------------------------------------------------------


def diff_task(
    items: list[Record | Lines], when: dt.datetime, old: Policy, new: Policy, lang: str
) -> tuple[Tally, list[dict[str, Any]]]:
    """The task of `diff`'s workers: split the inputs into records and `diff_batch` them; with
    what the split counted (lines read, blank)."""
    tally = Tally()
    records: list[Record] = []
    for item in items:
        records.extend(item.records(tally) if isinstance(item, Lines) else [item])
    return tally, diff_batch(records, when, old, new, lang)


def diff_run(
    case_paths: tuple[str, ...],
    when: dt.datetime,
    old: Policy,
    new: Policy,
    fmt: str,
    lang: str,
    jobs: int,
    echo: Callable[..., Any],
) -> int:
    """`procrules diff`: returns the exit code (2 unreadable, 1 something changes, 0 nothing)."""
    from .diff import heading
    from .messages import tr

    before, after = old.checker(), new.checker()  # loaded already (Policy.of)
    labels = after.specs.processes
    tally = Tally()
    progress = Progress(total_bytes(case_paths) if sys.stderr.isatty() else None, lang)
    counts: Counter[tuple[str, str]] = Counter()
    errors = spool()
    changed = 0
    if fmt == "json":
        echo('{"changed": [', nl=False)
    judged = run_parallel(
        diff_task,
        _tasks(iter_inputs(case_paths, tally, limits=before.limits)),
        (when, old, new, lang),
        (old, new),
        jobs,
    )

    def counted() -> Iterator[dict[str, Any]]:
        for seen, results in judged:
            tally.add(seen)
            yield from results

    outcomes = counted()
    try:
        for outcome in outcomes:
            tally.count(outcome)
            progress.update(tally.judged + tally.refused, tally.bytes_read)
            if "error" in outcome:
                progress.close()
                echo(clean(render_error(outcome, lang)), err=True)
                if fmt == "json":
                    errors.write(dumps(outcome) + "\n")
                continue
            changes = outcome["changes"]
            if not changes:
                continue
            item = {
                "case_id": outcome["case_id"],
                "source": outcome["source"],
                "process": outcome["process"],
                "changes": changes,
            }
            for kind in changes:
                counts[(outcome["process"], kind)] += 1
            if fmt == "json":
                text = dumps(item)
                echo(("," if changed else "") + "\n  " + text, nl=False)
            else:
                progress.close()
                pid = item["process"]
                process = labels[pid].label.get(lang) if pid in labels else ""
                echo(f"{clean(item['case_id'] or item['source'])}  {process} ({clean(pid)})")
                for line in outcome["described"]:
                    echo(f"  {clean(line)}")
            changed += 1
        progress.close()
        by_kind = {f"{p}/{k}": n for (p, k), n in sorted(counts.items())}
        summary = {
            "cases": tally.judged,
            "changed": changed,
            "unreadable": tally.refused,
            "by_process": by_kind,
        }
        if fmt == "json":
            echo('\n], "errors": [', nl=False)
            errors.seek(0)
            for i, line in enumerate(errors):
                echo(("," if i else "") + "\n  " + line.rstrip("\n"), nl=False)
            policies = {
                "old_policy": {"folder": str(before.folder), "revision": before.revision},
                "new_policy": {"folder": str(after.folder), "revision": after.revision},
            }
            echo('\n], "summary": ' + dumps(summary) + ", " + dumps(policies)[1:])
        else:
            echo(
                "\n"
                + tr(
                    "diff_summary",
                    lang,
                    cases=tally.judged,
                    changed=changed,
                    unreadable=tally.refused,
                )
            )
            for (pid, kind), n in sorted(counts.items()):
                process = labels[pid].label.get(lang) if pid in labels else pid
                echo(f"  {clean(process)} / {heading(kind, lang)}: {n}")
    finally:
        progress.close()
        errors.close()
    echo(tally.line(lang, "batch_summary_diff", changed=changed), err=True)
    if tally.refused:
        return 2
    return 1 if changed else 0
