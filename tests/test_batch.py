"""Batches lose nothing: every input line is judged or refused in its place, in every output
format and with any number of jobs, and the summary's counts add up."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules import cli_batch
from procrules.batch import Policy, Record, check_batch
from procrules.cli import main

from .conftest import PROCESSES

AS_OF = ["--as-of", "2026-10-12T09:00:00+08:00"]
GOOD = json.loads((PROCESSES / "examples" / "water_type_change.json").read_text("utf-8"))


def good(case_id: str) -> bytes:
    return json.dumps({**GOOD, "case_id": case_id}, ensure_ascii=False).encode()


# Each kind of bad line, between good ones. Line numbers are 1-based; (line, code) for the bad.
LINES: list[tuple[bytes, str | None]] = [
    (good("G-1"), None),
    (b'{"case_id": "broken", ', "json_syntax"),
    (good("G-2").replace(b"G-2", b"G-\xff-2"), "bad_bytes"),  # a bad byte: this line only
    (b"   ", "blank"),
    (good("G-3\\r\\nforged line"), None),  # escaped CR/LF in a field: one case, printed escaped
    (good("G-4").replace(b'"G-4"', b'"G-4\r"'), "json_syntax"),  # a raw CR: this line, unsplit
    (b"[1, 2, 3]", "case_schema"),
    (json.dumps({**GOOD, "process": "no_such_flow"}).encode(), "unknown_process"),
    (good("G-5\u2028x"), None),  # U+2028 inside a string is not a line break
    (good("G-6"), None),
]


@pytest.fixture
def jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in LINES))  # the last line has no \n
    return path


def expected_refused(path: Path) -> dict[str, str]:
    return {
        f"{path}:{n}": code for n, (_, code) in enumerate(LINES, 1) if code not in (None, "blank")
    }


def judged_sources(path: Path) -> set[str]:
    return {f"{path}:{n}" for n, (_, code) in enumerate(LINES, 1) if code is None}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(params=[1, 2], ids=["jobs1", "jobs2"])
def jobs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(cli_batch, "CHUNK", 2)  # several chunks, so that jobs 2 uses workers
    return str(request.param)


def check_summary(summary: dict[str, object], path: Path) -> None:
    refused, judged = expected_refused(path), judged_sources(path)
    assert summary["read"] == len(refused) + len(judged) == len(LINES) - 1
    assert summary["judged"] == len(judged) and summary["refused"] == len(refused)
    assert summary["blank_lines"] == 1


def test_jsonl_accounts_for_every_line(jsonl: Path, jobs: str) -> None:
    code, out, err = run(
        "sla", str(jsonl), "--format", "jsonl", "--summary-record", "-j", jobs, *AS_OF
    )
    records = [json.loads(line) for line in out.split("\n") if line]  # not splitlines: U+2028
    errors = {r["source"]: r["error"]["code"] for r in records if "error" in r}
    alerts = [r for r in records if "rule" in r]
    summary = records[-1]["summary"]
    assert code == 2
    assert errors == expected_refused(jsonl)
    assert {a["source"] for a in alerts} <= judged_sources(jsonl)
    check_summary(summary, jsonl)
    assert summary["alerts"] == len(alerts)
    # in place: the records follow the order of the input lines
    order = [int(r["source"].rsplit(":", 1)[1]) for r in records[:-1]]
    assert order == sorted(order)
    for source in errors:
        assert source in err  # and each refusal is named on stderr
    assert "9 read, 4 judged, 5 refused" in err
    broken = next(r["error"] for r in records if r.get("source") == f"{jsonl}:2")
    assert (broken["file"], broken["line"], broken["column"]) == (str(jsonl), 2, 23)
    assert f"{jsonl}:2:23: json_syntax" in err


def test_json_accounts_for_every_line(jsonl: Path, jobs: str) -> None:
    code, out, err = run("sla", str(jsonl), "--format", "json", "-j", jobs, *AS_OF)
    data = json.loads(out)
    assert code == 2
    assert {e["source"]: e["error"]["code"] for e in data["errors"]} == expected_refused(jsonl)
    assert {a["source"] for a in data["alerts"]} <= judged_sources(jsonl)
    check_summary(data["summary"], jsonl)
    assert data["summary"]["alerts"] == len(data["alerts"])
    assert data["summary"]["cases"] == 4 and data["summary"]["unreadable"] == 5


def test_text_accounts_for_every_line_and_forges_none(jsonl: Path, jobs: str) -> None:
    code, out, err = run("sla", str(jsonl), "-j", jobs, *AS_OF)
    assert code == 2
    for source, code_ in expected_refused(jsonl).items():
        assert f"{source}" in err and code_ in err
    assert "4 cases" in out and "5 unreadable" in out
    assert "G-3\\r\\nforged line" in out and "\nforged line" not in out
    assert "G-5\\u2028x" in out
    # every output line is an alert, a blank line, the summary or its breakdown
    for line in out.splitlines():
        assert not line or line.startswith(("breached", "at risk", "  ")) or "cases," in line
    assert err.rstrip().splitlines()[-1].startswith("9 read, 4 judged, 5 refused")


def test_jobs_do_not_change_the_answer(jsonl: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_batch, "CHUNK", 2)
    outs = {run("sla", str(jsonl), "--format", "jsonl", "-j", j, *AS_OF)[1] for j in "123"}
    assert len(outs) == 1


def test_folders_report_links_and_unreadable_entries(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    (folder / "sub").mkdir(parents=True)
    (folder / "UPPER.JSON").write_bytes(good("U-1"))
    (folder / "sub" / "b.json").write_bytes(good("B-1"))
    (folder / "notes.txt").write_text("not a case")
    (folder / "link.json").symlink_to(folder / "UPPER.JSON")
    os.mkfifo(folder / "pipe.json")  # a FIFO is refused at once, never read (no hang)
    code, out, err = run("sla", str(folder), "--format", "json", *AS_OF)
    data = json.loads(out)
    refused = {Path(e["source"]).name: e["error"]["code"] for e in data["errors"]}
    assert refused == {"link.json": "symlink_not_followed", "pipe.json": "file_unreadable"}
    assert data["summary"]["judged"] == 2 and data["summary"]["other_files_skipped"] == 1
    assert code == 2 and "1 file(s) not .json/.jsonl" in err
    if os.geteuid() != 0:  # root reads any folder
        locked = folder / "locked"
        locked.mkdir()
        locked.chmod(0)
        try:
            _, out, _ = run("sla", str(folder), "--format", "json", *AS_OF)
            codes = {e["error"]["code"] for e in json.loads(out)["errors"]}
            assert "folder_unreadable" in codes
        finally:
            locked.chmod(0o700)


def test_exit_codes_of_a_batch(tmp_path: Path) -> None:
    calm = tmp_path / "calm.jsonl"
    calm.write_bytes(json.dumps({**GOOD, "events": []}).encode() + b"\n")
    assert run("sla", str(calm), *AS_OF)[0] == 0
    breached = tmp_path / "breached.jsonl"
    breached.write_bytes(good("B") + b"\n")
    assert run("sla", str(breached), *AS_OF)[0] == 1
    breached.write_bytes(good("B") + b"\n{\n")
    assert run("sla", str(breached), *AS_OF)[0] == 2


def test_stdin_is_json_lines() -> None:
    result = CliRunner().invoke(
        main, ["sla", "-", "--format", "jsonl", *AS_OF], input=good("S-1") + b"\n"
    )
    assert result.exit_code == 1 and '"S-1"' in result.stdout


def test_urgency_order_spills_and_stays_stable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_batch, "SPILL", 3)
    order = cli_batch.UrgencyOrder()
    alerts = [
        {"status": s, "hours_left": h, "n": i}
        for i, (s, h) in enumerate([("at_risk", 5), ("breached", -1), ("at_risk", 5)] * 4)
    ]
    for alert in alerts:
        order.add(alert)
    assert len(order.runs) == 4
    assert list(order) == sorted(alerts, key=lambda a: (a["status"] != "breached", a["hours_left"]))
    order.close()


def test_check_batch_is_picklable_and_pure() -> None:
    policy = Policy.of(PROCESSES)
    assert pickle.loads(pickle.dumps(policy)) == policy
    records = [Record("a", raw=good("A")), ("b", None, {**GOOD, "case_id": "B"}), Record("c", b"{")]
    from procrules.api import resolve_as_of

    when = resolve_as_of(AS_OF[1])
    out = check_batch(records, when, policy)
    assert [o["source"] for o in out] == ["a", "b", "c"]
    assert out[0]["report"]["case_id"] == "A" and out[1]["case_id"] == "B"
    assert out[2]["error"]["code"] == "json_syntax"
    pickle.dumps(out)
    assert check_batch(records, when, policy) == out
    stale = Policy(policy.processes, None, "0000")
    assert {o["error"]["code"] for o in check_batch(records, when, stale)} == {"policy_changed"}


def test_check_and_explain_of_several_cases_keep_going(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"case_id": "x\n')
    ok = tmp_path / "ok.json"
    ok.write_bytes(json.dumps({**GOOD, "events": []}).encode())
    breach = PROCESSES / "examples" / "water_type_change.json"
    args = [str(ok), str(bad), str(breach), str(tmp_path / "missing.json")]
    code, out, err = run("check", *args, "--format", "json", *AS_OF)
    data = json.loads(out)
    assert code == 2
    assert [d.get("case_id") or d["source"] for d in data] == [
        "WT-2026-0042",
        str(bad),
        "WT-2026-0042",
        str(tmp_path / "missing.json"),
    ]
    assert data[1]["error"]["code"] == "json_syntax" and data[1]["error"]["line"] == 1
    assert err.rstrip().splitlines()[-1] == "4 read, 2 judged, 2 refused, 1 with an error finding"
    code, out, err = run("check", *args, *AS_OF)
    headlines = [line for line in out.splitlines() if line.startswith(("✔ ", "✘ "))]
    assert code == 2 and out.count("could not judge") == 2 and len(headlines) == 4
    assert sum(line.startswith("✔ OK to proceed") for line in headlines) == 2  # a late centre
    code, out, err = run("explain", *args, *AS_OF)
    assert code == 2 and out.count("could not judge") == 2 and "bad.json:1:" in err
    assert err.rstrip().endswith("4 read, 2 judged, 2 refused, 1 with an error finding")
    assert run("check", str(ok), str(breach), *AS_OF)[0] == 1


def test_diff_on_several_jobs_keeps_errors_in_place(
    jsonl: Path, spec_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_batch, "CHUNK", 2)
    (spec_copy / "calendar.yaml").write_text("closures:\n  - {date: 2026-10-09, name: 停业}\n")
    outs = []
    for jobs in ("1", "2"):
        code, out, err = run(
            "diff",
            str(PROCESSES),
            str(spec_copy),
            "--cases",
            str(jsonl),
            "--format",
            "json",
            "-j",
            jobs,
            *AS_OF,
        )
        data = json.loads(out)
        assert code == 2
        assert {e["source"] for e in data["errors"]} == set(expected_refused(jsonl))
        assert data["summary"]["cases"] == 4 and data["summary"]["changed"] == 4
        assert "9 read, 4 judged, 5 refused, 4 changed" in err
        outs.append(out)
    assert outs[0] == outs[1]


def test_sla_and_diff_on_several_jobs_say_it_in_words(
    tmp_path: Path, spec_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_batch, "CHUNK", 2)
    unknown = {
        **GOOD,
        "case_id": "U-1",
        "events": [*GOOD["events"], {"event": "change_aproved", "at": "2026-10-09T10:00:00+08:00"}],
    }
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(
        b"\n".join([good("G-1"), good("G-2"), json.dumps(unknown).encode(), good("G-3")])
    )
    texts = []
    for jobs in ("1", "2"):
        code, out, err = run("sla", str(cases), "--lang", "zh", "-j", jobs, *AS_OF)
        assert code == 1 and err.count("规格目录：") == 1
        lines = out.splitlines()
        assert (
            lines[0].startswith("已超期")
            and "10月10日（周六）24:00前（已超期1个工作日）" in lines[0]
        )
        assert lines[4].startswith("未知事件") and "U-1  change_aproved" in lines[4]
        assert "是否应为 'change_approved'" in lines[4]
        texts.append(out)
        code, out, err = run("sla", str(cases), "--format", "json", "-j", jobs, *AS_OF)
        data = json.loads(out)
        assert [a["status"] for a in data["alerts"]] == ["breached"] * 4 + ["unknown_event"]
        assert data["summary"]["policy_folder"] == str(PROCESSES)
        assert data["summary"]["policy_revision"].count("/") == 1
    assert texts[0] == texts[1]
    edit = spec_copy / "water_type_change.yaml"
    edit.write_text(
        edit.read_text("utf-8").replace("within: 4 working days", "within: 3 working days"), "utf-8"
    )
    for jobs in ("1", "2"):
        code, out, err = run(
            "diff",
            str(PROCESSES),
            str(spec_copy),
            "--cases",
            str(cases),
            "--lang",
            "en",
            "-j",
            jobs,
            *AS_OF,
        )
        assert code == 1 and err.count("policy: ") == 2
        assert (
            "  deadlines: Approval of the change Sat 10 Oct, 24:00 (breached)"
            " -> Fri 9 Oct, 24:00 (breached) [WT-APPROVER]" in out.splitlines()
        )
        assert "  Change of water-use type / deadlines: 4" in out.splitlines()
        code, out, err = run(
            "diff",
            str(PROCESSES),
            str(spec_copy),
            "--cases",
            str(cases),
            "--format",
            "json",
            "-j",
            jobs,
            *AS_OF,
        )
        data = json.loads(out)
        assert data["new_policy"]["folder"] == str(spec_copy) and data["summary"]["changed"] == 4
        assert data["old_policy"]["revision"] != data["new_policy"]["revision"]


def test_batch_readers_keep_the_byte_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file over PROCRULES_MAX_CASE_BYTES and a line over PROCRULES_MAX_LINE_BYTES are refused
    in place, read no further than their bound; a FIFO in a folder is refused unopened."""
    monkeypatch.setenv("PROCRULES_MAX_CASE_BYTES", "3000")
    monkeypatch.setenv("PROCRULES_MAX_LINE_BYTES", "2000")
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "a_big.json").write_bytes(good("BIG") + b" " * 3000)
    (folder / "b_ok.json").write_bytes(good("OK-1"))
    long_line = good("LONG").replace(b'"LONG"', b'"LONG' + b"x" * 2000 + b'"')
    (folder / "c.jsonl").write_bytes(b"\n".join([good("L-1"), long_line, good("L-3")]))
    os.mkfifo(folder / "d_fifo.json")
    code, out, err = run("sla", str(folder), "--format", "jsonl", "--summary-record", *AS_OF)
    records = [json.loads(line) for line in out.splitlines()]
    errors = {r["source"]: r["error"] for r in records if "error" in r}
    assert code == 2 and set(errors) == {
        str(folder / "a_big.json"),
        f"{folder / 'c.jsonl'}:2",
        str(folder / "d_fifo.json"),
    }
    assert errors[str(folder / "a_big.json")]["code"] == "input_too_large"
    too_long = errors[f"{folder / 'c.jsonl'}:2"]
    assert too_long["code"] == "input_too_large" and too_long["line"] == 2
    assert too_long["file"] == str(folder / "c.jsonl")
    assert errors[str(folder / "d_fifo.json")]["code"] == "file_unreadable"
    summary = records[-1]["summary"]
    assert summary["read"] == 6 and summary["judged"] == 3 and summary["refused"] == 3


def test_progress_only_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    silent = cli_batch.Progress(1000, "en")  # stderr is captured here: not a terminal
    silent.update(10, 100, final=True)
    assert capsys.readouterr().err == ""
    shown = cli_batch.Progress(1000, "en", enabled=True)
    shown.start -= 2.0  # two seconds in, a tenth of the bytes read
    shown.last -= 2.0
    shown.update(50, 100, final=False)
    shown.close()
    err = capsys.readouterr().err
    assert "50 cases" in err and "25/s" in err and "left 0:18" in err and "10%" in err
    assert err.endswith("\r\x1b[K")


def test_a_crash_in_one_case_loses_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever escapes the engine for one input becomes that input's error record."""
    from procrules.api import resolve_as_of
    from procrules.engine import Engine

    real = Engine.check

    def fragile(self: Engine, case: dict[str, object], *args: object) -> object:
        if case.get("case_id") == "BOOM":
            raise RecursionError("maximum recursion depth exceeded")
        return real(self, case, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Engine, "check", fragile)
    records = [Record(s, raw=good(s)) for s in ("A", "BOOM", "C")]
    out = check_batch(records, resolve_as_of(AS_OF[1]), Policy.of(PROCESSES))
    assert [o["source"] for o in out] == ["A", "BOOM", "C"]
    assert out[0]["case_id"] == "A" and out[2]["case_id"] == "C"
    assert out[1]["error"]["code"] == "crash" and "RecursionError" in out[1]["error"]["message"]
    assert "error" not in out[0] and "error" not in out[2]


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl"])
def test_a_lone_surrogate_never_crashes_the_output(tmp_path: Path, fmt: str) -> None:
    """Judged (then written escaped) or refused as malformed: either way the run completes."""
    path = tmp_path / "s.jsonl"
    path.write_bytes(good("S-\\ud800") + b"\n" + good("S-2") + b"\n")
    code, out, err = run("sla", str(path), "--format", fmt, *AS_OF)
    assert code in (1, 2) and "S-2" in out
    assert "2 read" in err
    assert "\\ud800" in out or "refused" in err and "1 refused" in err
