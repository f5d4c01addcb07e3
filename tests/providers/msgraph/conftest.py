"""The Graph provider against the in-process Graph emulator: seeded Contoso on a frozen clock.

``EmulatorTokens`` is the token-source double (msal is tested on its own in ``test_auth.py``):
it mints Contoso app tokens straight from the emulator state. ``sleeps`` records every wait of
the client and moves the emulator clock by it, so ``Retry-After`` waits really let time pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.state import GraphState
from calhub.providers.budget import RequestBudget
from calhub.providers.msgraph.client import GraphClient
from tests.emulators.graph.seeds import APP_ID, CONTOSO
from tests.providers.msgraph.tokens import EmulatorTokens

ORIGIN = "http://graph.emu.test"


@pytest.fixture
def tokens(graph_state: GraphState) -> EmulatorTokens:
    return EmulatorTokens(graph_state)


@pytest.fixture
def sleeps(clock: EmulatorClock) -> list[float]:
    return []


@pytest.fixture
def make_client(
    graph_app: FastAPI, tokens: EmulatorTokens, sleeps: list[float], clock: EmulatorClock
) -> Callable[..., GraphClient]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    def make(**options: object) -> GraphClient:
        settings: dict[str, object] = {
            "base_url": f"{ORIGIN}/v1.0",
            "transport": httpx.ASGITransport(app=graph_app),
            "sleep": sleep,
            "random": lambda: 0.5,
            "budget": RequestBudget(rate=1000, burst=1000),
        }
        settings.update(options)
        return GraphClient(tokens, **settings)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def client(make_client: Callable[..., GraphClient]) -> AsyncIterator[GraphClient]:
    graph = make_client()
    yield graph
    await graph.aclose()


@pytest.fixture
async def emulator(graph_app: FastAPI, graph_state: GraphState) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client on the emulator origin with Contoso's token: control API and seeding."""
    tenant = graph_state.tenants[CONTOSO]
    headers = {"Authorization": f"Bearer {mint_token(graph_state, tenant, tenant.apps[APP_ID])}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app), base_url=ORIGIN, headers=headers
    ) as http:
        yield http
