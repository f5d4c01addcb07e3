"""``/users/{id}/mailboxSettings`` and its parts, read and patched (graph.md §8).

Graph answers a GET of one part (``.../mailboxSettings/timeZone``) with that part alone, wrapped in
``value`` for primitives; a PATCH merges the given parts and answers with them. ``userPurpose`` is
read-only. Values are checked before anything is stored (a bad PATCH changes nothing): strings
where the CSDL has strings, known time zones (Windows or IANA, kept in the form given), times of
day, ``dateTimeTimeZone`` objects (a readable wall clock, written back with Graph's seven
fractional digits), and enum members, which are accepted in any case (doc samples
send ``"Scheduled"``, ``"All"``) and stored in the CSDL's camelCase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body

from calhub.domain.timezones import UnknownTimeZone, resolve_zone
from calhub.emulators.graph.access import MailboxDep
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.times import format_wall, parse_date_time_time_zone

router = APIRouter(prefix="/v1.0/users/{user_id}/mailboxSettings")

PARTS = {
    "archivefolder": "archiveFolder",
    "automaticrepliessetting": "automaticRepliesSetting",
    "dateformat": "dateFormat",
    "delegatemeetingmessagedeliveryoptions": "delegateMeetingMessageDeliveryOptions",
    "language": "language",
    "timeformat": "timeFormat",
    "timezone": "timeZone",
    "userpurpose": "userPurpose",
    "workinghours": "workingHours",
}
READ_ONLY = {"userPurpose"}
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#users('{id}')/mailboxSettings"

DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
REPLY_STATUSES = ("disabled", "alwaysEnabled", "scheduled")
EXTERNAL_AUDIENCES = ("none", "contactsOnly", "all")
DELIVERY_OPTIONS = (
    "sendToDelegateAndInformationToPrincipal",
    "sendToDelegateAndPrincipal",
    "sendToDelegateOnly",
)
_TIME_OF_DAY = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,7})?)?")


@router.get("")
async def get_settings(mailbox: MailboxDep) -> dict[str, Any]:
    return {"@odata.context": CONTEXT.format(id=mailbox.id), **mailbox.settings}


@router.get("/{part}")
async def get_part(part: str, mailbox: MailboxDep) -> dict[str, Any]:
    name = _part(part)
    value = mailbox.settings.get(name)
    context = CONTEXT.format(id=mailbox.id) + f"/{name}"
    if isinstance(value, dict):
        return {"@odata.context": context, **value}
    return {"@odata.context": context, "value": value}


@router.patch("")
async def patch_settings(
    mailbox: MailboxDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@odata"):
            continue
        name = _part(key)
        if name in READ_ONLY:
            raise GraphError(400, "ErrorInvalidRequest", f"The property '{name}' is read-only.")
        changes[name] = _checked(name, value, mailbox.settings.get(name))
    mailbox.settings.update(changes)
    return {"@odata.context": CONTEXT.format(id=mailbox.id), **changes}


def _part(name: str) -> str:
    try:
        return PARTS[name.lower()]
    except KeyError:
        raise _unknown_property(name, "mailboxSettings") from None


def _checked(name: str, value: Any, current: Any) -> Any:
    """``value`` as stored for part ``name``: complex parts merged into ``current``."""
    if name in ("dateFormat", "timeFormat"):
        return _string(value, name)
    if name == "archiveFolder":
        return None if value is None else _string(value, name)
    if name == "timeZone":
        return _time_zone(value, name)
    if name == "delegateMeetingMessageDeliveryOptions":
        return _member(value, DELIVERY_OPTIONS, name)
    merged = {**(current if isinstance(current, dict) else {}), **_object(value, name)}
    if name == "language":
        _known(merged, {"locale", "displayName"}, "localeInfo")
        return {key: _string(item, f"language.{key}") for key, item in merged.items()}
    if name == "automaticRepliesSetting":
        return _automatic_replies(merged)
    return _working_hours(merged)


def _automatic_replies(merged: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "status", "externalAudience", "internalReplyMessage", "externalReplyMessage",
        "scheduledStartDateTime", "scheduledEndDateTime",
    }  # fmt: skip
    _known(merged, fields, "automaticRepliesSetting")
    checked = dict(merged)
    if "status" in merged:
        checked["status"] = _member(merged["status"], REPLY_STATUSES, "status")
    if "externalAudience" in merged:
        checked["externalAudience"] = _member(
            merged["externalAudience"], EXTERNAL_AUDIENCES, "externalAudience"
        )
    for key in ("internalReplyMessage", "externalReplyMessage"):
        if key in merged:
            checked[key] = _string(merged[key], key)
    for key in ("scheduledStartDateTime", "scheduledEndDateTime"):
        if key in merged:
            checked[key] = _date_time_time_zone(merged[key], key)
    return checked


def _working_hours(merged: dict[str, Any]) -> dict[str, Any]:
    _known(merged, {"daysOfWeek", "startTime", "endTime", "timeZone"}, "workingHours")
    checked = dict(merged)
    if "daysOfWeek" in merged:
        days = merged["daysOfWeek"]
        if not isinstance(days, list):
            raise _invalid("workingHours.daysOfWeek", "a list of days")
        checked["daysOfWeek"] = [_member(day, DAYS, "daysOfWeek") for day in days]
    for key in ("startTime", "endTime"):
        if key in merged:
            text = _string(merged[key], key)
            if _TIME_OF_DAY.fullmatch(text) is None:
                raise _invalid(f"workingHours.{key}", "a time of day like 08:00:00.0000000")
            checked[key] = text
    if "timeZone" in merged:
        # timeZoneBase or a derived customTimeZone: its @odata.type has to survive
        zone = _object(merged["timeZone"], "workingHours.timeZone", keep_type=True)
        if not isinstance(zone.get("name"), str):
            raise _invalid("workingHours.timeZone.name", "a time zone name")
        checked["timeZone"] = zone
    return checked


def _date_time_time_zone(value: Any, where: str) -> dict[str, str]:
    """Stored as Graph writes it back: the wall clock with seven fractional digits in the zone
    as named (an offset in ``dateTime`` is converted into that zone)."""
    data = _object(value, where)
    _known(data, {"dateTime", "timeZone"}, "dateTimeTimeZone")
    _string(data.get("dateTime"), f"{where}.dateTime")
    moment, zone = parse_date_time_time_zone(
        {"dateTime": data["dateTime"], "timeZone": _time_zone(data.get("timeZone", "UTC"), where)},
        where,
    )
    return {"dateTime": format_wall(moment), "timeZone": zone.name}


def _time_zone(value: Any, where: str) -> str:
    name = _string(value, where)
    try:
        resolve_zone(name)
    except UnknownTimeZone:
        raise GraphError(
            400, "ErrorInvalidRequest", f"{where}: '{name}' is not a valid time zone."
        ) from None
    return name


def _member(value: Any, members: tuple[str, ...], where: str) -> str:
    if isinstance(value, str):
        for member in members:
            if member.lower() == value.lower():
                return member
    raise GraphError(
        400,
        "BadRequest",
        f"Cannot convert the literal '{value}' to the expected type for '{where}': "
        f"one of {', '.join(members)}.",
    )


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _invalid(where, "a string")
    return value


def _object(value: Any, where: str, *, keep_type: bool = False) -> dict[str, Any]:
    """A JSON object without the annotations clients add (msgraph-sdk sends ``@odata.type``)."""
    if not isinstance(value, Mapping):
        raise _invalid(where, "an object")
    kept = {"@odata.type"} if keep_type else set()
    return {k: v for k, v in value.items() if not k.startswith("@odata") or k in kept}


def _known(data: Mapping[str, Any], fields: set[str], type_name: str) -> None:
    for key in data:
        if key not in fields and not key.startswith("@odata"):
            raise _unknown_property(key, type_name)


def _invalid(where: str, expected: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid value for '{where}': expected {expected}.")


def _unknown_property(name: str, type_name: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'.",
    )
