"""``freebusy.query`` (google.md §5): busy intervals per calendar, errors inside the 200.

Busy time is the calendar's opaque events that are neither cancelled nor declined by its owner,
merged and clipped to the asked range. An unknown calendar, or one of another customer, gets
``notFound`` in its entry rather than failing the request; more than ``calendarExpansionMax``
calendars (at most 50) get ``tooManyCalendarsRequested``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from calhub.emulators.google.calendar.times import parse_query_time, rfc3339, zone
from calhub.emulators.google.errors import GoogleError

if TYPE_CHECKING:
    from calhub.emulators.google.calendar.store import CalendarStore, Interval

MAX_CALENDARS = 50
# Observed, not documented: Google answers 400 timeRangeTooLong for ranges past roughly three
# months, and clients chunk to 90 days (google.md §5.1). We allow 93 days.
MAX_RANGE = timedelta(days=93)


def _required(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise GoogleError(400, "required", f"Missing {name}.", location=name,
                          location_type="parameter")  # fmt: skip
    return value


def query(store: CalendarStore, customer_id: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GoogleError(400, "parseError", "Invalid JSON payload.")
    lo = parse_query_time(_required(body, "timeMin"), "timeMin")
    hi = parse_query_time(_required(body, "timeMax"), "timeMax")
    if hi <= lo:
        raise GoogleError(
            400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar",
            location="timeMax", location_type="parameter",
        )  # fmt: skip
    if hi - lo > MAX_RANGE:
        raise GoogleError(400, "timeRangeTooLong", "The requested time range is too long.",
                          domain="calendar")  # fmt: skip
    expansion = body.get("calendarExpansionMax", MAX_CALENDARS)
    if not isinstance(expansion, int) or not 1 <= expansion <= MAX_CALENDARS:
        raise GoogleError(400, "invalid", "Invalid calendarExpansionMax value.")
    items = body.get("items") or []
    if not isinstance(items, list) or len(items) > MAX_CALENDARS:
        raise GoogleError(400, "invalid", "Invalid items: at most 50 calendars may be queried.")
    out_zone = zone(body.get("timeZone") or "UTC")
    calendars: dict[str, Any] = {}
    for index, item in enumerate(items):
        calendar_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(calendar_id, str):
            raise GoogleError(400, "required", "Missing calendar id.")
        if index >= expansion:
            calendars[calendar_id] = _error("tooManyCalendarsRequested")
            continue
        info = store.calendar_info(calendar_id)
        calendar = store.calendar(calendar_id) if info is not None else None
        if info is None or calendar is None or info.customer_id != customer_id:
            calendars[calendar_id] = _error("notFound")
            continue
        busy = _merge(store.busy(calendar, (lo, hi)), (lo, hi))
        calendars[calendar_id] = {
            "busy": [
                {"start": rfc3339(s.astimezone(out_zone)), "end": rfc3339(e.astimezone(out_zone))}
                for s, e in busy
            ]
        }
    return {
        "kind": "calendar#freeBusy",
        "timeMin": rfc3339(lo.astimezone(out_zone)),
        "timeMax": rfc3339(hi.astimezone(out_zone)),
        "calendars": calendars,
    }


def _error(reason: str) -> dict[str, Any]:
    return {"errors": [{"domain": "global", "reason": reason}], "busy": []}


def _merge(intervals: list[Interval], window: Interval) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        start, end = max(start, window[0]), min(end, window[1])
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
