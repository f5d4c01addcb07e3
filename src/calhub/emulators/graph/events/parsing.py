"""Event request bodies (POST and PATCH) read and checked as Graph does (graph.md §1, §9).

Property names match case-insensitively (the SDKs and O365 send camelCase, older samples
PascalCase). Read-only properties (``id``, ``changeKey``, ``iCalUId``, ``type``, ...) are ignored,
as the live service ignores them when a client sends an object back; an unknown property is
``400 RequestBodyRead``; a value of the wrong type is 400 too. Time zones are checked here (an
unknown one is ``TimeZoneNotSupportedException``); the cross-field rules (end after start, all-day
midnights, recurrence) are applied where the whole event is known, in ``mutations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.bodies import stored_body
from calhub.emulators.graph.events.times import NEVER, Zone, parse_date_time_time_zone

ENUMS: dict[str, tuple[str, ...]] = {
    "importance": ("low", "normal", "high"),
    "sensitivity": ("normal", "personal", "private", "confidential"),
    "showAs": ("unknown", "free", "tentative", "busy", "oof", "workingElsewhere"),
    "onlineMeetingProvider": (
        "unknown", "skypeForBusiness", "skypeForConsumer", "teamsForBusiness",
    ),
    "attendeeType": ("required", "optional", "resource"),
    "bodyType": ("text", "html"),
    "locationType": (
        "default", "conferenceRoom", "homeAddress", "businessAddress", "geoCoordinates",
        "streetAddress", "hotel", "restaurant", "localBusiness", "postalAddress",
    ),
    "locationUniqueIdType": ("unknown", "locationStore", "directory", "private", "bing"),
}  # fmt: skip
_BOOLEANS = (
    "isReminderOn", "responseRequested", "allowNewTimeProposals", "hideAttendees",
    "isOnlineMeeting", "isDraft",
)  # fmt: skip
_READ_ONLY = frozenset(
    name.lower()
    for name in (
        "id", "createdDateTime", "lastModifiedDateTime", "changeKey", "iCalUId", "uid", "type",
        "seriesMasterId", "isOrganizer", "isCancelled", "onlineMeeting", "originalStart",
        "webLink", "bodyPreview", "hasAttachments", "cancelledOccurrences", "responseStatus",
        "organizer", "originalStartTimeZone", "originalEndTimeZone", "calendar", "instances",
        "exceptionOccurrences", "extensions", "attachments", "multiValueExtendedProperties",
    )
)  # fmt: skip


@dataclass(slots=True)
class EventInput:
    """What a POST or PATCH body asks to set; absent properties are simply not in it."""

    props: dict[str, Any] = field(default_factory=dict)  # content properties, Graph JSON
    start: tuple[datetime, Zone] | None = None
    end: tuple[datetime, Zone] | None = None
    is_all_day: bool | None = None
    recurrence: dict[str, Any] | None = None
    recurrence_given: bool = False
    extended: list[tuple[str, str]] = field(default_factory=list)
    transaction_id: str | None = None

    def touches_times(self) -> bool:
        return (
            self.start is not None
            or self.end is not None
            or self.is_all_day is not None
            or self.recurrence_given
        )


def parse_event_input(body: object) -> EventInput:
    if not isinstance(body, dict):
        raise GraphError(400, "RequestBodyRead", "The request body must be a JSON object.")
    parsed = EventInput()
    for key, value in body.items():
        name = str(key)
        if "@" in name:
            continue  # @odata.type and other annotations
        handler = _HANDLERS.get(name.lower())
        if handler is not None:
            handler(parsed, value)
        elif name.lower() not in _READ_ONLY:
            raise GraphError(
                400,
                "RequestBodyRead",
                f"The property '{name}' does not exist on type 'microsoft.graph.event'. Make "
                "sure to only use property names that are defined by the type or mark the type "
                "as open type.",
            )
    return parsed


def enum_value(value: object, kind: str, field_name: str) -> str:
    if isinstance(value, str):
        for member in ENUMS[kind]:
            if member.lower() == value.lower():
                return member
    raise GraphError(
        400,
        "RequestBodyRead",
        f"Cannot convert the literal '{value}' to the expected type 'microsoft.graph.{kind}' "
        f"of property '{field_name}'.",
    )


def attendee(value: object, where: str = "attendees") -> dict[str, Any]:
    """An attendee in Graph's stored shape; the display name is filled in by the caller."""
    data = _object(value, where)
    email = _object(data.get("emailAddress", data.get("EmailAddress")), f"{where}.emailAddress")
    lowered = {str(k).lower(): v for k, v in email.items()}
    address = lowered.get("address")
    if not isinstance(address, str) or "@" not in address:
        raise GraphError(
            400,
            "ErrorInvalidRecipients",
            f"At least one recipient isn't valid: '{address}' is not an SMTP address.",
        )
    name = lowered.get("name")
    kind = data.get("type", data.get("Type")) or "required"
    return {
        "type": enum_value(kind, "attendeeType", f"{where}.type"),
        "status": {"response": "none", "time": NEVER},
        "emailAddress": {"name": name if isinstance(name, str) and name else None,
                         "address": address.strip()},
    }  # fmt: skip


def location(value: object, where: str = "location") -> dict[str, Any]:
    """A location in the ``location`` property's shape (doc sample §1.2)."""
    if value is None:
        return empty_location()
    data = {str(k): v for k, v in _object(value, where).items()}
    lowered = {k.lower(): v for k, v in data.items()}
    display = _optional_str(lowered.get("displayname"), f"{where}.displayName") or ""
    email = _optional_str(lowered.get("locationemailaddress"), f"{where}.locationEmailAddress")
    out: dict[str, Any] = {
        "displayName": display,
        "locationType": enum_value(
            lowered.get("locationtype") or "default", "locationType", f"{where}.locationType"
        ),
    }
    if email:
        out["locationEmailAddress"] = email
        out["uniqueId"] = email
        out["uniqueIdType"] = "directory"
    elif display:
        out["uniqueId"] = _optional_str(lowered.get("uniqueid"), f"{where}.uniqueId") or display
        out["uniqueIdType"] = "private"
    else:
        out["uniqueIdType"] = "unknown"
    if lowered.get("locationuri"):
        out["locationUri"] = str(lowered["locationuri"])
    out["address"] = _object(lowered.get("address") or {}, f"{where}.address")
    out["coordinates"] = _object(lowered.get("coordinates") or {}, f"{where}.coordinates")
    return out


def empty_location() -> dict[str, Any]:
    return {
        "displayName": "",
        "locationType": "default",
        "uniqueIdType": "unknown",
        "address": {},
        "coordinates": {},
    }


def as_locations_entry(value: dict[str, Any]) -> dict[str, Any]:
    """The ``locations`` form of a location (§1.2: ``uniqueIdType`` unknown there)."""
    entry = {k: v for k, v in value.items() if k not in ("uniqueId", "uniqueIdType")}
    entry["uniqueIdType"] = "unknown"
    return entry


# --- handlers --------------------------------------------------------------------------------


def _subject(parsed: EventInput, value: object) -> None:
    parsed.props["subject"] = _optional_str(value, "subject") or ""


def _body(parsed: EventInput, value: object) -> None:
    if value is None:
        parsed.props["body"] = stored_body("html", "")
        return
    data = {str(k).lower(): v for k, v in _object(value, "body").items()}
    kind = enum_value(data.get("contenttype") or "text", "bodyType", "body.contentType")
    parsed.props["body"] = stored_body(kind, _optional_str(data.get("content"), "body") or "")


def _categories(parsed: EventInput, value: object) -> None:
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise _wrong_type("categories", "Collection(Edm.String)")
    parsed.props["categories"] = list(value)


def _enum_handler(name: str, kind: str) -> Callable[[EventInput, object], None]:
    def handle(parsed: EventInput, value: object) -> None:
        parsed.props[name] = enum_value(value, kind, name)

    return handle


def _boolean_handler(name: str) -> Callable[[EventInput, object], None]:
    def handle(parsed: EventInput, value: object) -> None:
        if not isinstance(value, bool):
            raise _wrong_type(name, "Edm.Boolean")
        parsed.props[name] = value

    return handle


def _reminder(parsed: EventInput, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong_type("reminderMinutesBeforeStart", "Edm.Int32")
    parsed.props["reminderMinutesBeforeStart"] = value


def _online_meeting_url(parsed: EventInput, value: object) -> None:
    parsed.props["onlineMeetingUrl"] = _optional_str(value, "onlineMeetingUrl")


def _start(parsed: EventInput, value: object) -> None:
    parsed.start = parse_date_time_time_zone(value, "start")


def _end(parsed: EventInput, value: object) -> None:
    parsed.end = parse_date_time_time_zone(value, "end")


def _all_day(parsed: EventInput, value: object) -> None:
    if not isinstance(value, bool):
        raise _wrong_type("isAllDay", "Edm.Boolean")
    parsed.is_all_day = value


def _location(parsed: EventInput, value: object) -> None:
    parsed.props["location"] = location(value)
    parsed.props["locations"] = (
        [] if value is None or not parsed.props["location"]["displayName"]
        else [as_locations_entry(parsed.props["location"])]
    )  # fmt: skip


def _locations(parsed: EventInput, value: object) -> None:
    if value is None:
        value = []
    if not isinstance(value, list):
        raise _wrong_type("locations", "Collection(microsoft.graph.location)")
    entries = [location(item, f"locations[{i}]") for i, item in enumerate(value)]
    parsed.props["locations"] = [as_locations_entry(entry) for entry in entries]
    if len(entries) == 1:
        parsed.props["location"] = entries[0]
    elif entries:
        combined = "; ".join(entry["displayName"] for entry in entries)
        parsed.props["location"] = {**empty_location(), "displayName": combined,
                                    "uniqueId": combined, "uniqueIdType": "private"}  # fmt: skip
    else:
        parsed.props["location"] = empty_location()


def _attendees(parsed: EventInput, value: object) -> None:
    if value is None:
        value = []
    if not isinstance(value, list):
        raise _wrong_type("attendees", "Collection(microsoft.graph.attendee)")
    if len(value) > 500:
        raise GraphError(400, "ErrorInvalidRequest", "An event can have at most 500 attendees.")
    parsed.props["attendees"] = [attendee(item, f"attendees[{i}]") for i, item in enumerate(value)]


def _recurrence(parsed: EventInput, value: object) -> None:
    parsed.recurrence_given = True
    if value is not None and not isinstance(value, dict):
        raise _wrong_type("recurrence", "microsoft.graph.patternedRecurrence")
    parsed.recurrence = value


def _transaction(parsed: EventInput, value: object) -> None:
    parsed.transaction_id = _optional_str(value, "transactionId")


def _extended(parsed: EventInput, value: object) -> None:
    if not isinstance(value, list):
        raise _wrong_type(
            "singleValueExtendedProperties",
            "Collection(microsoft.graph.singleValueLegacyExtendedProperty)",
        )
    for i, item in enumerate(value):
        data = {str(k).lower(): v for k, v in _object(item, f"extended[{i}]").items()}
        prop_id, prop_value = data.get("id"), data.get("value")
        if not isinstance(prop_id, str) or not prop_id.strip():
            raise GraphError(400, "ErrorInvalidRequest", "An extended property needs an 'id'.")
        if prop_value is not None and not isinstance(prop_value, str):
            raise _wrong_type("singleValueExtendedProperties.value", "Edm.String")
        parsed.extended.append((" ".join(prop_id.split()), prop_value or ""))


_HANDLERS: dict[str, Callable[[EventInput, object], None]] = {
    "subject": _subject,
    "body": _body,
    "categories": _categories,
    "importance": _enum_handler("importance", "importance"),
    "sensitivity": _enum_handler("sensitivity", "sensitivity"),
    "showas": _enum_handler("showAs", "showAs"),
    "onlinemeetingprovider": _enum_handler("onlineMeetingProvider", "onlineMeetingProvider"),
    "reminderminutesbeforestart": _reminder,
    "onlinemeetingurl": _online_meeting_url,
    "start": _start,
    "end": _end,
    "isallday": _all_day,
    "location": _location,
    "locations": _locations,
    "attendees": _attendees,
    "recurrence": _recurrence,
    "transactionid": _transaction,
    "singlevalueextendedproperties": _extended,
    **{name.lower(): _boolean_handler(name) for name in _BOOLEANS},
}


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GraphError(400, "RequestBodyRead", f"The property '{where}' must be an object.")
    return value


def _optional_str(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _wrong_type(where, "Edm.String")


def _wrong_type(name: str, expected: str) -> GraphError:
    return GraphError(
        400,
        "RequestBodyRead",
        f"Cannot convert the value of property '{name}' to the expected type '{expected}'.",
    )
