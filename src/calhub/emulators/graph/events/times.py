"""Graph's time formats: ``dateTimeTimeZone`` in and out, query-string instants, timestamps.

- ``dateTimeTimeZone`` (graph.md §1.1): a wall clock without offset plus a Windows or IANA zone
  name; Graph writes seven fractional digits (``2026-03-02T10:00:00.0000000``). An unknown zone is
  ``400 TimeZoneNotSupportedException`` with the live service's message.
- ``createdDateTime`` and friends: UTC with ``Z`` and seven fractional digits.
- ``startDateTime``/``endDateTime`` query parameters (§2.1): ISO 8601; an explicit offset is
  honoured, none means UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from calhub.domain.timezones import UnknownTimeZone, iana_to_windows, resolve_zone
from calhub.emulators.graph.errors import GraphError

NEVER = "0001-01-01T00:00:00Z"
"""Graph's "no time" for a response status that was never given."""

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Zone:
    """A zone as a client named it (echoed back) and the tzinfo it resolves to."""

    name: str
    info: tzinfo


UTC_ZONE = Zone("UTC", UTC)


def zone_named(name: object) -> Zone:
    """The zone for a ``timeZone`` value, or Graph's 400 for one it does not support."""
    if not isinstance(name, str) or not name.strip():
        raise _unsupported_zone("" if name is None else str(name))
    try:
        return Zone(name, resolve_zone(name.strip()))
    except UnknownTimeZone:
        raise _unsupported_zone(name) from None


def preferred_zone(name: str | None) -> Zone | None:
    """The zone a ``Prefer: outlook.timezone`` names; ``None`` when it names none."""
    if not name:
        return None
    try:
        return Zone(name, resolve_zone(name.strip()))
    except UnknownTimeZone:
        return None


def windows_name(zone: Zone) -> str:
    """The Windows name Exchange stores for a zone (``originalStartTimeZone``)."""
    if zone.info is UTC or zone.name in ("UTC", "Etc/UTC"):
        return "UTC"
    try:
        return iana_to_windows(zone.name)
    except UnknownTimeZone:
        return zone.name  # already a Windows name, or one CLDR lists only the other way


def parse_wall_clock(value: object, field: str) -> tuple[datetime, bool]:
    """A naive wall-clock datetime from a ``dateTime`` string, and whether it carried an offset
    (in which case the naive value is in UTC)."""
    if not isinstance(value, str):
        raise GraphError(
            400, "ErrorInvalidRequest", f"The {field} dateTime must be a string, got {value!r}."
        )
    match = _DATE_TIME.match(value.strip())
    if match is None:
        raise _bad_date_time(value, field)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        wall = datetime(  # noqa: DTZ001 - a wall clock; the caller attaches the zone
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(7, "0")[:6]),
        )
    except ValueError:
        raise _bad_date_time(value, field) from None
    if offset is None:
        return wall, False
    return (wall - _offset(offset)).replace(tzinfo=None), True


def parse_date_time_time_zone(value: object, field: str) -> tuple[datetime, Zone]:
    """An aware datetime in the given zone from a Graph ``dateTimeTimeZone`` object."""
    if not isinstance(value, dict):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"The {field} property must be a dateTimeTimeZone object with dateTime and timeZone.",
        )
    keys = {key.lower(): item for key, item in value.items()}
    zone = zone_named(keys.get("timezone"))
    wall, had_offset = parse_wall_clock(keys.get("datetime"), field)
    if had_offset:
        return wall.replace(tzinfo=UTC).astimezone(zone.info), zone
    return wall.replace(tzinfo=zone.info), zone


def parse_query_instant(value: str, name: str) -> datetime:
    """A ``startDateTime``-style query value: ISO 8601, offset honoured, none = UTC."""
    try:
        wall, _ = parse_wall_clock(value, name)  # with an offset, the wall clock is UTC already
    except GraphError:
        raise _bad_parameter(value, name) from None
    return wall.replace(tzinfo=UTC)


def format_wall(value: datetime) -> str:
    """Graph's ``dateTime``: wall clock with seven fractional digits, no offset."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0"


def format_date_midnight(value: date) -> str:
    return f"{value.isoformat()}T00:00:00.0000000"


def format_utc(value: datetime) -> str:
    """A DateTimeOffset in UTC as Graph writes it: ``2026-03-01T08:00:00.1234567Z``."""
    return format_wall(value.astimezone(UTC)) + "Z"


def format_utc_seconds(value: datetime) -> str:
    """A DateTimeOffset in UTC without fractions (``originalStart``, response times)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_time(value: datetime | date, zone: Zone) -> dict[str, Any]:
    """A ``dateTimeTimeZone`` in the output zone; all-day dates stay midnight (floating)."""
    if isinstance(value, datetime):
        return {"dateTime": format_wall(value.astimezone(zone.info)), "timeZone": zone.name}
    return {"dateTime": format_date_midnight(value), "timeZone": zone.name}


def instant(value: datetime | date, zone: tzinfo) -> datetime:
    """The instant an event time denotes; an all-day date is midnight in the event's zone."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=zone)


def _offset(text: str) -> timedelta:
    if text.upper() == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))


def _unsupported_zone(name: str) -> GraphError:
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        "A valid TimeZone value must be specified. "
        f"The following TimeZone value is not supported: '{name}'.",
    )


def _bad_date_time(value: object, field: str) -> GraphError:
    return GraphError(
        400,
        "ErrorInvalidRequest",
        f"Cannot convert the literal '{value}' of {field}.dateTime to a date and time.",
    )


def _bad_parameter(value: str, name: str) -> GraphError:
    return GraphError(
        400, "ErrorInvalidParameter", f"The value '{value}' of parameter '{name}' is invalid."
    )
