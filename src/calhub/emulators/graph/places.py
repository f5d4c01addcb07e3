"""The Places API: the rooms and room lists of the caller's tenant (graph.md §7).

- ``GET /places/microsoft.graph.room`` and ``/places/microsoft.graph.roomList`` (any case, also the
  alias form ``graph.room`` msgraph-sdk sends), with ``/$count``;
- ``GET /places/{roomListEmailAddress}/microsoft.graph.roomList/rooms`` (by address, as documented);
- ``GET /places/{id | emailAddress}`` with the derived ``@odata.type``, and the cast
  ``/places/{id}/microsoft.graph.room``.

Rooms are the tenant's room mailboxes (``Mailbox.room``); room lists are derived from the rooms'
``room_list`` addresses, each with a stable GUID. Every property of the CSDL's ``room`` and
``roomList`` is present, null or defaulted as Graph shows them for rooms without Exchange place
metadata (``nickname`` = ``displayName``, ``tags`` = ``[]``, ``teamsEnabledState`` = ``unknown``);
a seed's extra room properties override the defaults. Rooms hidden from the address list are not
returned, neither listed nor by key.

Query options: ``$top`` (default page 100), ``$skip``, ``$count=true`` (``@odata.count``),
``$select`` and ``$filter`` with ``eq`` comparisons joined by ``and``; anything else in ``$filter``
is a 400. There is never an ``@odata.nextLink``: clients page with ``$top``/``$skip`` (OBSERVED).
Rooms are tenant-wide, so only consent is checked, not the mailbox access policy.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse

from calhub.emulators.graph.access import CallerDep, require_consent
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.state import Mailbox, Tenant

router = APIRouter(prefix="/v1.0/places")

METADATA = "https://graph.microsoft.com/v1.0/$metadata#"
DEFAULT_PAGE_SIZE = 100
ROOM_LIST_NAMESPACE = uuid.UUID("5b0f4c9e-2a7d-4e8b-9c61-3f0d8a2e7b14")
CASTS = {"room": "microsoft.graph.room", "roomlist": "microsoft.graph.roomList"}

PLACE_DEFAULTS: dict[str, Any] = {
    "address": None,
    "geoCoordinates": None,
    "phone": None,
    "label": None,
    "isWheelChairAccessible": False,
    "tags": [],
    "placeId": None,
    "parentId": None,
}
ROOM_DEFAULTS: dict[str, Any] = {
    **PLACE_DEFAULTS,
    "audioDeviceName": None,
    "videoDeviceName": None,
    "displayDeviceName": None,
    "teamsEnabledState": "unknown",
}
ROOM_PROPERTIES = frozenset(ROOM_DEFAULTS) | {
    "id", "emailAddress", "displayName", "nickname", "building", "floorNumber", "floorLabel",
    "capacity", "bookingType",
}  # fmt: skip
ROOM_LIST_PROPERTIES = frozenset(PLACE_DEFAULTS) | {"id", "emailAddress", "displayName"}
NON_NULLABLE = {"displayName", "nickname", "tags", "teamsEnabledState"}

_LITERAL = r"'(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false|null"
_CLAUSE = rf"\s*([A-Za-z]\w*)\s+eq\s+({_LITERAL})\s*"
_FILTER = re.compile(rf"{_CLAUSE}(?:\s+and\s+{_CLAUSE})*", re.IGNORECASE)
_CLAUSES = re.compile(_CLAUSE, re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RoomList:
    """A room list as the rooms name it: an address, a stable id, its visible rooms."""

    id: str
    address: str
    display_name: str
    rooms: tuple[Mailbox, ...]


def room_json(mailbox: Mailbox) -> dict[str, Any]:
    """A room mailbox as a Graph ``room``: every CSDL property, in the documented order."""
    info = mailbox.room
    if info is None:
        raise ValueError(f"{mailbox.upn} is not a room")
    body: dict[str, Any] = {
        "id": mailbox.id,
        "emailAddress": mailbox.upn,
        "displayName": mailbox.display_name,
        "nickname": mailbox.display_name,
        "building": info.building,
        "floorNumber": info.floor_number,
        "floorLabel": info.floor_label,
        "capacity": info.capacity,
        "bookingType": info.booking_type,
        **ROOM_DEFAULTS,
    }
    body["tags"] = []  # a fresh list per answer: callers may mutate what they get
    for name, value in info.extra.items():
        if name in ROOM_PROPERTIES and not (value is None and name in NON_NULLABLE):
            body[name] = value
    return body


def room_list_json(room_list: RoomList) -> dict[str, Any]:
    return {
        "id": room_list.id,
        "emailAddress": room_list.address,
        "displayName": room_list.display_name,
        **PLACE_DEFAULTS,
        "tags": [],
    }


def visible_rooms(tenant: Tenant) -> list[Mailbox]:
    """Rooms in the address list, in seed order (hidden rooms are never returned)."""
    return [m for m in tenant.rooms() if m.room is not None and not m.room.hidden]


def room_lists(tenant: Tenant) -> dict[str, RoomList]:
    """Room lists by lower-cased address, in order of first mention."""
    members: dict[str, list[Mailbox]] = {}
    addresses: dict[str, str] = {}
    for mailbox in tenant.rooms():
        address = mailbox.room.room_list if mailbox.room else None
        if not address:
            continue
        key = address.lower()
        addresses.setdefault(key, address)
        members.setdefault(key, [])
        if mailbox.room is not None and not mailbox.room.hidden:
            members[key].append(mailbox)
    lists: dict[str, RoomList] = {}
    for key, address in addresses.items():
        named = tenant.mailbox(address)
        lists[key] = RoomList(
            id=str(uuid.uuid5(ROOM_LIST_NAMESPACE, f"{tenant.id}/{key}")),
            address=address,
            display_name=named.display_name if named else address.partition("@")[0],
            rooms=tuple(members[key]),
        )
    return lists


@router.get("/{segment}")
async def get_places(segment: str, request: Request, caller: CallerDep) -> dict[str, Any]:
    """All rooms, all room lists, or one place by id or address."""
    require_consent(caller)
    cast = _cast(segment)
    if cast == "microsoft.graph.room":
        items = [room_json(m) for m in visible_rooms(caller.tenant)]
        return _collection(items, request, f"places/{cast}", cast)
    if cast == "microsoft.graph.roomList":
        items = [room_list_json(r) for r in room_lists(caller.tenant).values()]
        return _collection(items, request, f"places/{cast}", cast)
    place, type_name = _place(caller.tenant, segment)
    return {"@odata.context": f"{METADATA}places/$entity", "@odata.type": f"#{type_name}", **place}


@router.get("/{segment}/$count")
async def count_places(segment: str, request: Request, caller: CallerDep) -> PlainTextResponse:
    require_consent(caller)
    cast = _cast(segment)
    if cast == "microsoft.graph.room":
        items = [room_json(m) for m in visible_rooms(caller.tenant)]
    elif cast == "microsoft.graph.roomList":
        items = [room_list_json(r) for r in room_lists(caller.tenant).values()]
    else:
        raise _segment_not_found("$count")
    matching = _filtered(items, request.query_params.get("$filter"), cast)
    return PlainTextResponse(str(len(matching)))


@router.get("/{key}/{segment}")
async def get_place_as(key: str, segment: str, caller: CallerDep) -> dict[str, Any]:
    """The cast of one place to its type (404 if it is of the other type)."""
    require_consent(caller)
    cast = _cast(segment)
    if cast is None:
        raise _segment_not_found(segment)
    place, type_name = _place(caller.tenant, key)
    if type_name != cast:
        raise _not_found()
    return {"@odata.context": f"{METADATA}places/{cast}/$entity", **place}


@router.get("/{list_address}/{segment}/rooms")
async def get_rooms_in_list(
    list_address: str, segment: str, request: Request, caller: CallerDep
) -> dict[str, Any]:
    """The visible rooms of one room list, named by its email address (not its id)."""
    require_consent(caller)
    if _cast(segment) != "microsoft.graph.roomList":
        raise _segment_not_found(segment)
    room_list = room_lists(caller.tenant).get(list_address.lower())
    if room_list is None:
        raise _not_found()
    items = [room_json(m) for m in room_list.rooms]
    where = f"places('{quote(room_list.address, safe='')}')/microsoft.graph.roomList/rooms"
    return _collection(items, request, where, "microsoft.graph.room")


def _cast(segment: str) -> str | None:
    lowered = segment.lower()
    for prefix in ("microsoft.graph.", "graph."):
        if lowered.startswith(prefix):
            return CASTS.get(lowered.removeprefix(prefix))
    return None


def _place(tenant: Tenant, key: str) -> tuple[dict[str, Any], str]:
    """One room or room list by id or address, with its type name."""
    lowered = key.lower()
    mailbox = tenant.mailbox(key)
    if mailbox is not None and mailbox.room is not None and not mailbox.room.hidden:
        return room_json(mailbox), "microsoft.graph.room"
    for room_list in room_lists(tenant).values():
        if lowered in (room_list.id, room_list.address.lower()):
            return room_list_json(room_list), "microsoft.graph.roomList"
    raise _not_found()


def _collection(
    items: list[dict[str, Any]], request: Request, where: str, type_name: str
) -> dict[str, Any]:
    """Filter, count, page and project ``items`` as Graph does for places: never a nextLink."""
    params = request.query_params
    matching = _filtered(items, params.get("$filter"), type_name)
    top = _non_negative(params, "$top", DEFAULT_PAGE_SIZE)
    skip = _non_negative(params, "$skip", 0)
    selected = _selection(params.get("$select"), type_name)
    context = f"{METADATA}{where}"
    if selected:
        context += f"({','.join(selected)})"
    body: dict[str, Any] = {"@odata.context": context}
    if _wants_count(params.get("$count")):
        body["@odata.count"] = len(matching)
    page = matching[skip : skip + top]
    if selected:
        page = [{k: v for k, v in item.items() if k == "id" or k in selected} for item in page]
    body["value"] = page
    return body


def _non_negative(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit():
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for {name} query option found.")
    return int(raw)


def _wants_count(raw: str | None) -> bool:
    if raw is None or raw.lower() == "false":
        return False
    if raw.lower() == "true":
        return True
    raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for $count query option found.")


def _selection(raw: str | None, type_name: str) -> list[str]:
    if raw is None or not raw.strip():
        return []
    known = _property_names(type_name)
    selected = []
    for name in (part.strip() for part in raw.split(",")):
        if name not in known:
            raise _unknown_property(name, type_name)
        selected.append(known[name])
    return selected


def _filtered(items: list[dict[str, Any]], raw: str | None, type_name: str) -> list[dict[str, Any]]:
    """``items`` matching ``prop eq literal [and ...]``; strings compare case-insensitively."""
    if raw is None or not raw.strip():
        return items
    if _FILTER.fullmatch(raw) is None:
        raise GraphError(
            400,
            "BadRequest",
            f"Invalid filter clause: only 'property eq value' joined by 'and' is supported "
            f"on places, got '{raw}'.",
        )
    known = _property_names(type_name)
    conditions = []
    for name, literal in _CLAUSES.findall(raw):
        if name.lower() not in known:
            raise _unknown_property(name, type_name)
        conditions.append((known[name.lower()], _literal(literal)))
    return [item for item in items if all(_equal(item.get(k), v) for k, v in conditions)]


def _property_names(type_name: str) -> dict[str, str]:
    """Selectable and filterable names, exact and lower-cased, to the property name."""
    names = ROOM_PROPERTIES if type_name == "microsoft.graph.room" else ROOM_LIST_PROPERTIES
    return {name.lower(): name for name in names} | {name: name for name in names}


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return float(text) if "." in text else int(text)


def _equal(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str):
        return value.lower() == wanted.lower()
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    return bool(value == wanted)


def _unknown_property(name: str, type_name: str) -> GraphError:
    return GraphError(
        400, "BadRequest", f"Could not find a property named '{name}' on type '{type_name}'."
    )


def _segment_not_found(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def _not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
