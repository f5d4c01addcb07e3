"""Graph event JSON → ``ProviderEvent`` / ``Removal`` (graph.md §1.1–1.3, §3.2).

Items are read as ``calendarView/delta`` returns them with ``Prefer: IdType="ImmutableId",
outlook.timezone="UTC"``:

- ``{"id", "@removed": {...}}`` → ``Removal``;
- ``type`` ``singleInstance`` → SINGLE, ``seriesMaster`` → SERIES (the recurrence translated by
  ``calhub.domain.recurrence.graph.graph_series``; start/end become the first occurrence, in the
  series' own zone: ``recurrenceTimeZone``, else ``originalStartTimeZone``, so the series expands
  across DST as Exchange does), ``exception`` → EXCEPTION (``seriesMasterId``, ``originalStart``),
  ``occurrence`` → OCCURRENCE (delta trims these to id, master, type and times; an unchanged
  instance starts where the series put it, so its original start is its start);
- all-day items (``isAllDay``) carry dates; timed ones aware datetimes in the event's zone;
- ``cancelledOccurrences`` (``OID.{masterId}.{yyyy-mm-dd}``, the date in the series zone; see
  docs/graph-emulator.md) → ``cancelled_starts`` at the series' wall-clock start time;
- ``sensitivity`` private or confidential → ``is_private``; body content kept as sent with its
  ``contentType``; ``isOrganizer``; ``onlineMeeting.joinUrl`` (else ``onlineMeetingUrl``) as the
  provider's hint for join detection; ``iCalUId`` (shared by every mailbox's copy of a meeting).

Attendees without an address (Graph shows some external or deleted recipients that way) are left
out. Anything else that cannot be read raises ``InvalidResponse`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from calhub.domain.events import (
    Attendee,
    AttendeeKind,
    EventTime,
    InvalidEvent,
    ResponseStatus,
    ShowAs,
)
from calhub.domain.joinlinks import BodyFormat, ProviderHints
from calhub.domain.recurrence.graph import InvalidGraphRecurrence, graph_series
from calhub.domain.sync.changes import Change, ItemKind, ProviderEvent, Removal
from calhub.domain.timezones import UnknownTimeZone, resolve_zone
from calhub.providers.base import InvalidResponse

__all__ = ["map_event"]

_KINDS: Final[Mapping[str, ItemKind]] = {
    "singleinstance": ItemKind.SINGLE,
    "seriesmaster": ItemKind.SERIES,
    "exception": ItemKind.EXCEPTION,
    "occurrence": ItemKind.OCCURRENCE,
}
_SHOW_AS: Final[Mapping[str, ShowAs]] = {
    "free": ShowAs.FREE,
    "tentative": ShowAs.TENTATIVE,
    "busy": ShowAs.BUSY,
    "oof": ShowAs.OUT_OF_OFFICE,
    "workingelsewhere": ShowAs.WORKING_ELSEWHERE,
    "unknown": ShowAs.UNKNOWN,
    "unknownfuturevalue": ShowAs.UNKNOWN,
}
_RESPONSES: Final[Mapping[str, ResponseStatus]] = {
    "none": ResponseStatus.NONE,
    "organizer": ResponseStatus.ORGANIZER,
    "accepted": ResponseStatus.ACCEPTED,
    "tentativelyaccepted": ResponseStatus.TENTATIVE,
    "declined": ResponseStatus.DECLINED,
    "notresponded": ResponseStatus.NOT_RESPONDED,
}
_ATTENDEE_KINDS: Final[Mapping[str, AttendeeKind]] = {
    "required": AttendeeKind.REQUIRED,
    "optional": AttendeeKind.OPTIONAL,
    "resource": AttendeeKind.RESOURCE,
}
_PRIVATE: Final = frozenset({"private", "confidential"})
# Graph writes up to seven fractional digits; Python reads at most six.
_WALL_CLOCK = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$")
_CANCELLED = re.compile(r"OID\.(.+)\.(\d{4}-\d\d-\d\d)$")


def map_event(item: Mapping[str, Any]) -> Change:
    """One delta/calendarView item as a domain change; ``InvalidResponse`` if unreadable."""
    event_id = _text(item, "id", required=True)
    if "@removed" in item:
        return Removal(event_id)
    try:
        return _event(item, event_id)
    except InvalidEvent as exc:  # the domain refused the values (end before start, ...)
        raise InvalidResponse(f"event {event_id}: {exc}") from exc


def _event(item: Mapping[str, Any], event_id: str) -> ProviderEvent:
    raw_kind = _text(item, "type", required=True)
    kind = _KINDS.get(raw_kind.lower())
    if kind is None:
        raise InvalidResponse(f"event {event_id}: type: unknown value {raw_kind!r}")
    all_day = item.get("isAllDay") is True
    own_zone_name = _zone_name(item.get("originalStartTimeZone"))
    own_zone = ZoneInfo(own_zone_name)
    start = _time(item, "start", all_day, own_zone)
    end = _time(item, "end", all_day, own_zone)
    if _before(end, start):
        raise InvalidResponse(f"event {event_id}: end is before start")
    fields: dict[str, Any] = {}
    if kind is ItemKind.SERIES:
        fields = _series(item, event_id, start, end, own_zone_name)
        start, end = fields.pop("start"), fields.pop("end")
    elif kind in (ItemKind.EXCEPTION, ItemKind.OCCURRENCE):
        fields["series_provider_id"] = _text(item, "seriesMasterId", required=True)
        original = _original_start(item, all_day, own_zone)
        fields["original_start"] = start if original is None else original
        if kind is ItemKind.EXCEPTION and original is None:
            raise InvalidResponse(f"event {event_id}: originalStart is missing on an exception")
    return ProviderEvent(
        provider_event_id=event_id,
        kind=kind,
        start=start,
        end=end,
        time_zone=fields.pop("time_zone", own_zone_name),
        subject=_text(item, "subject"),
        body=_body(item),
        location=_location(item),
        organizer=_organizer(item),
        attendees=_attendees(item),
        show_as=_show_as(item),
        is_private=_text(item, "sensitivity").lower() in _PRIVATE,
        is_cancelled=_flag(item, "isCancelled"),
        change_key=_text(item, "changeKey") or _etag(item),
        body_format=_body_format(item),
        is_organizer=_flag(item, "isOrganizer"),
        hints=_hints(item),
        ical_uid=_text(item, "iCalUId") or None,
        **fields,
    )


def _before(end: EventTime, start: EventTime) -> bool:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return end < start
    return not isinstance(start, datetime) and not isinstance(end, datetime) and end < start


def _series(
    item: Mapping[str, Any], event_id: str, start: EventTime, end: EventTime, own_zone: str
) -> dict[str, Any]:
    recurrence = item.get("recurrence")
    if not isinstance(recurrence, Mapping):
        raise InvalidResponse(f"event {event_id}: recurrence is missing on a series master")
    range_ = recurrence.get("range")
    zone_name = own_zone
    if isinstance(range_, Mapping) and range_.get("recurrenceTimeZone"):
        zone_name = _zone_name(range_["recurrenceTimeZone"])
    zone = ZoneInfo(zone_name)
    if isinstance(start, datetime) and isinstance(end, datetime):
        start, end = start.astimezone(zone), end.astimezone(zone)
    try:
        series = graph_series(recurrence, start, end)
    except InvalidGraphRecurrence as exc:
        raise InvalidResponse(f"event {event_id}: recurrence: {exc}") from exc
    return {
        "start": series.start,
        "end": series.end,
        "time_zone": zone_name,
        "recurrence": series.recurrence,
        "cancelled_starts": _cancelled(item, event_id, series.start),
    }


def _cancelled(item: Mapping[str, Any], event_id: str, first: EventTime) -> tuple[EventTime, ...]:
    raw = item.get("cancelledOccurrences") or []
    if not isinstance(raw, list):
        raise InvalidResponse(f"event {event_id}: cancelledOccurrences must be a list")
    starts: list[EventTime] = []
    for entry in raw:
        match = _CANCELLED.match(entry) if isinstance(entry, str) else None
        if match is None:
            raise InvalidResponse(f"event {event_id}: cancelledOccurrences: cannot read {entry!r}")
        day = date.fromisoformat(match.group(2))
        if isinstance(first, datetime):
            # The series' wall-clock time on that day in its zone: DST moves the UTC instant.
            starts.append(datetime.combine(day, first.time(), first.tzinfo))
        else:
            starts.append(day)
    return tuple(starts)


def _time(item: Mapping[str, Any], name: str, all_day: bool, own_zone: tzinfo) -> EventTime:
    value = item.get(name)
    if not isinstance(value, Mapping):
        raise InvalidResponse(f"event {item.get('id')}: {name} must be a dateTimeTimeZone object")
    wall = _wall_clock(value.get("dateTime"), f"{name}.dateTime", item)
    zone_text = value.get("timeZone") or "UTC"
    try:
        zone = resolve_zone(zone_text) if isinstance(zone_text, str) else None
    except UnknownTimeZone:
        zone = None
    if zone is None:
        raise InvalidResponse(f"event {item.get('id')}: {name}.timeZone: unknown {zone_text!r}")
    moment = wall.replace(tzinfo=zone)
    if not all_day:
        return moment.astimezone(own_zone)
    if moment.time() == time(0):
        return moment.date()
    # An all-day item rendered in another zone than its own: its day is the one in its zone.
    return moment.astimezone(own_zone).date()


def _original_start(item: Mapping[str, Any], all_day: bool, own_zone: tzinfo) -> EventTime | None:
    raw = item.get("originalStart")
    if raw is None:
        return None
    moment = _wall_clock(raw, "originalStart", item)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(own_zone)
    return local.date() if all_day else local


def _wall_clock(raw: object, field: str, item: Mapping[str, Any]) -> datetime:
    match = _WALL_CLOCK.match(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise InvalidResponse(f"event {item.get('id')}: {field}: cannot read {raw!r}")
    whole, fraction, offset = match.groups()
    text = whole + (f".{fraction[:6]}" if fraction else "") + (offset or "")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _zone_name(raw: object) -> str:
    """The IANA name for an event's own zone; UTC when absent or Outlook-custom."""
    if not isinstance(raw, str) or not raw:
        return "UTC"
    try:
        return resolve_zone(raw).key
    except UnknownTimeZone:  # includes tzone://Microsoft/Custom: times still come in UTC
        return "UTC"


def _body(item: Mapping[str, Any]) -> str:
    body = item.get("body")
    if body is None:
        return ""
    if not isinstance(body, Mapping):
        raise InvalidResponse(f"event {item.get('id')}: body must be an itemBody object")
    content = body.get("content") or ""
    if not isinstance(content, str):
        raise InvalidResponse(f"event {item.get('id')}: body.content must be a string")
    return content


def _body_format(item: Mapping[str, Any]) -> BodyFormat:
    body = item.get("body")
    content_type = body.get("contentType") if isinstance(body, Mapping) else None
    return "text" if isinstance(content_type, str) and content_type.lower() == "text" else "html"


def _hints(item: Mapping[str, Any]) -> ProviderHints | None:
    """Teams (or Skype) meeting data Graph keeps beside the body (joinlinks.md §2.10)."""
    meeting = item.get("onlineMeeting")
    join_url = meeting.get("joinUrl") if isinstance(meeting, Mapping) else None
    if not isinstance(join_url, str) or not join_url:
        join_url = item.get("onlineMeetingUrl")
    if not isinstance(join_url, str) or not join_url:
        return None
    return ProviderHints(online_meeting_join_url=join_url)


def _location(item: Mapping[str, Any]) -> str:
    location = item.get("location")
    if location is None:
        return ""
    if not isinstance(location, Mapping):
        raise InvalidResponse(f"event {item.get('id')}: location must be an object")
    name = location.get("displayName") or ""
    if not isinstance(name, str):
        raise InvalidResponse(f"event {item.get('id')}: location.displayName must be a string")
    return name


def _organizer(item: Mapping[str, Any]) -> Attendee | None:
    organizer = item.get("organizer")
    if organizer is None:
        return None
    address, name = _recipient(organizer, "organizer", item)
    return Attendee(address, name, response=ResponseStatus.ORGANIZER) if address else None


def _attendees(item: Mapping[str, Any]) -> tuple[Attendee, ...]:
    raw = item.get("attendees") or []
    if not isinstance(raw, list):
        raise InvalidResponse(f"event {item.get('id')}: attendees must be a list")
    attendees = []
    for index, entry in enumerate(raw):
        field = f"attendees[{index}]"
        address, name = _recipient(entry, field, item)
        if not address:
            continue
        kind = _ATTENDEE_KINDS.get(str(entry.get("type") or "required").lower())
        status = entry.get("status") or {}
        response = _RESPONSES.get(
            str(status.get("response") or "none").lower() if isinstance(status, Mapping) else ""
        )
        if kind is None or response is None:
            raise InvalidResponse(f"event {item.get('id')}: {field}: unknown type or status")
        attendees.append(Attendee(address, name, kind, response))
    return tuple(attendees)


def _recipient(raw: object, field: str, item: Mapping[str, Any]) -> tuple[str, str]:
    email = raw.get("emailAddress") if isinstance(raw, Mapping) else None
    if not isinstance(email, Mapping):
        raise InvalidResponse(f"event {item.get('id')}: {field}.emailAddress must be an object")
    address, name = email.get("address") or "", email.get("name") or ""
    if not isinstance(address, str) or not isinstance(name, str):
        raise InvalidResponse(f"event {item.get('id')}: {field}.emailAddress must hold strings")
    return (address if "@" in address else ""), name


def _show_as(item: Mapping[str, Any]) -> ShowAs:
    raw = item.get("showAs")
    if raw is None:
        return ShowAs.BUSY
    found = _SHOW_AS.get(raw.lower()) if isinstance(raw, str) else None
    if found is None:
        raise InvalidResponse(f"event {item.get('id')}: showAs: unknown value {raw!r}")
    return found


def _text(item: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = item.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidResponse(f"event {item.get('id')}: {name} must be a string, got {value!r}")
    return value


def _flag(item: Mapping[str, Any], name: str) -> bool:
    value = item.get(name, False)
    if not isinstance(value, bool):
        raise InvalidResponse(f"event {item.get('id')}: {name} must be a boolean")
    return value


def _etag(item: Mapping[str, Any]) -> str:
    etag = item.get("@odata.etag")
    if not isinstance(etag, str):
        return ""
    return etag.removeprefix("W/").strip('"')
