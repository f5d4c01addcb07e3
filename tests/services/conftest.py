"""Fixtures of the service tests: Outlook as the organizer sees it, on the Graph emulator; the
Google emulator on loopback and a hub pointed at it (``google_world``)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.seeds import APP_ID, CONTOSO
from tests.services.google_world import google_hub, live_google

__all__ = ["google_hub", "live_google"]


@pytest.fixture
async def outlook(graph_app: FastAPI, graph_state: GraphState) -> httpx.AsyncClient:
    tenant = graph_state.tenants[CONTOSO]
    token = mint_token(graph_state, tenant, tenant.apps[APP_ID])
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app),
        base_url="http://graph.emu.test",
        headers={"Authorization": f"Bearer {token}"},
    )
