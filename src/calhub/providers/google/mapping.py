"""Google Calendar event JSON → ``ProviderEvent`` / ``Removal`` (google.md §1, §2.3).

Items are read as ``events.list`` returns them without ``singleEvents`` (series are expanded by
the hub): single events, recurring parents (``recurrence``) and the instances that differ from
their parent (exceptions, with ``recurringEventId`` and ``originalStartTime``). In an
incremental sync deletions come as ``status: cancelled``:

- a cancelled item with ``recurringEventId`` is a cancelled instance (only ``id``,
  ``recurringEventId`` and ``originalStartTime`` are guaranteed) → a cancelled EXCEPTION at its
  original start, which takes that slot out of the series;
- any other cancelled item is a deleted event (only ``id`` is guaranteed) → ``Removal``.

Times: ``date`` is an all-day date (``end`` exclusive), ``dateTime`` an RFC 3339 instant read in
the event's ``timeZone``, else the calendar's zone (``default_zone``, the list's ``timeZone``).
Recurrence lines (``RRULE:``, ``EXDATE``, ``RDATE``, RFC 5545 values with ``TZID`` or ``Z``;
floating values are read in the event's zone) become a ``Recurrence``. ``visibility`` private or
confidential → ``is_private``; ``transparency: transparent`` → free; ``eventType`` outOfOffice →
out of office, ``workingLocation`` → working elsewhere; ``status: tentative`` → tentative.
``conferenceData`` entry points and ``hangoutLink`` are the provider's hints for join detection;
``etag`` is the change key; ``organizer.self`` says this copy is the organizer's.

An item that cannot be read raises ``InvalidResponse`` naming the event and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from calhub.domain.events import (
    Attendee,
    AttendeeKind,
    EventTime,
    InvalidEvent,
    Recurrence,
    ResponseStatus,
    ShowAs,
)
from calhub.domain.joinlinks import BodyFormat, ProviderHints
from calhub.domain.joinlinks.model import entry_points_from_conference_data
from calhub.domain.sync.changes import Change, ItemKind, ProviderEvent, Removal
from calhub.domain.timezones import UnknownTimeZone, resolve_zone
from calhub.providers.base import InvalidResponse

__all__ = ["map_event"]

_RESPONSES: Final[Mapping[str, ResponseStatus]] = {
    "needsAction": ResponseStatus.NOT_RESPONDED,
    "accepted": ResponseStatus.ACCEPTED,
    "tentative": ResponseStatus.TENTATIVE,
    "declined": ResponseStatus.DECLINED,
}
_EVENT_TYPE_SHOW_AS: Final[Mapping[str, ShowAs]] = {
    "outOfOffice": ShowAs.OUT_OF_OFFICE,
    "workingLocation": ShowAs.WORKING_ELSEWHERE,
    "focusTime": ShowAs.BUSY,
}
_PRIVATE: Final = frozenset({"private", "confidential"})
_HTML: Final = re.compile(r"<[a-zA-Z/][^>]*>")
_LINE: Final = re.compile(r"^(?P<name>[A-Z]+)(?P<params>(;[^:]*)?):(?P<values>.*)$")
_DATE_VALUE: Final = re.compile(r"^(\d{4})(\d\d)(\d\d)$")
_DATE_TIME_VALUE: Final = re.compile(r"^\d{8}T\d{6}(Z?)$")


def map_event(item: Mapping[str, Any], default_zone: str = "UTC") -> Change:
    """One ``events.list`` item as a domain change; ``InvalidResponse`` if unreadable."""
    event_id = _text(item, "id", event_id="?", required=True)
    try:
        if item.get("status") == "cancelled":
            if "recurringEventId" not in item:
                return Removal(event_id)
            return _cancelled_instance(item, event_id, default_zone)
        return _event(item, event_id, default_zone)
    except InvalidEvent as exc:  # the domain refused the values (end before start, ...)
        raise InvalidResponse(f"event {event_id}: {exc}") from exc


def _cancelled_instance(item: Mapping[str, Any], event_id: str, zone_name: str) -> ProviderEvent:
    zone_name = _zone_name(item.get("originalStartTime"), zone_name)
    original = _time(item, "originalStartTime", event_id, ZoneInfo(zone_name))
    return ProviderEvent(
        provider_event_id=event_id,
        kind=ItemKind.EXCEPTION,
        start=original,
        end=original,
        time_zone=zone_name,
        is_cancelled=True,
        series_provider_id=_text(item, "recurringEventId", event_id=event_id, required=True),
        original_start=original,
        change_key=_text(item, "etag", event_id=event_id),
        ical_uid=_text(item, "iCalUID", event_id=event_id) or None,
    )


def _event(item: Mapping[str, Any], event_id: str, default_zone: str) -> ProviderEvent:
    zone_name = _zone_name(item.get("start"), default_zone)
    zone = ZoneInfo(zone_name)
    start = _time(item, "start", event_id, zone)
    end = _time(item, "end", event_id, zone)
    if type(start) is not type(end):
        raise InvalidResponse(f"event {event_id}: start and end mix a date and a date-time")
    if end < start:  # both dates or both aware datetimes (checked above)
        raise InvalidResponse(f"event {event_id}: end is before start")
    fields: dict[str, Any] = {}
    if item.get("recurrence"):
        kind = ItemKind.SERIES
        fields["recurrence"] = _recurrence(item["recurrence"], event_id, zone)
    elif "recurringEventId" in item:
        kind = ItemKind.EXCEPTION
        fields["series_provider_id"] = _text(item, "recurringEventId", event_id=event_id)
        fields["original_start"] = _time(item, "originalStartTime", event_id, zone)
    else:
        kind = ItemKind.SINGLE
    organizer = _person(item.get("organizer"), event_id, "organizer")
    description = _text(item, "description", event_id=event_id)
    return ProviderEvent(
        provider_event_id=event_id,
        kind=kind,
        start=start,
        end=end,
        time_zone=zone_name,
        subject=_text(item, "summary", event_id=event_id),
        body=description,
        body_format=_body_format(description),
        location=_text(item, "location", event_id=event_id),
        organizer=organizer,
        attendees=_attendees(item.get("attendees"), event_id),
        show_as=_show_as(item),
        is_private=item.get("visibility") in _PRIVATE,
        change_key=_text(item, "etag", event_id=event_id),
        is_organizer=_is_self(item.get("organizer")),
        hints=_hints(item),
        ical_uid=_text(item, "iCalUID", event_id=event_id) or None,
        **fields,
    )


def _text(item: Mapping[str, Any], key: str, *, event_id: str, required: bool = False) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidResponse(f"event {event_id}: {key}: expected text, got {value!r}")
    return value


def _zone_name(time_field: object, default: str) -> str:
    """The zone an event is read in: its own ``timeZone``, else the calendar's, else UTC."""
    own = time_field.get("timeZone") if isinstance(time_field, dict) else None
    for candidate in (own, default):
        if isinstance(candidate, str) and candidate:
            try:
                return resolve_zone(candidate).key
            except UnknownTimeZone:
                continue
    return "UTC"


def _time(item: Mapping[str, Any], key: str, event_id: str, zone: tzinfo) -> EventTime:
    value = item.get(key)
    if not isinstance(value, dict):
        raise InvalidResponse(f"event {event_id}: {key}: missing")
    if isinstance(value.get("date"), str):
        try:
            return date.fromisoformat(value["date"])
        except ValueError:
            raise InvalidResponse(f"event {event_id}: {key}.date: {value['date']!r}") from None
    text = value.get("dateTime")
    if not isinstance(text, str):
        raise InvalidResponse(f"event {event_id}: {key}: neither date nor dateTime")
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidResponse(f"event {event_id}: {key}.dateTime: {text!r}") from None
    if instant.utcoffset() is None:  # allowed with a timeZone: wall-clock time in that zone
        instant = instant.replace(tzinfo=zone)
    return instant.astimezone(zone)


def _recurrence(lines: object, event_id: str, zone: tzinfo) -> Recurrence:
    if not isinstance(lines, list):
        raise InvalidResponse(f"event {event_id}: recurrence: expected a list of lines")
    rrules: list[str] = []
    rdates: list[EventTime] = []
    exdates: list[EventTime] = []
    for line in lines:
        match = _LINE.match(line) if isinstance(line, str) else None
        if match is None:
            raise InvalidResponse(f"event {event_id}: recurrence: cannot read {line!r}")
        name, values = match["name"], match["values"]
        if name == "RRULE":
            rrules.append(values)
        elif name in ("EXDATE", "RDATE"):
            params = _params(match["params"])
            line_zone = _param_zone(params.get("TZID"), zone, event_id)
            read = [_rfc5545_value(v, line_zone, event_id) for v in values.split(",") if v]
            (exdates if name == "EXDATE" else rdates).extend(read)
        else:  # EXRULE is deprecated in RFC 5545 and Google's editor never writes it
            raise InvalidResponse(f"event {event_id}: recurrence: {name} is not supported")
    return Recurrence(rrules=tuple(rrules), rdates=tuple(rdates), exdates=tuple(exdates))


def _params(text: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in text.split(";") if part)
    return {key.upper(): value.strip('"') for key, _, value in pairs}


def _param_zone(name: str | None, default: tzinfo, event_id: str) -> tzinfo:
    if name is None:
        return default
    try:
        return resolve_zone(name)
    except UnknownTimeZone:
        raise InvalidResponse(f"event {event_id}: recurrence: unknown TZID {name!r}") from None


def _rfc5545_value(text: str, zone: tzinfo, event_id: str) -> EventTime:
    if day := _DATE_VALUE.match(text):
        return date(int(day[1]), int(day[2]), int(day[3]))
    moment = _DATE_TIME_VALUE.match(text)
    if moment is None:
        raise InvalidResponse(f"event {event_id}: recurrence: cannot read the value {text!r}")
    utc = moment[1] == "Z"
    read = datetime.strptime(text.rstrip("Z"), "%Y%m%dT%H%M%S").replace(tzinfo=UTC if utc else zone)
    return read.astimezone(zone)


def _person(value: object, event_id: str, what: str) -> Attendee | None:
    if not isinstance(value, dict) or not isinstance(value.get("email"), str):
        return None
    try:
        return Attendee(value["email"], str(value.get("displayName") or ""))
    except InvalidEvent as exc:
        raise InvalidResponse(f"event {event_id}: {what}: {exc}") from exc


def _attendees(value: object, event_id: str) -> tuple[Attendee, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidResponse(f"event {event_id}: attendees: expected a list")
    found: list[Attendee] = []
    for entry in value:
        if not isinstance(entry, dict) or "@" not in str(entry.get("email", "")):
            continue  # Google lists some guests without a usable address; nothing to match
        if entry.get("resource") is True:
            kind = AttendeeKind.RESOURCE
        elif entry.get("optional") is True:
            kind = AttendeeKind.OPTIONAL
        else:
            kind = AttendeeKind.REQUIRED
        response = _RESPONSES.get(str(entry.get("responseStatus")), ResponseStatus.NONE)
        if entry.get("organizer") is True:
            response = ResponseStatus.ORGANIZER
        name = str(entry.get("displayName") or "")
        found.append(Attendee(str(entry["email"]), name, kind, response))
    return tuple(found)


def _show_as(item: Mapping[str, Any]) -> ShowAs:
    by_type = _EVENT_TYPE_SHOW_AS.get(str(item.get("eventType")))
    if by_type is not None:
        return by_type
    if item.get("transparency") == "transparent":
        return ShowAs.FREE
    if item.get("status") == "tentative":
        return ShowAs.TENTATIVE
    return ShowAs.BUSY


def _is_self(value: object) -> bool:
    return isinstance(value, dict) and value.get("self") is True


def _body_format(description: str) -> BodyFormat:
    # Google stores the description as entered: HTML from its editor, plain text from most APIs.
    return "html" if _HTML.search(description) else "text"


def _hints(item: Mapping[str, Any]) -> ProviderHints | None:
    conference = item.get("conferenceData")
    entry_points = (
        entry_points_from_conference_data(conference) if isinstance(conference, dict) else ()
    )
    link = item.get("hangoutLink")
    if not entry_points and not isinstance(link, str):
        return None
    return ProviderHints(
        online_meeting_join_url=link if isinstance(link, str) else None,
        entry_points=entry_points,
    )
