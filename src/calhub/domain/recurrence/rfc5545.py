"""RRULE text (RFC 5545 section 3.3.10) parsed into a checked, hashable ``RecurrenceRule``.

``parse_rrule`` accepts the value of an RRULE line, with or without the ``RRULE:`` prefix, and
raises ``InvalidRecurrence`` for anything RFC 5545 does not allow (unknown parts, values out of
range, a missing FREQ). Parsing is cached, because the same rule text is expanded over and over.

UNTIL keeps the form it was written in, since its meaning depends on DTSTART:

- a DATE (``20260131``) is a ``date``;
- a UTC DATE-TIME (``20260131T090000Z``) is an aware ``datetime`` in UTC;
- a floating DATE-TIME (``20260131T090000``) is a ``FloatingTime``, a wall-clock reading that
  the expansion places in the series' own zone.

This module does not expand anything; ``calhub.domain.recurrence.expansion`` does.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo

from calhub.domain.recurrence.errors import InvalidRecurrence

__all__ = [
    "FREQUENCIES",
    "FloatingTime",
    "InvalidRecurrence",
    "RecurrenceRule",
    "parse_rrule",
]


# dateutil's frequency numbers, so a parsed rule maps onto ``dateutil.rrule`` without a table.
FREQUENCIES = {
    "YEARLY": 0,
    "MONTHLY": 1,
    "WEEKLY": 2,
    "DAILY": 3,
    "HOURLY": 4,
    "MINUTELY": 5,
    "SECONDLY": 6,
}
WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$")

# (part name, field name, smallest, largest, may it be negative?)
_INT_LISTS = (
    ("BYSECOND", "bysecond", 0, 60, False),
    ("BYMINUTE", "byminute", 0, 59, False),
    ("BYHOUR", "byhour", 0, 23, False),
    ("BYMONTHDAY", "bymonthday", 1, 31, True),
    ("BYYEARDAY", "byyearday", 1, 366, True),
    ("BYWEEKNO", "byweekno", 1, 53, True),
    ("BYMONTH", "bymonth", 1, 12, False),
    ("BYSETPOS", "bysetpos", 1, 366, True),
)


@dataclass(frozen=True, slots=True)
class FloatingTime:
    """A local wall-clock time without a zone (an RFC 5545 "floating" DATE-TIME)."""

    day: date
    clock: time

    def in_zone(self, zone: tzinfo) -> datetime:
        return datetime.combine(self.day, self.clock, tzinfo=zone)


Until = date | datetime | FloatingTime


@dataclass(frozen=True, slots=True)
class RecurrenceRule:
    """One parsed RRULE. ``byweekday`` holds ``(weekday, ordinal or None)`` pairs, Monday = 0."""

    text: str
    freq: int
    interval: int = 1
    count: int | None = None
    until: Until | None = None
    wkst: int = 0
    bysetpos: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    bymonthday: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    byweekday: tuple[tuple[int, int | None], ...] = ()
    byhour: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    bysecond: tuple[int, ...] = ()

    @property
    def has_by_parts(self) -> bool:
        return bool(
            self.bysetpos
            or self.bymonth
            or self.bymonthday
            or self.byyearday
            or self.byweekno
            or self.byweekday
            or self.byhour
            or self.byminute
            or self.bysecond
        )


def _int_list(name: str, value: str, low: int, high: int, signed: bool) -> tuple[int, ...]:
    numbers: list[int] = []
    for item in value.split(","):
        try:
            number = int(item)
        except ValueError:
            raise InvalidRecurrence(f"{name} needs integers, got {item!r}") from None
        if not low <= abs(number) <= high or (number < 0 and not signed):
            raise InvalidRecurrence(f"{name} value {number} is out of range")
        numbers.append(number)
    return tuple(sorted(set(numbers)))


def _byday(value: str) -> tuple[tuple[int, int | None], ...]:
    days: set[tuple[int, int | None]] = set()
    for item in value.split(","):
        match = _BYDAY.match(item.strip().upper())
        if match is None:
            raise InvalidRecurrence(f"BYDAY value {item!r} is not a weekday")
        ordinal = int(match.group(1)) if match.group(1) else None
        if ordinal is not None and not 1 <= abs(ordinal) <= 53:
            raise InvalidRecurrence(f"BYDAY ordinal {ordinal} is out of range")
        days.add((WEEKDAYS[match.group(2)], ordinal))
    return tuple(sorted(days, key=lambda day: (day[0], day[1] or 0)))


def _until(value: str) -> Until:
    match = _UNTIL.match(value)
    if match is None:
        raise InvalidRecurrence(f"UNTIL value {value!r} is not a DATE or DATE-TIME")
    year, month, day, hour, minute, second, zulu = match.groups()
    try:
        day_value = date(int(year), int(month), int(day))
        if hour is None:
            return day_value
        clock = time(int(hour), int(minute), min(int(second), 59))
    except ValueError as exc:
        raise InvalidRecurrence(f"UNTIL value {value!r}: {exc}") from None
    if zulu:
        return datetime.combine(day_value, clock, tzinfo=UTC)
    return FloatingTime(day_value, clock)


def _positive(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidRecurrence(f"{name} needs an integer, got {value!r}") from None
    if number < 1:
        raise InvalidRecurrence(f"{name} must be at least 1, got {number}")
    return number


@functools.lru_cache(maxsize=4096)
def parse_rrule(text: str) -> RecurrenceRule:
    """Parse one RRULE value; raises ``InvalidRecurrence`` with the reason."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body:
        raise InvalidRecurrence("empty RRULE")
    fields: dict[str, object] = {}
    seen: set[str] = set()
    for part in body.split(";"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        value = value.strip()
        if not sep or not value:
            raise InvalidRecurrence(f"RRULE part {part!r} is not NAME=VALUE")
        if name in seen:
            raise InvalidRecurrence(f"RRULE part {name} appears twice")
        seen.add(name)
        if name == "FREQ":
            if value.upper() not in FREQUENCIES:
                raise InvalidRecurrence(f"unknown FREQ {value!r}")
            fields["freq"] = FREQUENCIES[value.upper()]
        elif name == "INTERVAL":
            fields["interval"] = _positive(name, value)
        elif name == "COUNT":
            fields["count"] = _positive(name, value)
        elif name == "UNTIL":
            fields["until"] = _until(value.upper())
        elif name == "WKST":
            if value.upper() not in WEEKDAYS:
                raise InvalidRecurrence(f"WKST {value!r} is not a weekday")
            fields["wkst"] = WEEKDAYS[value.upper()]
        elif name == "BYDAY":
            fields["byweekday"] = _byday(value)
        elif name.startswith("X-"):
            continue  # RFC 5545 section 3.3.10 allows extensions; they do not change the set
        else:
            for part_name, field_name, low, high, signed in _INT_LISTS:
                if name == part_name:
                    fields[field_name] = _int_list(name, value, low, high, signed)
                    break
            else:
                raise InvalidRecurrence(f"unknown RRULE part {name!r}")
    if "freq" not in fields:
        raise InvalidRecurrence(f"RRULE without FREQ: {text!r}")
    if "bysetpos" in fields and not any(
        name.startswith("BY") and name != "BYSETPOS" for name in seen
    ):
        raise InvalidRecurrence("BYSETPOS needs another BYxxx part to select from")
    return RecurrenceRule(text=body, **fields)  # type: ignore[arg-type]
