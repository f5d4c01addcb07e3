"""The provider end to end over real sockets: the emulator served on loopback (real clock, since
google-auth signs its grants with wall time), real ``ServiceAccountTokens`` with a key file, and
a push receiver that the emulator's channel messages reach."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from calhub.domain.calendars import CalendarKind
from calhub.domain.sync.changes import ProviderEvent
from calhub.emulators.google.app import create_app
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from calhub.providers.base import CalendarRef, ConsentRevoked, Window
from calhub.providers.budget import RequestBudget
from calhub.providers.google.auth import ServiceAccountTokens
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.provider import GoogleCalendarProvider
from calhub.providers.google.push import ResourceState, parse_push
from tests.emulators.google.receiver import Receiver, new_hook, serving
from tests.emulators.google.seeds import (
    ADA,
    BEN,
    ROOM_ATLAS,
    SERVICE_ACCOUNT,
    key_file,
    northwind_seed,
)
from tests.emulators.graph.servers import serve_in_thread


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, GoogleState]]:
    state = GoogleState(EmulatorClock())
    load_seed(state, northwind_seed())
    with serve_in_thread(create_app(state)) as origin:
        yield origin, state


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    with serving() as served:
        yield served


@pytest.fixture
async def provider(emulator: tuple[str, GoogleState]) -> AsyncIterator[GoogleCalendarProvider]:
    origin, _ = emulator
    tokens = ServiceAccountTokens(
        key_file("https://oauth2.googleapis.com/token"), token_uri=f"{origin}/token"
    )
    client = GoogleClient(
        tokens,
        calendar_base_url=f"{origin}/calendar/v3",
        directory_base_url=f"{origin}/admin/directory/v1",
        budget=RequestBudget(rate=1000, burst=1000),
    )
    google = GoogleCalendarProvider(client, admin=ADA)
    yield google
    await google.close()
    tokens.close()


def window() -> Window:
    now = datetime.now(UTC)
    return Window(now - timedelta(days=1), now + timedelta(days=30))


async def add_event(provider: GoogleCalendarProvider, summary: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    response = await provider.client.request(
        "POST",
        provider.client.calendar_url("calendars", BEN, "events"),
        user=BEN,
        json={
            "summary": summary,
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            "attendees": [{"email": ROOM_ATLAS, "resource": True}],
        },
    )
    event_id: str = response.json()["id"]
    return event_id


async def test_discovery_sync_and_verify_with_a_real_key(provider: GoogleCalendarProvider) -> None:
    found = await provider.discover_calendars()
    assert {c.kind for c in found} == {CalendarKind.USER, CalendarKind.ROOM}
    assert BEN in {c.provider_calendar_id for c in found}

    event_id = await add_event(provider, "Loopback")
    pages = [p async for p in provider.changes(CalendarRef(BEN), cursor=None, window=window())]
    changes = {c.provider_event_id: c for p in pages for c in p.changes}
    assert isinstance(changes[event_id], ProviderEvent)
    room_pages = [
        p async for p in provider.changes(CalendarRef(ROOM_ATLAS), cursor=None, window=window())
    ]
    assert event_id in {c.provider_event_id for p in room_pages for c in p.changes}

    assert all(check.ok for check in await provider.verify(BEN))


async def live_channels(origin: str) -> set[str]:
    async with httpx.AsyncClient() as control:
        state = (await control.get(f"{origin}/_emulator/state")).json()
    return {channel["id"] for channel in state["channels"]["channels"]}


async def test_a_channel_brings_sync_then_exists_and_stops(
    provider: GoogleCalendarProvider,
    receiver: tuple[Receiver, str],
    emulator: tuple[str, GoogleState],
) -> None:
    origin, _ = emulator
    hook = new_hook(*receiver)
    info = await provider.subscribe(
        CalendarRef(BEN),
        notification_url=hook.url,
        lifecycle_url=None,
        client_state="client-state-1",
        expires_at=datetime.now(UTC) + timedelta(hours=2),
    )
    first = (await hook.wait_for(1))[0]
    message = parse_push(httpx.Headers(first.headers))
    assert message.state is ResourceState.SYNC
    assert message.subscription_id == info.id
    assert message.token == "client-state-1"

    await add_event(provider, "Pushed")
    second = (await hook.wait_for(2))[1]
    assert parse_push(httpx.Headers(second.headers)).state is ResourceState.EXISTS

    channel_id = info.id.partition("/")[0]
    assert channel_id in await live_channels(origin)
    await provider.unsubscribe(info.id)
    assert channel_id not in await live_channels(origin)
    await provider.unsubscribe(info.id)  # stopping again is no error


async def test_revoked_delegation_is_revoked_consent(
    provider: GoogleCalendarProvider, emulator: tuple[str, GoogleState]
) -> None:
    origin, _ = emulator
    pages = [p async for p in provider.changes(CalendarRef(BEN), cursor=None, window=window())]
    assert pages[-1].cursor  # a token is cached now; revoking kills it
    consent = f"{origin}/_emulator/service-accounts/{SERVICE_ACCOUNT}/consent"
    async with httpx.AsyncClient() as control:
        assert (await control.post(consent, json={"state": "revoked"})).status_code == 200
        try:
            with pytest.raises(ConsentRevoked, match="domain-wide delegation"):
                async for _ in provider.changes(
                    CalendarRef(BEN), cursor=pages[-1].cursor, window=window()
                ):
                    pass
            checks = await provider.verify(BEN)
            assert not any(check.ok for check in checks)
        finally:
            await control.post(consent, json={"state": "granted"})
