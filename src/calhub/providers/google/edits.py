"""The few edits calhub makes to Google events: join write-back (docs/joinlinks.md, "Write-back").

- ``read_event``: ``GET calendars/{cid}/events/{eid}`` (§3; a deleted event still answers, as
  ``cancelled``, and counts as gone). The change key is the ``etag``; calhub's marker is the
  private extended property ``calhubJoinBlock`` (§1.8: private properties belong to this
  calendar's copy only, so attendees never see it);
- ``write_body``: ``PATCH`` of the description and the marker together with ``If-Match`` on the
  etag read before (a concurrent edit is 412 ``conditionNotMet``, ``EditConflict``);
- ``add_online_meeting``: ``PATCH ?conferenceDataVersion=1`` with a Meet ``createRequest`` (§1.7;
  a new ``requestId`` each time, since a repeated one is ignored). Google may answer with the
  request still ``pending``; the ``hangoutLink`` then comes with a later sync;
- ``mailbox_locale``: ``GET users/me/settings/locale`` (§6.2, ``en``, ``de``, ``en_GB``) as
  that user, as a locale tag (``en-GB``); None when Google has no such setting for the user.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from calhub.domain.joinlinks import BodyFormat
from calhub.domain.sync.changes import ProviderEvent
from calhub.providers.base import EditableEvent, InvalidResponse, NotFound
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.mapping import map_event
from calhub.providers.http import json_object

JOIN_MARKER_PROPERTY: Final = "calhubJoinBlock"
GOOGLE_MEET: Final = "google_meet"


async def read_event(
    client: GoogleClient, calendar_id: str, event_id: str, *, user: str
) -> EditableEvent:
    raw = await client.get_json(
        client.calendar_url("calendars", calendar_id, "events", event_id), user=user
    )
    if raw.get("status") == "cancelled":
        raise NotFound(f"event {event_id} is gone")
    change = map_event(raw)
    if not isinstance(change, ProviderEvent):  # only cancelled items map to removals
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
        online_meeting_url=_meeting_url(change),
    )


def _marker(raw: Mapping[str, Any]) -> str | None:
    properties = raw.get("extendedProperties")
    private = properties.get("private") if isinstance(properties, Mapping) else None
    value = private.get(JOIN_MARKER_PROPERTY) if isinstance(private, Mapping) else None
    return value if isinstance(value, str) else None


def _meeting_url(change: ProviderEvent) -> str | None:
    hints = change.hints
    if hints is None:
        return None
    if hints.online_meeting_join_url:
        return hints.online_meeting_join_url
    return next((e.uri for e in hints.entry_points if e.entry_point_type == "video"), None)


async def write_body(
    client: GoogleClient,
    calendar_id: str,
    event_id: str,
    *,
    user: str,
    body: str,
    body_format: BodyFormat,
    join_marker: str,
    if_match: str,
) -> str:
    # Google keeps one description: HTML from its editor, text from APIs, shown as given.
    del body_format
    patch = {
        "description": body,
        "extendedProperties": {"private": {JOIN_MARKER_PROPERTY: join_marker}},
    }
    return await _patch(client, calendar_id, event_id, patch, user=user, if_match=if_match)


async def add_online_meeting(
    client: GoogleClient,
    calendar_id: str,
    event_id: str,
    *,
    user: str,
    backend: str,
    if_match: str,
) -> str:
    if backend != GOOGLE_MEET:
        raise ValueError(f"Google Workspace makes Google Meet meetings only, not {backend!r}")
    patch = {
        "conferenceData": {
            "createRequest": {
                "requestId": str(uuid.uuid4()),
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        }
    }
    return await _patch(
        client,
        calendar_id,
        event_id,
        patch,
        user=user,
        if_match=if_match,
        params={"conferenceDataVersion": "1"},
    )


async def _patch(
    client: GoogleClient,
    calendar_id: str,
    event_id: str,
    patch: dict[str, Any],
    *,
    user: str,
    if_match: str,
    params: Mapping[str, str] | None = None,
) -> str:
    response = await client.request(
        "PATCH",
        client.calendar_url("calendars", calendar_id, "events", event_id),
        user=user,
        json=patch,
        params=params,
        if_match=if_match,
    )
    etag = json_object(response.content, "PATCH event").get("etag")
    if not isinstance(etag, str) or not etag:
        raise InvalidResponse("PATCH event: the answer has no etag")
    return etag


async def mailbox_locale(client: GoogleClient, mailbox: str) -> str | None:
    try:
        raw = await client.get_json(
            client.calendar_url("users", "me", "settings", "locale"), user=mailbox
        )
    except NotFound:
        return None
    value = raw.get("value")
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().replace("_", "-")
