"""Directory: calendar resources, buildings and users, their paging and refusals (google.md §7)."""

from __future__ import annotations

import httpx
import pytest

from calhub.emulators.google.state import GoogleState
from tests.emulators.google.conftest import token_for
from tests.emulators.google.seeds import (
    BEN,
    CALENDAR,
    FABRIKAM,
    NORTHWIND,
    RESOURCES_READONLY,
    ROOM_ATLAS,
)

RESOURCES = "/admin/directory/v1/customer/my_customer/resources/calendars"
BUILDINGS = "/admin/directory/v1/customer/my_customer/resources/buildings"
USERS = "/admin/directory/v1/users"


async def test_calendar_resources_list_in_directorys_shape(google: httpx.AsyncClient) -> None:
    response = await google.get(RESOURCES)
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "admin#directory#resources#calendars#calendarResourcesList"
    assert "nextPageToken" not in body
    atlas = body["items"][0]
    assert atlas["kind"] == "admin#directory#resources#calendars#CalendarResource"
    assert atlas["resourceEmail"] == ROOM_ATLAS
    assert atlas["generatedResourceName"] == "LON-1-1-Atlas (8)"
    assert atlas["resourceCategory"] == "CONFERENCE_ROOM"
    assert atlas["featureInstances"] == [{"feature": {"name": "Display"}}]
    assert atlas["etags"].startswith('"')


async def test_one_resource_by_id_and_an_unknown_one(google: httpx.AsyncClient) -> None:
    found = await google.get(f"{RESOURCES}/boreas")
    assert found.status_code == 200
    assert found.json()["resourceName"] == "Boreas"
    missing = await google.get(f"{RESOURCES}/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["errors"][0]["reason"] == "notFound"


async def test_resources_page_with_an_opaque_token(google: httpx.AsyncClient) -> None:
    names: list[str] = []
    page_token = None
    pages = 0
    while True:
        params = {"maxResults": 2} | ({"pageToken": page_token} if page_token else {})
        body = (await google.get(RESOURCES, params=params)).json()
        names += [item["resourceName"] for item in body["items"]]
        pages += 1
        page_token = body.get("nextPageToken")
        if page_token is None:
            break
    assert (names, pages) == (["Atlas", "Boreas", "Cairo"], 2)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("capacity desc", ["Cairo", "Atlas", "Boreas"]),
        ("buildingId, capacity", ["Cairo", "Boreas", "Atlas"]),
        ("resourceName desc", ["Cairo", "Boreas", "Atlas"]),
    ],
)
async def test_resources_order_by(
    google: httpx.AsyncClient, order_by: str, expected: list[str]
) -> None:
    body = (await google.get(RESOURCES, params={"orderBy": order_by})).json()
    assert [item["resourceName"] for item in body["items"]] == expected


@pytest.mark.parametrize(
    "params",
    [
        {"maxResults": 0},
        {"maxResults": 501},
        {"maxResults": "many"},
        {"pageToken": "garbage"},
        {"orderBy": "color"},
        {"query": "capacity>4"},
    ],
)
async def test_bad_list_parameters_are_400(
    google: httpx.AsyncClient, params: dict[str, str | int]
) -> None:
    response = await google.get(RESOURCES, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


async def test_a_page_token_of_another_list_is_refused(google: httpx.AsyncClient) -> None:
    users_page = await google.get(USERS, params={"customer": "my_customer", "maxResults": 1})
    token = users_page.json()["nextPageToken"]
    response = await google.get(RESOURCES, params={"pageToken": token})
    assert response.status_code == 400


async def test_buildings_list_under_their_own_key(google: httpx.AsyncClient) -> None:
    body = (await google.get(BUILDINGS, params={"maxResults": 1})).json()
    assert body["kind"] == "admin#directory#resources#buildings#buildingsList"
    assert [b["buildingId"] for b in body["buildings"]] == ["LON-1"]
    assert "items" not in body
    rest = (await google.get(BUILDINGS, params={"pageToken": body["nextPageToken"]})).json()
    assert [b["buildingId"] for b in rest["buildings"]] == ["BER-1"]
    london = (await google.get(f"{BUILDINGS}/LON-1")).json()
    assert london["address"]["regionCode"] == "GB"
    assert london["coordinates"] == {"latitude": 51.5033, "longitude": -0.0195}
    assert (await google.get(f"{BUILDINGS}/NOPE")).status_code == 404


async def test_the_customer_id_works_like_my_customer(google: httpx.AsyncClient) -> None:
    by_id = await google.get(f"/admin/directory/v1/customer/{NORTHWIND}/resources/calendars")
    assert by_id.json()["items"] == (await google.get(RESOURCES)).json()["items"]


async def test_another_customer_is_not_authorized(google: httpx.AsyncClient) -> None:
    response = await google.get(f"/admin/directory/v1/customer/{FABRIKAM}/resources/calendars")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Not Authorized to access this resource/api"


async def test_a_non_administrator_is_not_authorized(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    token = token_for(google_state, BEN)
    response = await google.get(RESOURCES, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"]["errors"][0]["reason"] == "forbidden"


async def test_a_token_without_a_directory_scope_is_refused(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    token = token_for(google_state, scopes=[CALENDAR])
    response = await google.get(RESOURCES, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["errors"][0]["reason"] == "insufficientPermissions"
    assert error["message"] == "Request had insufficient authentication scopes."
    resources_only = token_for(google_state, scopes=[RESOURCES_READONLY])
    users = await google.get(
        USERS,
        params={"customer": "my_customer"},
        headers={"Authorization": f"Bearer {resources_only}"},
    )
    assert users.status_code == 403


async def test_users_list_by_customer_or_domain(google: httpx.AsyncClient) -> None:
    body = (await google.get(USERS, params={"customer": "my_customer"})).json()
    assert body["kind"] == "admin#directory#users"
    emails = [user["primaryEmail"] for user in body["users"]]
    assert emails == [
        "ada@northwind.test",
        "ben@northwind.test",
        "chloe@northwind.test",
        "dev@northwind.test",
        "emma@northwind.test",
    ]
    ada = body["users"][0]
    assert ada["name"] == {"givenName": "Ada", "familyName": "Lovelace", "fullName": "Ada Lovelace"}
    assert ada["isAdmin"] is True
    assert ada["customerId"] == NORTHWIND
    assert ada["id"].isdigit()
    by_domain = (await google.get(USERS, params={"domain": "northwind.test"})).json()
    assert [u["primaryEmail"] for u in by_domain["users"]] == emails


async def test_users_order_and_page(google: httpx.AsyncClient) -> None:
    params = {"customer": "my_customer", "orderBy": "familyName", "sortOrder": "DESCENDING"}
    first = (await google.get(USERS, params=params | {"maxResults": 3})).json()
    rest = (await google.get(USERS, params=params | {"pageToken": first["nextPageToken"]})).json()
    families = [u["name"]["familyName"] for u in first["users"] + rest["users"]]
    assert families == ["Patel", "Okafor", "Martin", "Lovelace", "Berg"]


async def test_users_list_needs_a_customer_or_one_of_its_domains(
    google: httpx.AsyncClient,
) -> None:
    assert (await google.get(USERS)).status_code == 400
    other = await google.get(USERS, params={"domain": "fabrikam.test"})
    assert other.status_code == 403
