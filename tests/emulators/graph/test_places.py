"""The Places API as a Graph client sees it: rooms, room lists, paging without nextLink (§7)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState, Mailbox, RoomInfo
from tests.emulators.graph.csdl import schema
from tests.emulators.graph.seeds import (
    CONTOSO,
    FABRIKAM,
    ROOM_100,
    ROOM_200,
    ROOM_HIDDEN,
    ROOM_RESERVED,
    contoso_seed,
)

METADATA = "https://graph.microsoft.com/v1.0/$metadata#"
LIST = "building1@contoso.test"


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["id"] for item in body["value"]]


async def test_rooms_list_every_csdl_property_and_leaves_hidden_rooms_out(
    graph: httpx.AsyncClient,
) -> None:
    response = await graph.get("/places/microsoft.graph.room")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == f"{METADATA}places/microsoft.graph.room"
    assert "@odata.nextLink" not in body
    assert _ids(body) == [ROOM_100, ROOM_200, ROOM_RESERVED]
    room = body["value"][0]
    assert set(room) == schema().structural("room")
    assert room["emailAddress"] == "cf100@contoso.test"
    assert room["displayName"] == room["nickname"] == "Conf Room 100"
    assert (room["capacity"], room["building"], room["floorNumber"]) == (12, "Building 1", 1)
    assert room["floorLabel"] == "Floor 1"
    assert (room["bookingType"], room["tags"], room["teamsEnabledState"]) == (
        "standard",
        [],
        "unknown",
    )
    assert body["value"][2]["bookingType"] == "reserved"


@pytest.mark.parametrize(
    "segment", ["microsoft.graph.roomList", "microsoft.graph.roomlist", "graph.roomList"]
)
async def test_room_lists_are_derived_from_the_rooms(
    graph: httpx.AsyncClient, segment: str
) -> None:
    response = await graph.get(f"/places/{segment}")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == f"{METADATA}places/microsoft.graph.roomList"
    [room_list] = body["value"]
    assert set(room_list) == schema().structural("roomList")
    assert room_list["emailAddress"] == LIST
    assert room_list["displayName"] == "building1"
    assert uuid.UUID(room_list["id"])


async def test_room_list_ids_are_stable_across_reloads(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    before = (await graph.get("/places/microsoft.graph.roomList")).json()["value"][0]["id"]
    load_seed(graph_state, contoso_seed())
    after = (await graph.get("/places/microsoft.graph.roomList")).json()["value"][0]["id"]
    assert before == after


async def test_rooms_of_a_list_by_its_address(graph: httpx.AsyncClient) -> None:
    response = await graph.get(f"/places/{LIST}/microsoft.graph.roomList/rooms")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == (
        f"{METADATA}places('building1%40contoso.test')/microsoft.graph.roomList/rooms"
    )
    assert _ids(body) == [ROOM_100, ROOM_200, ROOM_RESERVED]
    unknown = await graph.get("/places/nolist@contoso.test/microsoft.graph.roomList/rooms")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "ErrorItemNotFound")


@pytest.mark.parametrize("key", [ROOM_200, ROOM_200.upper(), "cf200@contoso.test"])
async def test_one_room_by_id_or_address_names_its_derived_type(
    graph: httpx.AsyncClient, key: str
) -> None:
    response = await graph.get(f"/places/{key}")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"] == f"{METADATA}places/$entity"
    assert body["@odata.type"] == "#microsoft.graph.room"
    assert (body["id"], body["displayName"]) == (ROOM_200, "Conf Room 200")


async def test_one_room_list_by_address_or_id(graph: httpx.AsyncClient) -> None:
    by_address = (await graph.get(f"/places/{LIST}")).json()
    assert by_address["@odata.type"] == "#microsoft.graph.roomList"
    by_id = (await graph.get(f"/places/{by_address['id']}")).json()
    assert by_id == by_address


async def test_cast_of_one_place_to_its_type(graph: httpx.AsyncClient) -> None:
    room = await graph.get(f"/places/{ROOM_100}/graph.room")
    assert room.status_code == 200
    assert room.json()["@odata.context"] == f"{METADATA}places/microsoft.graph.room/$entity"
    wrong = await graph.get(f"/places/{ROOM_100}/microsoft.graph.roomList")
    assert wrong.status_code == 404


@pytest.mark.parametrize("key", [ROOM_HIDDEN, "hidden@contoso.test", "nobody@contoso.test"])
async def test_hidden_and_unknown_places_are_not_found(graph: httpx.AsyncClient, key: str) -> None:
    response = await graph.get(f"/places/{key}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ErrorItemNotFound")


async def test_top_skip_and_count_page_without_next_link(graph: httpx.AsyncClient) -> None:
    first = (await graph.get("/places/microsoft.graph.room?$top=2&$count=true")).json()
    assert (_ids(first), first["@odata.count"]) == ([ROOM_100, ROOM_200], 3)
    assert "@odata.nextLink" not in first
    rest = (await graph.get("/places/microsoft.graph.room?$top=2&$skip=2")).json()
    assert _ids(rest) == [ROOM_RESERVED]
    assert "@odata.count" not in rest
    count = await graph.get("/places/microsoft.graph.room/$count")
    assert (count.status_code, count.text) == (200, "3")


async def test_default_page_is_100_and_a_large_top_returns_all(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    tenant = graph_state.tenants[CONTOSO]
    for number in range(150):
        tenant.add_mailbox(
            Mailbox(
                id=str(uuid.UUID(int=number + 1)),
                upn=f"room{number}@contoso.test",
                display_name=f"Room {number}",
                tenant_id=CONTOSO,
                kind="room",
                room=RoomInfo(capacity=number),
            )
        )
    default = (await graph.get("/places/microsoft.graph.room?$count=true")).json()
    assert (len(default["value"]), default["@odata.count"]) == (100, 153)
    assert "@odata.nextLink" not in default
    everything = (await graph.get("/places/microsoft.graph.room?$top=999")).json()
    assert len(everything["value"]) == 153


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("floorNumber eq 1", [ROOM_100, ROOM_RESERVED]),
        ("building eq 'building 1' and floorNumber eq 2", [ROOM_200]),
        ("bookingType eq 'reserved'", [ROOM_RESERVED]),
        ("emailAddress eq 'CF100@contoso.test'", [ROOM_100]),
        ("capacity eq 99", []),
    ],
)
async def test_filter_on_simple_equality(
    graph: httpx.AsyncClient, expression: str, expected: list[str]
) -> None:
    response = await graph.get("/places/microsoft.graph.room", params={"$filter": expression})
    assert response.status_code == 200
    assert _ids(response.json()) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"$filter": "capacity gt 5"},
        {"$filter": "startswith(displayName,'Conf')"},
        {"$filter": "colour eq 'red'"},
        {"$top": "-1"},
        {"$skip": "many"},
        {"$count": "yes"},
        {"$select": "displayName,colour"},
    ],
)
async def test_unsupported_query_options_are_400(
    graph: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await graph.get("/places/microsoft.graph.room", params=params)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "BadRequest")


async def test_select_projects_the_properties_and_the_context(graph: httpx.AsyncClient) -> None:
    body = (await graph.get("/places/microsoft.graph.room?$select=displayName,capacity")).json()
    assert body["@odata.context"] == f"{METADATA}places/microsoft.graph.room(displayName,capacity)"
    assert body["value"][0] == {"id": ROOM_100, "displayName": "Conf Room 100", "capacity": 12}


async def test_seeded_place_metadata_is_returned(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    seed = contoso_seed()
    seed["tenants"][0]["rooms"][0].update(
        {
            "tags": ["bean bags"],
            "displayDeviceName": "surface hub",
            "isWheelChairAccessible": True,
            "phone": "000-000-0000",
            "address": {"street": "4567 Main Street", "city": "Buffalo", "state": "NY"},
            "geoCoordinates": {"latitude": 47.64, "longitude": -122.13},
        }
    )
    load_seed(graph_state, seed)
    body = (await graph.get(f"/places/{ROOM_100}")).json()
    assert body["tags"] == ["bean bags"]
    assert (body["displayDeviceName"], body["isWheelChairAccessible"]) == ("surface hub", True)
    assert body["address"]["city"] == "Buffalo"
    assert body["geoCoordinates"] == {"latitude": 47.64, "longitude": -122.13}


async def test_rooms_are_tenant_wide_not_limited_by_the_access_policy(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    graph_state.tenants[CONTOSO].allowed = frozenset({"adele@contoso.test"})
    response = await graph.get("/places/microsoft.graph.room")
    assert _ids(response.json()) == [ROOM_100, ROOM_200, ROOM_RESERVED]


async def test_each_tenant_sees_only_its_own_rooms(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    graph.headers["Authorization"] = f"Bearer {_token(graph_state, FABRIKAM)}"
    response = await graph.get("/places/microsoft.graph.room")
    assert response.json()["value"] == []
    assert (await graph.get(f"/places/{ROOM_100}")).status_code == 404


async def test_places_need_a_token_and_consent(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    anonymous = await graph.get("/places/microsoft.graph.room", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    next(iter(graph_state.tenants[CONTOSO].apps.values())).consent = "revoked"
    revoked = await graph.get("/places/microsoft.graph.room")
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (403, "ErrorAccessDenied")


def _token(state: GraphState, tenant_id: str) -> str:
    tenant = state.tenants[tenant_id]
    return mint_token(state, tenant, next(iter(tenant.apps.values())))
