"""Whether a calendar fits the specs judged with it: `calendar_fit`, which every `Checker`
runs when it is built (a pair that would fail every check is refused at once) and `lint`
reports with the rest of its analysis (spec/analysis.py). Kept apart from the analysis so that
building a checker loads none of it. Reads compiled specs and a calendar; changes nothing.
"""

from __future__ import annotations

from ..calendar import Calendar
from ..errors import Problem, json_path
from .compile import SpecSet
from .model import Process


def located(
    process: Process, path: tuple[str | int, ...], code: str, message: str, severity: str = "error"
) -> Problem:
    """A problem at `path` of `process`, placed at the nearest position its file records."""
    parts = path
    while parts and parts not in process.positions:
        parts = parts[:-1]
    line, column = process.positions.get(parts, (1, 1))
    return Problem(process.file, line, column, code, message, json_path(path), None, severity)


def calendar_fit(specs: SpecSet, calendar: Calendar) -> list[Problem]:
    """Deadlines that need business hours (`ends: close`, working hours) against a calendar
    with none, and business hours that do not run forwards (each opens before it closes, in
    order): either would make every check of such a case fail."""
    problems: list[Problem] = []
    hours = calendar.business_hours
    for i, (opens, closes) in enumerate(hours):
        earlier = hours[i - 1][1] if i else None
        if opens >= closes or (earlier is not None and opens < earlier):
            problems.append(
                Problem(
                    calendar.source.rsplit("overrides ", 1)[-1],
                    0,
                    0,
                    "calendar_hours",
                    f"business hours {opens:%H:%M}-{closes:%H:%M} do not run forwards "
                    "(each period opens before it closes, periods in order of the day)",
                    json_path(("business_hours", i)),
                )
            )
    if hours:
        return sorted(problems)
    for versions in specs.versions.values():
        for process in versions:
            for i, deadline in enumerate(process.deadlines):
                if deadline.counting.ends == "close" or deadline.duration.kind == "working_hours":
                    problems.append(
                        located(
                            process,
                            ("deadlines", i),
                            "calendar_hours",
                            f"{deadline.id} counts business hours, but the calendar has none",
                        )
                    )
    return sorted(problems)
