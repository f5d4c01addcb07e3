"""Recurrence: RFC 5545 rules parsed, bound to a start and expanded into bounded windows.

``expand`` turns a series and its overrides into occurrences; ``parse_rrule`` checks RRULE text;
``calhub.domain.recurrence.ical`` reads iCalendar files into events; ``graph`` translates
Microsoft Graph's patterned recurrence into the same ``Recurrence`` shape.
"""

from calhub.domain.recurrence.errors import (
    ExpansionLimitExceeded,
    InvalidRecurrence,
    RecurrenceTooExpensive,
)
from calhub.domain.recurrence.expansion import Expansion, expand
from calhub.domain.recurrence.rfc5545 import RecurrenceRule, parse_rrule

__all__ = [
    "Expansion",
    "ExpansionLimitExceeded",
    "InvalidRecurrence",
    "RecurrenceRule",
    "RecurrenceTooExpensive",
    "expand",
    "parse_rrule",
]
