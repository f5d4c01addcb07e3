"""In-process Graph emulator fixtures: a seeded state on a frozen clock and an httpx client.

``graph`` is an ``httpx.AsyncClient`` on the emulator's ASGI app with a valid app-only token for
Contoso already in its headers, so tests read like calls against Graph itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.csdl import check_response
from tests.emulators.graph.seeds import APP_ID, CONTOSO

BASE_URL = "http://graph.emu.test"


def token_for(state: GraphState, tenant_id: str = CONTOSO, client_id: str = APP_ID) -> str:
    tenant = state.tenants[tenant_id]
    return mint_token(state, tenant, tenant.apps[client_id])


@pytest.fixture
async def graph(graph_app: FastAPI, graph_state: GraphState) -> AsyncIterator[httpx.AsyncClient]:
    """A client on ``/v1.0`` with Contoso's app token; every response it sees must match the
    CSDL (``csdl.check_response``), so each test also checks the shapes it touches."""
    headers = {"Authorization": f"Bearer {token_for(graph_state)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app),
        base_url=f"{BASE_URL}/v1.0",
        headers=headers,
        event_hooks={"response": [check_response]},
    ) as client:
        yield client


@pytest.fixture
async def emulator(graph_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the emulator's origin without credentials (identity and control API)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app), base_url=BASE_URL
    ) as client:
        yield client
