"""The recurrence package's errors, in one place:

- ``InvalidRecurrence(ValueError)``: a rule that cannot be understood (bad RRULE text, a rule
  dateutil refuses, such as BYHOUR values an HOURLY INTERVAL can never reach);
- ``ExpansionLimitExceeded(ValueError)``: more occurrences than the caller's limit, or more work
  than the expansion may spend; returned in ``Expansion.truncated`` rather than raised;
- ``RecurrenceTooExpensive`` (both of the above): a COUNT rule that would have to be walked
  through too many instances to reach the window. ``expand`` raises it; ``expand_calendar``
  skips that series and reports it as ``truncated``.
"""

from __future__ import annotations

__all__ = ["ExpansionLimitExceeded", "InvalidRecurrence", "RecurrenceTooExpensive"]


class InvalidRecurrence(ValueError):
    """A recurrence rule that cannot be understood or can never be expanded."""


class ExpansionLimitExceeded(ValueError):
    """More occurrences fell in the window than the caller allowed."""


class RecurrenceTooExpensive(InvalidRecurrence, ExpansionLimitExceeded):
    """A rule that would need too much work to reach the requested window."""
