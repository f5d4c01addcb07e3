"""The time windows meetings lists cover (issue 6, "Meetings list"; joinlinks.md §1.8).

- ``user_window``: a person's list. Bounds are ISO 8601 dates (midnight in the viewer's zone),
  local date-times (wall clock in that zone) or date-times with an offset. Without a start it
  begins today at midnight in the zone; without an end it runs 7 days (of wall clock, or as many
  as asked) from the start. It must end after it starts and span at most 62 days.
- ``device_window``: a device's feed, from now (meetings in progress included, since they
  overlap it) to 08:00 on the day after the last of ``days`` days in the device's zone: the end
  of the day plus 8 hours, as room devices keep it, read on the wall clock so that a night with
  a DST change still ends at 08:00.

Days are wall-clock days: across a DST change a "7 day" window is 7 × 24 h ± 1 h.
Errors: ``InvalidWindow`` names the offending query parameter.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from calhub.domain.timezones import UnknownTimeZone, local_midnight, resolve_zone

__all__ = [
    "DEFAULT_USER_DAYS",
    "MAX_DEVICE_DAYS",
    "MAX_USER_SPAN",
    "InvalidWindow",
    "device_window",
    "parse_zone",
    "user_window",
]

DEFAULT_USER_DAYS = 7
MAX_USER_SPAN = timedelta(days=62)
MAX_DEVICE_DAYS = 7
DEVICE_DAY_END = time(8)  # "the end of the day plus 8 hours"


class InvalidWindow(ValueError):
    """A window that cannot be used; ``parameter`` names the query parameter at fault."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


def parse_zone(name: str, parameter: str = "tz") -> ZoneInfo:
    """The zone ``name`` (IANA, or a Windows name) or ``InvalidWindow``."""
    try:
        return resolve_zone(name)
    except UnknownTimeZone as exc:
        raise InvalidWindow(parameter, f"unknown time zone {name!r}") from exc


def _wall_clock(value: datetime, zone: ZoneInfo) -> datetime:
    """``value`` (naive, read on ``zone``'s wall clock) as an instant the zone really shows."""
    return value.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).astimezone(zone)


def _parse_bound(text: str, zone: ZoneInfo, parameter: str) -> datetime:
    value = text.strip()
    try:
        if "T" not in value and " " not in value:
            return local_midnight(date.fromisoformat(value), zone)
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidWindow(
            parameter,
            "not an ISO 8601 date or date-time (URL-encode '+' in offsets as %2B)",
        ) from exc
    if parsed.tzinfo is None:
        return _wall_clock(parsed, zone)
    return parsed.astimezone(zone)


def _plus_days(start: datetime, days: int, zone: ZoneInfo) -> datetime:
    local = start.astimezone(zone).replace(tzinfo=None)
    return _wall_clock(local + timedelta(days=days), zone)


def user_window(
    now: datetime,
    zone: ZoneInfo,
    start: str | None = None,
    end: str | None = None,
    days: int = DEFAULT_USER_DAYS,
) -> tuple[datetime, datetime]:
    """``[start, end)`` of a person's meetings list, as instants in ``zone`` (module doc);
    without an ``end`` it lasts ``days`` days."""
    begin = (
        _parse_bound(start, zone, "start")
        if start is not None
        else local_midnight(now.astimezone(zone).date(), zone)
    )
    finish = _parse_bound(end, zone, "end") if end is not None else _plus_days(begin, days, zone)
    if finish <= begin:
        raise InvalidWindow("end", "must be after start")
    span = finish.astimezone(zone).replace(tzinfo=None) - begin.astimezone(zone).replace(
        tzinfo=None
    )
    if span > MAX_USER_SPAN:
        raise InvalidWindow("end", f"the window may span at most {MAX_USER_SPAN.days} days")
    return begin, finish


def device_window(now: datetime, zone: ZoneInfo, days: int = 1) -> tuple[datetime, datetime]:
    """``[now, 08:00 on the day after the last of ``days`` days)`` in the device's ``zone``."""
    if not 1 <= days <= MAX_DEVICE_DAYS:
        raise InvalidWindow("days", f"must be between 1 and {MAX_DEVICE_DAYS}")
    today = now.astimezone(zone).date()
    end = _wall_clock(datetime.combine(today + timedelta(days=days), DEVICE_DAY_END), zone)
    return now.astimezone(zone), end
