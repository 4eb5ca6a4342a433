"""Which policy folder a command uses, found the way staff expect, and `procrules init`.

Order: an explicit folder (`--processes`), `$PROCRULES_PROCESSES`, `./processes/` in the working
directory, a `procrules.toml` found upward that names the folder, and only then the specs shipped
with the package. Every command and `Checker.load()` go through `find_policy_folder`.
This module reads the environment and the file system; it never judges anything.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import SpecError, UsageError

ENV_PROCESSES = "PROCRULES_PROCESSES"
CONFIG_FILE = "procrules.toml"
LOCAL_FOLDER = "processes"

# where a folder came from: (en, zh)
ORIGINS = {
    "option": ("--processes", "--processes 参数"),
    "environment": (f"${ENV_PROCESSES}", f"环境变量 {ENV_PROCESSES}"),
    "working_directory": ("./processes in the working directory", "当前目录下的 processes/"),
    "config": ("{config}", "{config}"),
    "shipped": (
        "the shipped sample specs (run `procrules init` for a folder of your own)",
        "随软件安装的示例规格（运行 `procrules init` 建立自己的规格目录）",
    ),
}


@dataclass(frozen=True)
class PolicyFolder:
    """A specs folder and how it was found (`origin`: a key of ORIGINS; `config`: the toml)."""

    path: Path
    origin: str
    config: Path | None = None

    def describe(self, lang: str = "en") -> str:
        en, zh = ORIGINS[self.origin]
        return (zh if lang == "zh" else en).format(config=self.config)


def find_policy_folder(
    explicit: str | Path | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> PolicyFolder:
    """The specs folder to use; see the module's docstring for the order."""
    if explicit:
        return PolicyFolder(Path(explicit), "option")
    env = os.environ if environ is None else environ
    if env.get(ENV_PROCESSES):
        return PolicyFolder(Path(env[ENV_PROCESSES]), "environment")
    here = Path.cwd() if cwd is None else cwd
    local = here / LOCAL_FOLDER
    if local.is_dir():
        return PolicyFolder(local, "working_directory")
    for folder in (here, *here.parents):  # as git finds its root
        config = folder / CONFIG_FILE
        if config.is_file():
            return PolicyFolder(_configured(config), "config", config)
    from .spec.compile import shipped_processes_dir

    return PolicyFolder(shipped_processes_dir(), "shipped")


def _configured(config: Path) -> Path:
    """The folder a procrules.toml names: `processes = "..."`, relative to the file."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        raise SpecError.at(
            str(config),
            f"TOML syntax error: {str(exc).split(' (at line')[0]}",
            line=line,
            column=column,
            code="config_syntax",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError.at(str(config), f"cannot read file: {exc}", code="file_unreadable") from exc
    section = data.get("procrules", data)
    value = section.get("processes") if isinstance(section, dict) else None
    if not isinstance(value, str) or not value:
        raise SpecError.at(
            str(config),
            'procrules.toml names no specs folder: write [procrules] then processes = "processes"',
            line=1,
            column=1,
            path="$.procrules.processes",
            code="config_schema",
        )
    return (config.parent / value).resolve()


def banner(policy: PolicyFolder, revision: str, lang: str) -> str:
    """The line every command prints (on stderr) to say which policy it used."""
    if lang == "zh":
        return f"规格目录：{policy.path}（来自{policy.describe(lang)}），修订 {revision}"
    return f"policy: {policy.path} (from {policy.describe(lang)}), revision {revision}"


# -- procrules init ---------------------------------------------------------------------------


def init_policy_folder(target: Path) -> list[Path]:
    """Copy the shipped specs, their tests and examples into `target`/processes, and the schemas
    into `target`/schemas (so that the editors' `$schema` lines resolve). Refuses to overwrite:
    nothing is written when either folder already exists. Returns the files written."""
    from .spec.compile import shipped_processes_dir, shipped_schemas_dir

    processes, schemas = target / LOCAL_FOLDER, target / "schemas"
    for folder in (processes, schemas):
        if folder.exists():
            raise UsageError.at(
                str(folder), "already exists; nothing was changed", code="init_exists"
            )
    if target.exists() and not target.is_dir():
        raise UsageError.at(str(target), "not a folder", code="init_exists")
    source = shipped_processes_dir()
    written: list[Path] = []
    for pattern in ("*.yaml", "tests/*.yaml", "examples/*.json"):
        for file in sorted(source.glob(pattern)):
            dest = processes / file.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, dest)
            written.append(dest)
    for file in sorted(shipped_schemas_dir().glob("*.json")):
        schemas.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, schemas / file.name)
        written.append(schemas / file.name)
    return written
