"""``GET /api/v1/users/{email}/presence`` on a runtime connected to the live Graph emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from calhub.api.app import create_app
from calhub.bootstrap import Runtime, bootstrap
from calhub.domain.ids import TenantId
from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.state import GraphState
from calhub.services.apikeys import create_api_key
from calhub.services.discovery import discover_calendars
from calhub.services.presence import PRESENCE_CHANGED
from calhub.services.tenants import create_tenant
from calhub.settings import Settings
from tests.emulators.graph.fixtures import START
from tests.emulators.graph.seeds import APP_ID, CONTOSO
from tests.hub_fixtures import LiveGraph, connect_contoso

ADELE = "/api/v1/users/adele@contoso.test/presence"


@pytest_asyncio.fixture
async def live_runtime(
    settings: Settings, live_graph: LiveGraph, clock: EmulatorClock
) -> AsyncIterator[Runtime]:
    live = settings.model_copy(
        update={
            "graph_base_url": f"{live_graph.origin}/v1.0",
            "microsoft_login_url": live_graph.origin,
            "ca_bundle": live_graph.ca_bundle,
        }
    )
    async with bootstrap(live, clock=clock) as runtime:
        yield runtime


@pytest_asyncio.fixture
async def tenant_id(live_runtime: Runtime) -> TenantId:
    """A tenant whose Contoso connection is consented and discovered."""
    tenant = await create_tenant(live_runtime.uow, live_runtime.clock, "Contoso")
    connection = await connect_contoso(live_runtime.hub, tenant.id)
    await discover_calendars(live_runtime.hub, tenant.id, connection.id)
    return tenant.id


@pytest_asyncio.fixture
async def api(live_runtime: Runtime, tenant_id: TenantId) -> AsyncIterator[httpx.AsyncClient]:
    """A client with the tenant's API key."""
    issued = await create_api_key(live_runtime.uow, live_runtime.clock, tenant_id, "tests")
    app = create_app(live_runtime.settings, live_runtime)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://calhub.test",
            headers={"Authorization": f"Bearer {issued.token}"},
        ) as client,
    ):
        yield client


@pytest.fixture
async def outlook(graph_app: FastAPI, graph_state: GraphState) -> AsyncIterator[httpx.AsyncClient]:
    tenant = graph_state.tenants[CONTOSO]
    token = mint_token(graph_state, tenant, tenant.apps[APP_ID])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app),
        base_url="http://graph.emu.test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def set_replies(outlook: httpx.AsyncClient, **replies: Any) -> None:
    response = await outlook.patch(
        "/v1.0/users/adele@contoso.test/mailboxSettings",
        json={"automaticRepliesSetting": replies},
    )
    assert response.status_code == 200, response.text


async def test_a_user_who_is_in_the_office(api: httpx.AsyncClient) -> None:
    response = await api.get(ADELE)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "email": "adele@contoso.test",
        "out_of_office": False,
        "reply_status": "disabled",
        "scheduled": None,
        "until": None,
        "checked_at": "2026-03-02T08:00:00Z",
        "changed_at": "2026-03-02T08:00:00Z",
        "last_error": None,
    }


async def test_refresh_reads_the_mailbox_now_and_the_change_is_announced(
    api: httpx.AsyncClient,
    outlook: httpx.AsyncClient,
    live_runtime: Runtime,
    clock: EmulatorClock,
    tenant_id: TenantId,
) -> None:
    await api.get(ADELE)  # first read: in the office
    await set_replies(outlook, status="alwaysEnabled")
    clock.advance(60)
    cached = (await api.get(ADELE)).json()
    assert (cached["out_of_office"], cached["checked_at"]) == (False, "2026-03-02T08:00:00Z")
    fresh = (await api.get(ADELE, params={"refresh": "true"})).json()
    assert (fresh["out_of_office"], fresh["reply_status"]) == (True, "alwaysEnabled")
    assert fresh["checked_at"] == fresh["changed_at"] == "2026-03-02T08:01:00Z"
    async with live_runtime.uow() as uow:
        events = await uow.outbox.list_after(tenant_id, 0)
    assert [(e.kind, e.payload["out_of_office"]) for e in events] == [(PRESENCE_CHANGED, True)]


async def test_a_scheduled_window_shows_with_the_next_change(
    api: httpx.AsyncClient, outlook: httpx.AsyncClient, clock: EmulatorClock
) -> None:
    await set_replies(
        outlook,
        status="scheduled",
        scheduledStartDateTime={"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Berlin"},
        scheduledEndDateTime={"dateTime": "2026-03-06T18:00:00", "timeZone": "Europe/Berlin"},
    )
    before = (await api.get(ADELE)).json()
    assert before["scheduled"] == {
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-06T17:00:00Z",
        "problem": None,
    }
    assert (before["out_of_office"], before["until"]) == (False, "2026-03-02T09:00:00Z")
    clock.set(START + timedelta(hours=1))
    during = (await api.get(ADELE)).json()  # no poll: the window's start alone flips it
    assert (during["out_of_office"], during["until"]) == (True, "2026-03-06T17:00:00Z")
    assert during["changed_at"] == "2026-03-02T09:00:00Z"


async def test_a_window_that_ends_before_it_starts_says_so(
    api: httpx.AsyncClient, outlook: httpx.AsyncClient
) -> None:
    await set_replies(
        outlook,
        status="scheduled",
        scheduledStartDateTime={"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"},
        scheduledEndDateTime={"dateTime": "2026-03-01T10:00:00", "timeZone": "UTC"},
    )
    body = (await api.get(ADELE)).json()
    assert body["out_of_office"] is False
    assert "end before they start" in body["scheduled"]["problem"]


@pytest.mark.parametrize(
    ("address", "words"),
    [("nobody@contoso.test", "No user"), ("cf100@contoso.test", "room")],
)
async def test_unknown_addresses_and_rooms_are_404_problems(
    api: httpx.AsyncClient, address: str, words: str
) -> None:
    response = await api.get(f"/api/v1/users/{address}/presence")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]


async def test_a_key_is_required(api: httpx.AsyncClient) -> None:
    response = await api.get(ADELE, headers={"Authorization": ""})
    assert response.status_code == 401


async def test_another_tenants_key_does_not_see_the_user(
    api: httpx.AsyncClient, live_runtime: Runtime
) -> None:
    other = await create_tenant(live_runtime.uow, live_runtime.clock, "Globex")
    issued = await create_api_key(live_runtime.uow, live_runtime.clock, other.id, "tests")
    response = await api.get(ADELE, headers={"Authorization": f"Bearer {issued.token}"})
    assert response.status_code == 404
