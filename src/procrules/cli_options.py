"""Options that several commands share, written once (imported by every cli module; light:
click alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


def lang_option(f: Any) -> Any:
    return click.option(
        "--lang",
        type=click.Choice(["zh", "en"]),
        default=None,
        help="Language of messages and labels (default: from the locale).",
    )(f)


def processes_option(f: Any) -> Any:
    return click.option(
        "--processes",
        "processes",
        type=click.Path(path_type=Path),
        default=None,
        help="Folder of process specs (default: $PROCRULES_PROCESSES, else ./processes, else "
        "the folder a procrules.toml names, else the shipped sample specs).",
    )(f)


def calendar_option(f: Any) -> Any:
    return click.option(
        "--calendar",
        "calendar_file",
        type=click.Path(path_type=Path),
        default=None,
        help="Calendar override file (holidays, make-up days, closures, business "
        "hours); default: calendar.yaml in the specs folder.",
    )(f)


def as_of_option(f: Any) -> Any:
    return click.option(
        "--as-of",
        "as_of",
        default=None,
        metavar="TIME",
        help="Judge as at this time (ISO 8601; no offset = Asia/Shanghai). Default: now.",
    )(f)


def policy_date_option(f: Any) -> Any:
    return click.option(
        "--policy-date",
        "policy_date",
        default=None,
        metavar="DATE",
        help="Judge by the spec versions in force on this date (default: when the application "
        "was received).",
    )(f)


def jobs_option(f: Any) -> Any:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        help="Processes judging at once (default: the machine's cores). Output keeps input order.",
    )(f)
