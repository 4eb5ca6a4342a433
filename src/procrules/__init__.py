"""procrules: a rules and SLA engine for service-desk business flows."""

__version__ = "0.1.0"  # first: modules imported below read it (the parse cache keys on it)

from .api import Checker, validate_case
from .calendar import Calendar, load_calendar
from .engine import Report
from .errors import CaseError, ProcrulesError, SpecError, UsageError

__all__ = [
    "Calendar",
    "CaseError",
    "Checker",
    "ProcrulesError",
    "Report",
    "SpecError",
    "UsageError",
    "load_calendar",
    "validate_case",
]
