"""A tenant's ``MeetingSettings`` as JSON: the document stored in ``meeting_settings`` and
exchanged by ``GET/PUT /api/v1/meeting-settings`` and ``calhub meeting-settings`` (issue 6,
"OBTP"; docs/obtp.md, "Lead time")::

    {"lead_minutes": 5, "rooms": {"0190c6d2-...": {"lead_minutes": 2}}}

``lead_minutes`` is how long before a meeting starts its join prompt fires (a whole number of
minutes, 0 to 60; left out: 5); ``rooms`` gives room calendars (by calhub calendar id) their own.
``settings_to_json`` writes every field; ``settings_from_json`` reads a parsed document and
refuses anything else with ``InvalidMeetingSetting``, whose ``location`` and message name the
field: ``rooms.0190c6d2-....lead_minutes: expected a whole number of minutes from 0 to 60``.
Unknown fields are refused, so a typo is never silently ignored. Whether a room id names one of
the tenant's room calendars is for the service to check (it needs the database).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Final

from calhub.domain.ids import CalendarId
from calhub.domain.json_fields import Location, checked_object, field_path, json_kind
from calhub.domain.meetings.settings import DEFAULT_LEAD, MAX_LEAD, MeetingSettings

__all__ = ["MAX_ROOMS", "InvalidMeetingSetting", "settings_from_json", "settings_to_json"]

MAX_ROOMS: Final = 10_000
_TOP_LEVEL_FIELDS: Final = ("lead_minutes", "rooms")
_ROOM_FIELDS: Final = ("lead_minutes",)
_MAX_MINUTES: Final = int(MAX_LEAD.total_seconds()) // 60


class InvalidMeetingSetting(ValueError):
    """One field of a meeting-settings document is wrong: ``location`` is its path (``()`` for
    the document itself), ``reason`` says what to fix."""

    def __init__(self, location: Location, reason: str) -> None:
        self.location = location
        self.reason = reason
        super().__init__(f"{field_path(location)}: {reason}" if location else reason)


def _minutes(lead: timedelta) -> int:
    return int(lead.total_seconds()) // 60


def settings_to_json(settings: MeetingSettings) -> dict[str, Any]:
    """The whole document; ``settings_from_json`` reads it back unchanged."""
    return {
        "lead_minutes": _minutes(settings.lead),
        "rooms": {
            str(room): {"lead_minutes": _minutes(lead)}
            for room, lead in sorted(settings.room_leads.items(), key=lambda item: str(item[0]))
        },
    }


def settings_from_json(document: object) -> MeetingSettings:
    """``MeetingSettings`` from a parsed JSON document; raises ``InvalidMeetingSetting``."""
    fields = _object(document, (), _TOP_LEVEL_FIELDS)
    lead = _lead(fields["lead_minutes"], ("lead_minutes",)) if "lead_minutes" in fields else None
    rooms = _rooms(fields.get("rooms", {}))
    return MeetingSettings(
        lead=DEFAULT_LEAD if lead is None else lead, room_leads=MappingProxyType(rooms)
    )


def _rooms(value: object) -> dict[CalendarId, timedelta]:
    location: Location = ("rooms",)
    if not isinstance(value, Mapping):
        raise InvalidMeetingSetting(location, f"expected an object, got {json_kind(value)}")
    if len(value) > MAX_ROOMS:
        raise InvalidMeetingSetting(location, f"at most {MAX_ROOMS} rooms are allowed")
    rooms: dict[CalendarId, timedelta] = {}
    for key, room in value.items():
        try:
            calendar_id = CalendarId(uuid.UUID(str(key)))
        except ValueError as exc:
            raise InvalidMeetingSetting(
                (*location, str(key)), "not a calendar id (a UUID)"
            ) from exc
        at: Location = (*location, str(key))
        fields = _object(room, at, _ROOM_FIELDS)
        if "lead_minutes" not in fields:
            raise InvalidMeetingSetting((*at, "lead_minutes"), "missing")
        if calendar_id in rooms:
            raise InvalidMeetingSetting(at, "the room appears more than once")
        rooms[calendar_id] = _lead(fields["lead_minutes"], (*at, "lead_minutes"))
    return rooms


def _lead(value: object, location: Location) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_MINUTES:
        raise InvalidMeetingSetting(
            location, f"expected a whole number of minutes from 0 to {_MAX_MINUTES}"
        )
    return timedelta(minutes=value)


def _object(value: object, location: Location, known: tuple[str, ...]) -> Mapping[str, object]:
    return checked_object(value, location, known, InvalidMeetingSetting)
