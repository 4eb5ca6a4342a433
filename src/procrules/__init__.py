"""procrules: a rules and SLA engine for service-desk business flows."""

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
__version__ = "0.1.0"
