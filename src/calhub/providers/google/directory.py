"""Discovery from the Admin SDK Directory (google.md §7), always acting as the admin.

- Users: ``GET users?customer=<customer>`` (``maxResults`` 500, ``nextPageToken`` paging, the
  key ``users`` absent when empty). A user's calendar is its primary calendar, whose id is the
  ``primaryEmail`` (kept lower-cased); a suspended or archived user is listed out of scope.
- Rooms: ``GET customer/<customer>/resources/calendars`` (key ``items``), conference rooms only
  (``resourceCategory`` ``CONFERENCE_ROOM`` or absent; ``OTHER`` is a projector or a car), their
  calendar id the ``resourceEmail`` (§7.6); the building's name from
  ``customer/<customer>/resources/buildings`` (key ``buildings``).
- Named mailboxes: each one not a Directory user is out of scope, and each one whose token the
  token endpoint refuses for that user (``MailboxOutOfScope``) out of scope with its reason.

An entry without the fields calhub needs is ``InvalidResponse`` naming it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

from calhub.domain.calendars import CalendarKind, RoomDetails
from calhub.providers.base import DiscoveredCalendar, InvalidResponse, MailboxOutOfScope
from calhub.providers.google.client import GoogleClient

PAGE: Final = "500"  # the Directory's largest page (§7.2)
ROOM_CATEGORIES: Final = frozenset({"CONFERENCE_ROOM"})


async def all_users(client: GoogleClient, *, admin: str, customer: str) -> list[DiscoveredCalendar]:
    url = client.directory_url("users")
    params = {"customer": customer, "maxResults": PAGE}
    return [
        _user(raw) async for raw in _entries(client, url, admin=admin, key="users", params=params)
    ]


async def named_users(
    client: GoogleClient, mailboxes: Sequence[str], *, admin: str, customer: str
) -> list[DiscoveredCalendar]:
    known: dict[str, DiscoveredCalendar] = {}
    url = client.directory_url("users")
    params = {"customer": customer, "maxResults": PAGE}
    async for raw in _entries(client, url, admin=admin, key="users", params=params):
        user = _user(raw)
        for address in (user.owner_email, *_aliases(raw)):
            known[address.lower()] = user
    return list(await asyncio.gather(*(_named(client, known, m) for m in mailboxes)))


async def _named(
    client: GoogleClient, known: Mapping[str, DiscoveredCalendar], mailbox: str
) -> DiscoveredCalendar:
    user = known.get(mailbox.lower())
    if user is None:
        reason = f"{mailbox} is not a user of this Google Workspace domain"
        return DiscoveredCalendar(
            mailbox.lower(), mailbox, mailbox, CalendarKind.USER, out_of_scope=reason
        )
    if user.out_of_scope is not None:
        return user
    try:
        await client.tokens.token(user.owner_email)
    except MailboxOutOfScope as exc:
        return _out(user, exc.reason)
    return user


async def rooms(client: GoogleClient, *, admin: str, customer: str) -> list[DiscoveredCalendar]:
    params = {"maxResults": PAGE}
    resources = client.directory_url("customer", customer, "resources", "calendars")
    found = [
        raw
        async for raw in _entries(client, resources, admin=admin, key="items", params=params)
        if raw.get("resourceCategory") in (None, *ROOM_CATEGORIES)
    ]
    if not found:
        return []
    names: dict[str, str] = {}
    buildings = client.directory_url("customer", customer, "resources", "buildings")
    async for raw in _entries(client, buildings, admin=admin, key="buildings", params=params):
        building_id, name = raw.get("buildingId"), raw.get("buildingName")
        if isinstance(building_id, str) and isinstance(name, str) and name:
            names[building_id] = name
    return [_room(raw, names) for raw in found]


async def _entries(
    client: GoogleClient, url: str, *, admin: str, key: str, params: Mapping[str, str]
) -> AsyncIterator[dict[str, Any]]:
    """Every entry of a Directory list, page after page."""
    page_token: str | None = None
    while True:
        query = dict(params) | ({"pageToken": page_token} if page_token else {})
        page = await client.get_json(url, user=admin, params=query)
        entries = page.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InvalidResponse(f"Directory {key}: the answer has no list of objects")
        for entry in entries:
            yield entry
        following = page.get("nextPageToken")
        if following is not None and not isinstance(following, str):
            raise InvalidResponse(f"Directory {key}: nextPageToken must be a string")
        if not following:
            return
        page_token = following


def _user(raw: Mapping[str, Any]) -> DiscoveredCalendar:
    address = _text(raw, "primaryEmail", "user").lower()
    name_field = raw.get("name")
    full = name_field.get("fullName") if isinstance(name_field, Mapping) else None
    user = DiscoveredCalendar(
        address, address, full if isinstance(full, str) and full else address, CalendarKind.USER
    )
    if raw.get("suspended") is True:
        return _out(user, f"{address} is suspended in Google Workspace")
    if raw.get("archived") is True:
        return _out(user, f"{address} is archived in Google Workspace")
    return user


def _out(user: DiscoveredCalendar, reason: str) -> DiscoveredCalendar:
    return DiscoveredCalendar(
        user.provider_calendar_id, user.owner_email, user.name, user.kind, out_of_scope=reason
    )


def _aliases(raw: Mapping[str, Any]) -> list[str]:
    emails = raw.get("emails")
    if not isinstance(emails, list):
        return []
    return [
        str(e["address"])
        for e in emails
        if isinstance(e, Mapping) and isinstance(e.get("address"), str)
    ]


def _room(raw: Mapping[str, Any], buildings: Mapping[str, str]) -> DiscoveredCalendar:
    address = _text(raw, "resourceEmail", "calendar resource")
    building_id = raw.get("buildingId")
    building = (
        buildings.get(building_id, building_id) if isinstance(building_id, str) and building_id
        else None
    )  # fmt: skip
    floor = raw.get("floorName")
    details = RoomDetails(
        capacity=_optional_int(raw.get("capacity")),
        building=building,
        floor_label=floor if isinstance(floor, str) and floor else None,
        bookable=True,
    )
    name = raw.get("resourceName") or raw.get("generatedResourceName") or address
    return DiscoveredCalendar(address, address, str(name), CalendarKind.ROOM, room=details)


def _text(raw: Mapping[str, Any], name: str, what: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidResponse(f"Directory {what}: {name} must be a non-empty string, got {value!r}")
    return value


def _optional_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
