"""procrules: a rules and SLA engine for service-desk business flows."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # read by the parse cache (cache.py), which keys its entries on it

if TYPE_CHECKING:
    from .api import Checker, validate_case
    from .calendar import Calendar, load_calendar
    from .engine import Report
    from .errors import CaseError, InternalError, ProcrulesError, SpecError, UsageError
    from .limits import Limits

__all__ = [
    "Calendar",
    "CaseError",
    "Checker",
    "InternalError",
    "Limits",
    "ProcrulesError",
    "Report",
    "SpecError",
    "UsageError",
    "load_calendar",
    "validate_case",
]

# The public names are imported on first use (PEP 562), so that importing one module of the
# package (the command line, say) does not load the engine and the validators with it.
_HOME = {
    "Calendar": "calendar",
    "CaseError": "errors",
    "Checker": "api",
    "InternalError": "errors",
    "Limits": "limits",
    "ProcrulesError": "errors",
    "Report": "engine",
    "SpecError": "errors",
    "UsageError": "errors",
    "load_calendar": "calendar",
    "validate_case": "api",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'procrules' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
