"""The Google provider against the in-process Google emulator: seeded Northwind, frozen clock.

``EmulatorTokens`` is the token-source double (``ServiceAccountTokens`` itself is tested in
``test_auth.py`` and end to end in ``test_loopback.py``): it mints Northwind tokens for calhub's
scopes straight from the emulator state, refuses as the token endpoint would (unknown user,
revoked delegation), and can hand out ``stale`` tokens the API refuses. ``sleeps`` records every
wait of the client and moves the emulator clock by it, so a back-off really lets time pass.
``api(user)`` is a plain Calendar client acting as ``user``, for arranging the world.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from calhub.emulators.google.access import mint_access_token
from calhub.emulators.google.app import create_app
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from calhub.providers.base import ConsentRevoked, MailboxOutOfScope
from calhub.providers.budget import RequestBudget
from calhub.providers.google.auth import CALENDAR_SCOPES
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.provider import GoogleCalendarProvider
from tests.emulators.google.seeds import ADA, NORTHWIND, SERVICE_ACCOUNT, northwind_seed

ORIGIN = "http://google.emu.test"
CALENDAR_URL = f"{ORIGIN}/calendar/v3"
DIRECTORY_URL = f"{ORIGIN}/admin/directory/v1"
FROZEN_NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


class EmulatorTokens:
    """Northwind tokens per user; ``stale[user]`` refused tokens first, until forgotten."""

    def __init__(self, state: GoogleState) -> None:
        self.state = state
        self.stale: dict[str, int] = {}
        self.refused: dict[str, str] = {}  # user → why the token endpoint says no such user
        self.asked: list[str] = []
        self.forgotten: list[str] = []

    async def token(self, user: str) -> str:
        user = user.lower()
        self.asked.append(user)
        if user in self.refused:
            raise MailboxOutOfScope(user, self.refused[user])
        customer = self.state.customers[NORTHWIND]
        if customer.user(user) is None:
            raise MailboxOutOfScope(user, "no such user in the Google Workspace domain")
        account = customer.service_account(SERVICE_ACCOUNT)
        if account is None or account.state != "granted":
            raise ConsentRevoked("Google refused the service account's domain-wide delegation")
        if self.stale.get(user):
            return "ya29.stale-token"
        return mint_access_token(self.state, NORTHWIND, SERVICE_ACCOUNT, user, CALENDAR_SCOPES)

    def forget(self, user: str) -> None:
        user = user.lower()
        self.forgotten.append(user)
        self.stale[user] = max(0, self.stale.get(user, 0) - 1)


@pytest.fixture
def clock() -> EmulatorClock:
    return EmulatorClock(FROZEN_NOW, frozen=True)


def seed() -> dict[str, Any]:
    """Northwind, plus a resource that is not a room (a projector)."""
    world = northwind_seed()
    world["customers"][0]["resources"].append(
        {"resourceId": "beamer", "resourceName": "Beamer", "resourceCategory": "OTHER"}
    )
    return world


@pytest.fixture
def google_state(clock: EmulatorClock) -> GoogleState:
    state = GoogleState(clock, seed=7)
    load_seed(state, seed())
    return state


@pytest.fixture
def google_app(google_state: GoogleState) -> FastAPI:
    return create_app(google_state)


@pytest.fixture
def tokens(google_state: GoogleState) -> EmulatorTokens:
    return EmulatorTokens(google_state)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(
    google_app: FastAPI, tokens: EmulatorTokens, sleeps: list[float], clock: EmulatorClock
) -> Callable[..., GoogleClient]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    def make(**options: Any) -> GoogleClient:
        source = options.pop("tokens", tokens)
        settings: dict[str, Any] = {
            "calendar_base_url": CALENDAR_URL,
            "directory_base_url": DIRECTORY_URL,
            "transport": httpx.ASGITransport(app=google_app),
            "sleep": sleep,
            "random": lambda: 0.5,
            "budget": RequestBudget(rate=1000, burst=1000),
        }
        settings.update(options)
        return GoogleClient(source, **settings)

    return make


@pytest.fixture
async def client(make_client: Callable[..., GoogleClient]) -> AsyncIterator[GoogleClient]:
    google = make_client()
    yield google
    await google.aclose()


@pytest.fixture
async def provider(client: GoogleClient, clock: EmulatorClock) -> GoogleCalendarProvider:
    return GoogleCalendarProvider(client, admin=ADA, clock=clock, page_size=2)


@pytest.fixture
async def api(
    google_app: FastAPI, google_state: GoogleState
) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    """``api(user)``: a Calendar client acting as ``user`` (every Calendar scope)."""
    opened: list[httpx.AsyncClient] = []

    def as_user(user: str) -> httpx.AsyncClient:
        token = mint_access_token(google_state, NORTHWIND, SERVICE_ACCOUNT, user, CALENDAR_SCOPES)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=google_app),
            base_url=CALENDAR_URL + "/",
            headers={"Authorization": f"Bearer {token}"},
        )
        opened.append(http)
        return http

    yield as_user
    for http in opened:
        await http.aclose()


@pytest.fixture
async def control(google_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's control API (faults, consent, sync-token expiry, clock)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=google_app), base_url=f"{ORIGIN}/_emulator/"
    ) as http:
        yield http


def at(day: int, hour: int, minute: int = 0) -> dict[str, str]:
    """A March 2026 wall-clock time in Berlin, as Calendar takes it."""
    return {
        "dateTime": f"2026-03-{day:02d}T{hour:02d}:{minute:02d}:00",
        "timeZone": "Europe/Berlin",
    }


async def insert(http: httpx.AsyncClient, calendar: str, **body: Any) -> dict[str, Any]:
    answer = await http.post(f"calendars/{calendar}/events", json=body)
    assert answer.status_code == 200, answer.text
    event: dict[str, Any] = answer.json()
    return event
