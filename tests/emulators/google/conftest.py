"""In-process Google emulator fixtures: a seeded state on a frozen clock and httpx clients.

``google`` is an ``httpx.AsyncClient`` on the emulator's origin with a valid access token for
Ada (Northwind's administrator, every granted scope) in its headers, so tests read like calls
against Google itself: ``await google.get("/calendar/v3/calendars/primary/events")``. Every
response it sees under ``/calendar/v3`` or ``/admin/directory/v1`` is checked against the
discovery documents (``discovery.check_response``) when the request names a known method, and
against Google's error envelope otherwise. ``emulator`` has no credentials (token endpoint,
control API); ``token_for`` mints tokens for other users or scopes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from calhub.emulators.google.access import mint_access_token
from calhub.emulators.google.app import create_app
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from tests.emulators.google import discovery
from tests.emulators.google.seeds import (
    ADA,
    GRANTED_SCOPES,
    NORTHWIND,
    SERVICE_ACCOUNT,
    northwind_seed,
)

BASE_URL = "http://google.emu.test"
FROZEN_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
SERVICE_PATHS = {"calendar": "/calendar/v3/", "directory": "/"}


def token_for(
    state: GoogleState,
    user: str = ADA,
    scopes: Iterable[str] = GRANTED_SCOPES,
    *,
    customer_id: str = NORTHWIND,
    client_email: str = SERVICE_ACCOUNT,
) -> str:
    return mint_access_token(state, customer_id, client_email, user, scopes)


@pytest.fixture
def google_state() -> GoogleState:
    state = GoogleState(EmulatorClock(FROZEN_NOW, frozen=True), seed=7)
    load_seed(state, northwind_seed())
    return state


@pytest.fixture
def google_app(google_state: GoogleState) -> FastAPI:
    return create_app(google_state)


@pytest.fixture
async def google(
    google_app: FastAPI, google_state: GoogleState
) -> AsyncIterator[httpx.AsyncClient]:
    """A client with Ada's token; every API response it sees must match the discovery docs."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=google_app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {token_for(google_state)}"},
        event_hooks={"response": [check_response]},
    ) as client:
        yield client


@pytest.fixture
async def emulator(google_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the emulator's origin without credentials (token endpoint, control API)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=google_app), base_url=BASE_URL
    ) as client:
        yield client


async def check_response(response: httpx.Response) -> None:
    """An httpx response hook: fail the test when an API response breaks the discovery docs."""
    await response.aread()
    request = response.request
    found = method_for(request.method, request.url.path)
    if found is None:
        api_path = request.url.path.startswith(("/calendar/v3/", "/admin/directory/v1/"))
        if api_path and response.status_code >= 400:
            discovery.check_error(response.status_code, response.json())
        return
    api, method_id = found
    body: Any = response.json() if response.content else None
    try:
        discovery.check_response(api, method_id, response.status_code, body)
    except AssertionError as broken:
        raise AssertionError(f"{request.method} {request.url} ({method_id}): {broken}") from None


def method_for(http_method: str, path: str) -> tuple[str, str] | None:
    """(api, discovery method id) of a request, or None when no method has that path."""
    for api, verb, pattern, method_id in _routes():
        if verb == http_method and pattern.fullmatch(path):
            return api, method_id
    return None


@cache
def _routes() -> list[tuple[str, str, re.Pattern[str], str]]:
    routes = []
    for api, service_path in SERVICE_PATHS.items():
        for described in _methods(discovery.document(api)):
            template = service_path + str(described.get("flatPath") or described["path"])
            pattern = re.sub(
                r"\{\+?[^}]+\}",
                "[^/]+",
                re.escape(template).replace(r"\{", "{").replace(r"\}", "}"),
            )
            routes.append((api, described["httpMethod"], re.compile(pattern), described["id"]))
    # Literal segments win over parameters: events/watch before events/{eventId}.
    routes.sort(key=lambda route: route[2].pattern.count("[^/]+"))
    return routes


def _methods(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from node.get("methods", {}).values()
    for child in node.get("resources", {}).values():
        yield from _methods(child)
