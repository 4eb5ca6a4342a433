"""One policy folder, found the way staff expect; `procrules init`; edits take effect at once.

The folder is found in this order: --processes, $PROCRULES_PROCESSES, ./processes in the working
directory, a procrules.toml found upward, the shipped sample. Every command names it and its
revision, and the JSON report carries both.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from procrules import Checker
from procrules.cli import main
from procrules.errors import SpecError, UsageError
from procrules.policy import find_policy_folder, init_policy_folder
from procrules.spec.compile import shipped_processes_dir

from .conftest import PROCESSES, ROOT, edit

EXAMPLE = "processes/examples/water_type_change.json"
AS_OF = ["--as-of", "2026-10-09T09:00:00+08:00"]


def test_discovery_order(tmp_path: Path) -> None:
    work = tmp_path / "office" / "desk"
    work.mkdir(parents=True)
    (tmp_path / "office" / "policy").mkdir()
    (tmp_path / "office" / "procrules.toml").write_text(
        '[procrules]\nprocesses = "policy"\n', "utf-8"
    )
    env = {"PROCRULES_PROCESSES": str(tmp_path / "from-env")}
    found = find_policy_folder("explicit", cwd=work, environ=env)
    assert (found.path, found.origin) == (Path("explicit"), "option")
    found = find_policy_folder(None, cwd=work, environ=env)
    assert (found.path, found.origin) == (tmp_path / "from-env", "environment")
    found = find_policy_folder(None, cwd=work, environ={})
    assert (found.path, found.origin) == ((tmp_path / "office" / "policy").resolve(), "config")
    assert found.config == tmp_path / "office" / "procrules.toml"
    (work / "processes").mkdir()
    found = find_policy_folder(None, cwd=work, environ={})
    assert (found.path, found.origin) == (work / "processes", "working_directory")
    lonely = tmp_path / "elsewhere"
    lonely.mkdir()
    found = find_policy_folder(None, cwd=lonely, environ={})
    if not any((p / "procrules.toml").is_file() for p in (lonely, *lonely.parents)):
        assert (found.path, found.origin) == (shipped_processes_dir(), "shipped")


def test_a_broken_procrules_toml_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "procrules.toml").write_text('[procrules]\nprocesses = "x\n', "utf-8")
    with pytest.raises(SpecError) as exc:
        find_policy_folder(None, cwd=tmp_path, environ={})
    [problem] = exc.value.problems
    assert (problem.code, problem.line) == ("config_syntax", 2)
    (tmp_path / "procrules.toml").write_text("[procrules]\n", "utf-8")
    with pytest.raises(SpecError) as exc:
        find_policy_folder(None, cwd=tmp_path, environ={})
    assert "processes = " in exc.value.render("en") and "processes = " in exc.value.render("zh")


def test_checker_load_uses_the_same_discovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_policy_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PROCRULES_PROCESSES", raising=False)
    checker = Checker.load()
    assert checker.folder == tmp_path / "processes"
    assert checker.policy.origin == "working_directory"
    assert Checker.load(PROCESSES).folder == PROCESSES  # an explicit folder, as before


def test_init_copies_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "policy")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "policy" / "processes"
    shipped = shipped_processes_dir()
    for pattern in ("*.yaml", "tests/*.yaml", "examples/*.json"):
        names = sorted(p.relative_to(shipped) for p in shipped.glob(pattern))
        assert names and names == sorted(p.relative_to(folder) for p in folder.glob(pattern))
    (folder / "water_type_change.yaml").write_text("# mine\n", "utf-8")
    again = runner.invoke(main, ["init", str(tmp_path / "policy")])
    assert again.exit_code == 2 and "already exists; nothing was changed" in again.stderr
    assert (folder / "water_type_change.yaml").read_text("utf-8") == "# mine\n"
    with pytest.raises(UsageError):
        init_policy_folder(tmp_path / "policy")


def test_every_shipped_yaml_names_a_schema_that_accepts_it(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from procrules.source import load_yaml

    init_policy_folder(tmp_path)  # the schema paths must resolve in a folder from init too
    for root in (PROCESSES, tmp_path / "processes"):
        files = sorted([*root.glob("*.yaml"), *root.glob("tests/*.yaml")])
        assert len(files) >= 18
        for file in files:
            m = re.search(
                r"^# yaml-language-server: \$schema=(\S+)$", file.read_text("utf-8"), re.M
            )
            assert m, f"{file} has no yaml-language-server line"
            schema_file = (file.parent / m.group(1)).resolve()
            assert schema_file.is_file(), f"{file}: {schema_file} does not exist"
            schema = json.loads(schema_file.read_text("utf-8"))
            errors = list(jsonschema.Draft202012Validator(schema).iter_errors(load_yaml(file).data))
            assert not errors, f"{file}: {errors[0].message}"
            assert " / " in schema["description"]  # Chinese and English


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


def test_an_edit_in_the_working_folder_takes_effect_without_reinstalling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROCRULES_PROCESSES", raising=False)
    monkeypatch.chdir(tmp_path)
    assert _run(["init"])[0] == 0
    spec = tmp_path / "processes" / "water_type_change.yaml"

    code, out, err = _run(["check", EXAMPLE, *AS_OF, "--format", "json"])
    before = json.loads(out)
    assert code == 0 and f"policy: {tmp_path / 'processes'}" in err
    assert before["policy_folder"] == str(tmp_path / "processes")
    approve = next(d for d in before["deadlines"] if d["rule"] == "WT-APPROVER")
    assert approve["due"].startswith("2026-10-10")

    # check: the approval limit goes from 4 to 3 working days
    edit(spec, "within: 4 working days", "within: 3 working days")
    code, out, _ = _run(["check", EXAMPLE, *AS_OF, "--format", "json"])
    after = json.loads(out)
    approve = next(d for d in after["deadlines"] if d["rule"] == "WT-APPROVER")
    assert approve["due"].startswith("2026-10-09")
    assert after["policy_revision"] != before["policy_revision"]

    # test: the spec test pinned to 4 working days now fails, naming its file and line
    code, out, err = _run(["test"])
    assert code == 1 and "tests/water_type_change.yaml:" in out
    assert re.search(r"\d+ passed, [1-9]\d* failed", out)
    assert f"policy: {tmp_path / 'processes'}" in err

    # lint: a slip in the working copy is found there
    edit(spec, "within: 3 working days", "within: 3 wroking days")
    code, _, err = _run(["lint"])
    assert code == 2 and str(spec) in err
    edit(spec, "within: 3 wroking days", "within: 3 working days")
    assert _run(["lint"])[0] == 0

    # calendar status: declaring 2027 in the working calendar makes it official
    year_2027 = (
        "years:\n  2027:\n    source: 国办发明电〔2026〕1号\n    rest_days: {2027-01-01: 元旦, "
        "2027-02-06: 春节, 2027-04-05: 清明节, 2027-05-01: 劳动节, 2027-06-09: 端午节, "
        "2027-09-15: 中秋节, 2027-10-01: 国庆节}\n"
    )
    calendar = tmp_path / "processes" / "calendar.yaml"
    edit(calendar, "years: {}\n", year_2027)
    code, out, _ = _run(["calendar", "status"])
    assert code == 0 and f"  2027       override file: {calendar}:" in out
    case = json.loads((tmp_path / EXAMPLE).read_text("utf-8"))
    case["events"] = [{"event": "order_received", "at": "2027-03-01T10:00:00+08:00"}]
    (tmp_path / "c2027.json").write_text(json.dumps(case), "utf-8")
    out = _run(["check", "c2027.json", "--as-of", "2027-03-02", "--format", "json"])[1]
    assert "calendar_provisional" not in {f["code"] for f in json.loads(out)["findings"]}


def test_the_installed_command_reads_the_working_folder(tmp_path: Path) -> None:
    command = Path(sys.executable).parent / "procrules"
    if not command.exists():
        pytest.skip("no procrules console script beside this Python")
    init_policy_folder(tmp_path)
    edit(
        tmp_path / "processes" / "water_type_change.yaml",
        "within: 4 working days",
        "within: 3 working days",
    )
    out = subprocess.run(
        [str(command), "check", EXAMPLE, *AS_OF, "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    report = json.loads(out.stdout)
    assert report["policy_folder"] == str(tmp_path / "processes")
    approve = next(d for d in report["deadlines"] if d["rule"] == "WT-APPROVER")
    assert approve["due"].startswith("2026-10-09")


def test_the_readme_first_command_works_on_a_folder_the_user_then_edits(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    first = re.search(r"```sh\n(.+?)\n```", readme, re.S)
    assert first is not None
    command = first.group(1)
    assert "pip install . && " in command and "procrules init" in command
    tail = command.split("pip install . && ", 1)[1]
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "procrules").exists():
        pytest.skip("no procrules console script beside this Python")
    run = subprocess.run(
        ["bash", "-c", tail],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    assert run.returncode == 0, run.stderr
    assert "OK to proceed" in run.stdout
    folder = next(tmp_path.glob("*/processes"))
    assert f"policy: {folder}" in run.stderr
    shutil.rmtree(folder.parent)


COMMANDS = [
    ["check", str(PROCESSES / "examples" / "water_type_change.json"), *AS_OF],
    ["explain", str(PROCESSES / "examples" / "water_type_change.json"), *AS_OF],
    ["sla", str(PROCESSES / "examples"), *AS_OF],
    ["lint"],
    ["test"],
    ["guide", "water_type_change"],
    ["diagram", "water_type_change"],
    ["calendar", "status"],
    ["calendar", "show", "2026-10"],
    ["calendar", "due", "2026-09-30T17:45", "7wd"],
    ["diff", str(PROCESSES), str(PROCESSES), "--cases", str(PROCESSES / "examples"), *AS_OF],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_names_the_folder_and_its_revision(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCRULES_PROCESSES", str(PROCESSES))
    code, _, err = _run([*args, "--lang", "zh"] if args[0] != "diff" else args)
    assert code in (0, 1), err
    assert re.search(r"(规格目录：|policy: )\S+processes.*(修订|revision) [0-9a-f]{16}", err), err


def test_guide_and_diagram_show_the_version_in_force_on_the_policy_date(spec_copy: Path) -> None:
    text = (spec_copy / "water_type_change.yaml").read_text("utf-8")
    (spec_copy / "water_type_change@2027.yaml").write_text(
        text.replace('version: "2026.1"', 'version: "2027.1"').replace(
            'effective_from: "2020-01-01"', 'effective_from: "2027-01-01"'
        ),
        "utf-8",
    )
    base = ["--processes", str(spec_copy)]
    for command in ("guide", "diagram"):
        old = _run([command, "water_type_change", *base, "--policy-date", "2026-06-01"])
        new = _run([command, "water_type_change", *base])
        assert old[0] == new[0] == 0
        assert "showing water_type_change version 2026.1 (in force from 2020-01-01)" in old[2]
        assert "showing water_type_change version 2027.1 (in force from 2027-01-01)" in new[2]
    bad = _run(["guide", "water_type_change", *base, "--policy-date", "soon"])
    assert bad[0] == 2
