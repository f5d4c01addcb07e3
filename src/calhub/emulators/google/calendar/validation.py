"""Reading an event body from insert/update/patch into what the store keeps (google.md §1).

The rules checked here are Google's: ids in base32hex of 5..1024 characters (§1.1), start and end
both dates or both date-times with end after start (§1.3), a time zone on recurring events and no
DTSTART in ``recurrence`` (§1.4), ``outOfOffice`` timed and opaque (§1.2), ``eventType``
immutable, attendees with an email (§1.5). ``status``, ``transparency`` and ``visibility`` take
only their documented values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from calhub.domain.events import Recurrence
from calhub.emulators.google.calendar.model import WRITABLE, Meeting
from calhub.emulators.google.calendar.times import When, bad_request, parse_recurrence, parse_when
from calhub.emulators.google.errors import GoogleError

_ID = re.compile(r"[a-v0-9]{5,1024}")
_ENUMS = {
    "status": ("confirmed", "tentative", "cancelled"),
    "transparency": ("opaque", "transparent"),
    "visibility": ("default", "public", "private", "confidential"),
    "eventType": ("default", "outOfOffice", "focusTime", "workingLocation"),
}
_RESPONSES = ("needsAction", "declined", "tentative", "accepted")


@dataclass(frozen=True, slots=True)
class Parsed:
    data: dict[str, Any]
    start: When
    end: When
    recurrence: Recurrence | None
    private: dict[str, str] | None  # None: the body did not touch private properties


def check_id(event_id: Any) -> str:
    if not isinstance(event_id, str) or not _ID.fullmatch(event_id):
        raise bad_request("Invalid resource id value.")
    return event_id


def parse_body(body: Any, base: Meeting | None, *, patch: bool) -> Parsed:
    """``base`` is the stored meeting for update/patch; ``patch`` merges into it."""
    if not isinstance(body, Mapping):
        raise bad_request("Invalid JSON payload.", "parseError")
    data: dict[str, Any] = dict(base.data) if patch and base is not None else {}
    for key, value in body.items():
        if key in WRITABLE:
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
    shared = _properties(body, "shared")
    if shared is not None:
        data["extendedProperties"] = {"shared": shared} if shared else {}
    elif not patch:
        data.pop("extendedProperties", None)
    if patch and base is not None:
        start = parse_when(body["start"], "start") if "start" in body else base.start
        end = parse_when(body["end"], "end") if "end" in body else base.end
    else:
        if "start" not in body:
            raise bad_request("Missing start time.", "required")
        if "end" not in body:
            raise bad_request("Missing end time.", "required")
        start, end = parse_when(body["start"], "start"), parse_when(body["end"], "end")
    _check_times(start, end)
    recurrence = None
    if data.get("recurrence"):
        if base is not None and base.parent_id is not None:
            raise bad_request("Invalid recurrence rule.")
        if not start.all_day and (start.time_zone is None or end.time_zone is None):
            raise bad_request("Missing time zone definition for start time.", "required")
        recurrence = parse_recurrence(data["recurrence"], start)
    else:
        data.pop("recurrence", None)
    _check_fields(data, start, base)
    if "attendees" in data:
        data["attendees"] = _attendees(data["attendees"])
    return Parsed(data, start, end, recurrence, _properties(body, "private"))


def _check_times(start: When, end: When) -> None:
    if start.all_day != end.all_day:
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    if end.instant() < start.instant():
        raise GoogleError(400, "timeRangeEmpty", "The specified time range is empty.")


def _check_fields(data: dict[str, Any], start: When, base: Meeting | None) -> None:
    for name, allowed in _ENUMS.items():
        if name in data and data[name] not in allowed:
            raise bad_request(f"Invalid value for: {name}")
    kind = data.get("eventType", "default")
    if base is not None and kind != base.data.get("eventType", "default"):
        raise bad_request("The event type cannot be changed.", "eventTypeRestriction")
    if kind in ("outOfOffice", "focusTime"):
        if start.all_day:
            raise bad_request(
                "An out of office event cannot be an all-day event."
                if kind == "outOfOffice"
                else "A focus time event cannot be an all-day event.",
                "eventTypeRestriction",
            )
        if data.get("transparency", "opaque") != "opaque":
            raise bad_request("Invalid transparency for this event type.", "eventTypeRestriction")
    if kind != "outOfOffice":
        data.pop("outOfOfficeProperties", None)
    if kind != "focusTime":
        data.pop("focusTimeProperties", None)
    if kind != "workingLocation":
        data.pop("workingLocationProperties", None)
    sequence = data.get("sequence", 0)
    if not isinstance(sequence, int) or sequence < 0:
        raise bad_request("Invalid sequence value.")


def _attendees(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise bad_request("Invalid attendees.")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in raw:
        email = item.get("email") if isinstance(item, Mapping) else None
        if not isinstance(email, str) or "@" not in email:
            raise bad_request("Missing attendee email.", "required")
        if email.lower() in seen:
            continue
        seen.add(email.lower())
        attendee = {
            k: v
            for k, v in item.items()
            if k
            in ("email", "displayName", "optional", "resource", "responseStatus", "comment",
                "additionalGuests")
        }  # fmt: skip
        attendee.setdefault("responseStatus", "needsAction")
        if attendee["responseStatus"] not in _RESPONSES:
            raise bad_request("Invalid attendee response status.")
        out.append(attendee)
    return out


def _properties(body: Mapping[str, Any], which: str) -> dict[str, str] | None:
    props = body.get("extendedProperties")
    if not isinstance(props, Mapping) or which not in props:
        return None
    values = props[which] or {}
    if not isinstance(values, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise bad_request(f"Invalid extended properties ({which}).")
    return dict(values)
