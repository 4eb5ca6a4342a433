"""JSON Lines travel to the workers as blocks of whole lines: whatever the block and task sizes,
every line becomes the same record (or refusal, or blank) as when read a line at a time, and
`sla` writes the same bytes on one job and on several."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from procrules import cli_batch
from procrules.api import resolve_as_of
from procrules.batch import Policy, Record
from procrules.cli import main
from procrules.cli_batch import Tally, iter_records, sla_run
from procrules.errors import Problem
from procrules.limits import Limits

from .conftest import PROCESSES

AS_OF = "2026-10-12T09:00:00+08:00"
EXAMPLES = sorted((PROCESSES / "examples").glob("*.json"))


def line_by_line(
    payload: bytes, line_bytes: int, source: str = "<stdin>"
) -> tuple[list[Record], int]:
    """The records of JSON Lines read one line at a time (split on \\n only; a line over
    `line_bytes` refused; a line of ASCII white space blank), and the count of blank lines."""
    lines = payload.split(b"\n")
    if lines[-1] == b"":  # the end of the last line, or nothing at all
        lines.pop()
    records, blank = [], 0
    for number, line in enumerate(lines, 1):
        where = f"{source}:{number}"
        if len(line) > line_bytes:
            message = f"line longer than {line_bytes} bytes"
            problem = Problem(where, 1, 1, "input_too_large", message)
            records.append(Record(where, error=problem, line=number))
        elif not line.strip():
            blank += 1
        else:
            records.append(Record(where, raw=line, line=number))
    return records, blank


PIECES = st.one_of(
    st.sampled_from([b"\n", b"\n", b" ", b"\r", b"\t", b"{}", "\u2028".encode()]),
    st.binary(max_size=6),
    st.integers(1, 40).map(lambda n: b"a" * n),
)


@settings(max_examples=300, deadline=None)
@given(
    payload=st.lists(PIECES, max_size=50).map(b"".join),
    block=st.integers(1, 48),
    chunk=st.integers(1, 6),
    line_bytes=st.integers(1, 30),
)
def test_blocks_read_every_line_as_one_at_a_time(
    payload: bytes, block: int, chunk: int, line_bytes: int
) -> None:
    saved = cli_batch.BLOCK, cli_batch.CHUNK
    cli_batch.BLOCK, cli_batch.CHUNK = block, chunk
    try:
        tally = Tally()
        limits = Limits(line_bytes=line_bytes)
        got = list(iter_records(["-"], tally, stdin=io.BytesIO(payload), limits=limits))
        blocks = list(cli_batch.iter_inputs(["-"], Tally(), io.BytesIO(payload), limits))
    finally:
        cli_batch.BLOCK, cli_batch.CHUNK = saved
    expected, blank = line_by_line(payload, line_bytes)
    assert got == expected
    assert (tally.read, tally.blank_lines, tally.bytes_read) == (len(got), blank, len(payload))
    for item in blocks:  # whole lines, at most `chunk`, in what one read adds to a partial line
        if isinstance(item, cli_batch.Lines):
            assert item.last - item.first < chunk
            assert item.data.count(b"\n") in (item.last - item.first, item.last - item.first + 1)
            assert len(item.data) <= block + line_bytes


class FailingRead(io.BytesIO):
    """Standard input that breaks after `good` bytes (a disk or a pipe failing mid-read)."""

    def __init__(self, payload: bytes, good: int) -> None:
        super().__init__(payload)
        self.good = good

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= self.good:
            raise OSError(5, "Input/output error")
        limit = self.good - self.tell()
        return super().read(limit if size is None or size < 0 else min(size, limit))


def test_a_read_that_fails_is_refused_after_the_whole_lines_before_it() -> None:
    payload = b'{"a": 1}\n\n{"b": 2}\n{"c": 3}\n{"d": 4}\n'
    tally = Tally()
    got = list(
        iter_records(["-"], tally, stdin=FailingRead(payload, payload.index(b"3")), limits=Limits())
    )
    assert [r.source for r in got] == ["<stdin>:1", "<stdin>:3", "<stdin>:4"]
    assert got[-1].error is not None and got[-1].error.code == "file_unreadable"
    assert (tally.read, tally.blank_lines) == (3, 1)


def cases_with_every_kind_of_line(path: Path) -> Path:
    """Good cases of every shipped example among malformed JSON, bad bytes, blank and white
    space lines, lines over the limit (3,000 bytes in the test: within a block and longer than
    one), an escaped newline in a field, and a last line without its \\n."""
    lines: list[bytes] = []
    for i in range(60):
        case = json.loads(EXAMPLES[i % len(EXAMPLES)].read_text("utf-8"))
        text = json.dumps({**case, "case_id": f"B-{i}"}, ensure_ascii=False).encode()
        kind = i % 10
        if kind == 1:
            lines.append(b'{"case_id": "broken", ')
        elif kind == 2:
            lines.append(b"")
        elif kind == 3:
            lines.append(b" \t \r")
        elif kind == 4:
            lines.append(text.replace(b'"B-', b'"\xff-'))
        elif kind == 5:
            lines.append(json.dumps({**case, "case_id": "L" + "x" * (3000 + 500 * i)}).encode())
        elif kind == 6:
            lines.append(json.dumps({**case, "case_id": f"B-{i}\r\n\u2028forged"}).encode())
        else:
            lines.append(text)
    path.write_bytes(b"\n".join(lines))
    return path


def run(*args: str) -> tuple[int, str, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr, result.output


@pytest.mark.parametrize("fmt", ["jsonl", "json", "text"])
def test_sla_on_two_jobs_writes_the_bytes_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    path = cases_with_every_kind_of_line(tmp_path / "cases.jsonl")
    monkeypatch.setenv("PROCRULES_MAX_LINE_BYTES", "3000")
    args = ["sla", str(path), "--format", fmt, "--as-of", AS_OF]
    if fmt == "jsonl":
        args.append("--summary-record")
    one = run(*args, "-j", "1")  # one task, judged in this process
    monkeypatch.setattr(cli_batch, "BLOCK", 2000)  # blocks smaller than the longer lines
    monkeypatch.setattr(cli_batch, "CHUNK", 3)
    two = run(*args, "-j", "2")  # many tasks, on two workers
    assert two == one  # stdout, stderr, and the two as they interleave
    code, out, err, _ = one
    kinds = {n: (n - 1) % 10 for n in range(1, 61)}  # line number -> kind of line
    refused = [n for n, kind in kinds.items() if kind in (1, 4, 5)]
    assert code == 2
    named = [  # FILE:LINE[:COL]: code: message, each in its place
        int(line.removeprefix(f"{path}:").split(":")[0])
        for line in err.splitlines()
        if line.startswith(f"{path}:")
    ]
    assert named == refused
    assert err.splitlines()[-1].startswith("48 read, 30 judged, 18 refused")
    assert "12 blank line(s)" in err.splitlines()[-1]
    if fmt == "jsonl":
        records = [json.loads(line) for line in out.split("\n") if line]
        order = [int(r["source"].rsplit(":", 1)[1]) for r in records[:-1]]
        assert order == sorted(order)
        too_long = [r for r in records if r.get("error", {}).get("code") == "input_too_large"]
        assert [r["error"]["line"] for r in too_long] == [n for n in refused if kinds[n] == 5]


def test_jsonl_to_a_stream_that_is_not_utf8_writes_the_same_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers' bytes go straight to a UTF-8 standard output; to another encoding the same
    text is written through it."""
    path = cases_with_every_kind_of_line(tmp_path / "cases.jsonl")
    outputs = []
    for encoding in ("utf-8", "gb18030"):
        stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="backslashreplace")
        monkeypatch.setattr(sys, "stdout", stream)
        code = sla_run(
            (str(path),),
            resolve_as_of(AS_OF),
            Policy.of(PROCESSES),
            "jsonl",
            "zh",
            1,
            True,
            click.echo,
            click.style,
        )
        stream.flush()
        assert code == 2
        outputs.append(stream.buffer.getvalue().decode(encoding))  # type: ignore[attr-defined]
        monkeypatch.undo()
    assert outputs[0] == outputs[1]
    assert '"case_id": "B-0"' in outputs[0] and '"summary"' in outputs[0]
