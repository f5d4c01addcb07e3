"""``GET /v1.0/users`` and ``/v1.0/users/{id}``: the directory a hub discovers mailboxes from."""

from __future__ import annotations

import httpx

from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.conftest import token_for
from tests.emulators.graph.seeds import ADELE, CONTOSO, MEGAN, ONPREM, ROOM_100


async def test_lists_the_tenants_users_but_not_its_rooms(graph: httpx.AsyncClient) -> None:
    response = await graph.get("/users")
    assert response.status_code == 200
    users = {u["id"]: u for u in response.json()["value"]}
    assert set(users) == {ADELE, MEGAN, ONPREM, "6f0b6e5d-0a3b-4e8e-9c2d-1a2b3c4d5e02"}
    assert ROOM_100 not in users
    assert users[ADELE] == {
        "id": ADELE,
        "userPrincipalName": "adele@contoso.test",
        "displayName": "Adele Vance",
        "mail": "adele@contoso.test",
    }
    assert users[ONPREM]["mail"] is None
    assert "@odata.nextLink" not in response.json()


async def test_pages_with_a_skiptoken_and_keeps_the_selection(graph: httpx.AsyncClient) -> None:
    seen: list[dict[str, str]] = []
    url: str | None = "/users?$top=3&$select=id,mail"
    pages = 0
    while url is not None:
        body = (await graph.get(url)).json()
        seen.extend(body["value"])
        url = body.get("@odata.nextLink")
        pages += 1
        if url is not None:
            assert "$skiptoken=" in url
            assert "$skip=" not in url
    assert pages == 2
    assert len(seen) == 4
    assert {tuple(u) for u in seen} == {("id", "mail")}


async def test_one_user_by_address_and_unknown_ones(graph: httpx.AsyncClient) -> None:
    adele = await graph.get("/users/ADELE@contoso.test?$select=displayName")
    assert adele.json()["displayName"] == "Adele Vance"
    assert (await graph.get(f"/users/{ROOM_100}")).status_code == 404
    assert (await graph.get("/users?$top=0")).json()["error"]["code"] == "Request_BadRequest"
    assert (await graph.get("/users?$select=nope")).status_code == 400


async def test_revoked_consent_is_refused(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    graph_state.tenants[CONTOSO].apps[
        next(iter(graph_state.tenants[CONTOSO].apps))
    ].consent = "revoked"
    graph.headers["Authorization"] = f"Bearer {token_for(graph_state)}"
    response = await graph.get("/users")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "ErrorAccessDenied")
