"""The few edits calhub makes to Graph events: join write-back (docs/joinlinks.md, "Write-back").

- ``read_event``: ``GET /users/{id}/events/{id}`` with the fields a join decision needs and
  calhub's marker property expanded (graph.md §1.5: extended properties are returned only when
  asked for by id);
- ``write_body``: ``PATCH`` of the body and the marker property together, with ``If-Match`` on
  the change key read before (a concurrent edit is ``412``, ``EditConflict``);
- ``add_online_meeting``: ``PATCH isOnlineMeeting`` with ``onlineMeetingProvider``
  ``teamsForBusiness``; Exchange creates the meeting and fills ``onlineMeeting.joinUrl``;
- ``mailbox_locale``: ``GET /users/{id}/mailboxSettings/language`` (``locale`` such as
  ``de-DE``), the language the organizer's join block is written in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from calhub.domain.joinlinks import BodyFormat
from calhub.domain.sync.changes import Removal
from calhub.providers.base import EditableEvent, InvalidResponse, NotFound
from calhub.providers.http import json_object
from calhub.providers.msgraph.client import GraphClient
from calhub.providers.msgraph.mapping import map_event

# A named string property in calhub's own GUID namespace (graph.md §1.5).
JOIN_MARKER_PROPERTY: Final = "String {8f4c2b1e-5a7d-4e39-9c61-2d0b7e3f9a45} Name calhubJoinBlock"
TEAMS: Final = "teams"
_EDIT_FIELDS: Final = (
    "type,start,end,originalStartTimeZone,recurrence,seriesMasterId,originalStart,isAllDay,"
    "isOrganizer,isCancelled,subject,location,body,changeKey,organizer,onlineMeeting,"
    "onlineMeetingUrl"
)
_CONTENT_TYPES: Final[Mapping[BodyFormat, str]] = {"html": "HTML", "text": "Text"}


def _event_path(owner: str, event_id: str) -> str:
    return f"users/{quote(owner, safe='@')}/events/{quote(event_id, safe='')}"


async def read_event(client: GraphClient, owner: str, event_id: str) -> EditableEvent:
    raw = await client.get_json(
        _event_path(owner, event_id),
        params={
            "$select": _EDIT_FIELDS,
            "$expand": f"singleValueExtendedProperties($filter=id eq '{JOIN_MARKER_PROPERTY}')",
        },
        mailbox=owner,
    )
    change = map_event(raw)
    if isinstance(change, Removal):
        raise NotFound(f"event {event_id} is gone")
    return EditableEvent(
        provider_event_id=change.provider_event_id,
        kind=change.kind,
        is_organizer=change.is_organizer,
        is_cancelled=change.is_cancelled,
        location=change.location,
        body=change.body,
        body_format=change.body_format,
        change_key=change.change_key,
        organizer_email=None if change.organizer is None else change.organizer.email,
        join_marker=_marker(raw),
        online_meeting_url=None if change.hints is None else change.hints.online_meeting_join_url,
    )


def _marker(raw: Mapping[str, Any]) -> str | None:
    for prop in raw.get("singleValueExtendedProperties") or ():
        if isinstance(prop, Mapping) and str(prop.get("id", "")).lower() == (
            JOIN_MARKER_PROPERTY.lower()
        ):
            value = prop.get("value")
            return value if isinstance(value, str) else None
    return None


async def write_body(
    client: GraphClient,
    owner: str,
    event_id: str,
    *,
    body: str,
    body_format: BodyFormat,
    join_marker: str,
    if_match: str,
) -> str:
    patch = {
        "body": {"contentType": _CONTENT_TYPES[body_format], "content": body},
        "singleValueExtendedProperties": [{"id": JOIN_MARKER_PROPERTY, "value": join_marker}],
    }
    return await _patch(client, owner, event_id, patch, if_match)


async def add_online_meeting(
    client: GraphClient, owner: str, event_id: str, *, backend: str, if_match: str
) -> str:
    if backend != TEAMS:
        raise ValueError(f"Microsoft 365 makes Teams meetings only, not {backend!r}")
    patch = {"isOnlineMeeting": True, "onlineMeetingProvider": "teamsForBusiness"}
    return await _patch(client, owner, event_id, patch, if_match)


async def _patch(
    client: GraphClient, owner: str, event_id: str, patch: dict[str, Any], if_match: str
) -> str:
    response = await client.request(
        "PATCH", _event_path(owner, event_id), json=patch, mailbox=owner, if_match=if_match
    )
    answer = json_object(response.content, "PATCH event")
    change_key = answer.get("changeKey")
    if not isinstance(change_key, str) or not change_key:
        raise InvalidResponse("PATCH event: the answer has no changeKey")
    return change_key


async def mailbox_locale(client: GraphClient, mailbox: str) -> str | None:
    raw = await client.get_json(
        f"users/{quote(mailbox, safe='@')}/mailboxSettings/language", mailbox=mailbox
    )
    locale = raw.get("locale")
    return locale if isinstance(locale, str) and locale else None
