"""`procrules init` and `procrules calendar update`: commands that write policy files for staff.

Thin over policy.py and calendar.py; registered on the groups of cli.py with one line each.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import ProcrulesError
from .messages import tr
from .policy import init_policy_folder

EXIT_OK, EXIT_CANNOT_JUDGE = 0, 2


@click.command(name="init")
@click.argument("target", metavar="[DIR]", required=False, type=click.Path(path_type=Path))
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Language.")
def init_command(target: Path | None, lang: str | None) -> None:
    """Copy the shipped specs, their tests and examples into DIR/processes (default: the working
    directory) and the schemas into DIR/schemas, for staff to edit. Refuses to overwrite.

    Every command run in DIR then uses DIR/processes; elsewhere, give --processes or set
    PROCRULES_PROCESSES.
    """
    from .cli import default_lang, fail

    lang = lang or default_lang()
    folder = target or Path(".")
    try:
        written = init_policy_folder(folder)
    except ProcrulesError as exc:
        fail(exc, lang)
        sys.exit(EXIT_CANNOT_JUDGE)
    click.echo(tr("init_done", lang, n=len(written), folder=folder / "processes"))
    hint = "init_next" if target is None else "init_next_cd"
    click.echo(tr(hint, lang, dir=folder))
    sys.exit(EXIT_OK)
