"""``MicrosoftGraphProvider`` on the emulator: discovery, delta, subscriptions, verify."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.domain.calendars import CalendarKind
from calhub.domain.clock import FixedClock
from calhub.domain.sync.changes import Change, ItemKind, ProviderEvent, Removal
from calhub.emulators.graph.state import GraphState
from calhub.providers.base import CalendarRef, ChangePage, CursorInvalid, Window
from calhub.providers.msgraph.client import GraphClient
from calhub.providers.msgraph.provider import MicrosoftGraphProvider
from tests.emulators.graph.fixtures import START
from tests.emulators.graph.notification_receiver import HOOK, LIFECYCLE, attach
from tests.emulators.graph.seeds import ADELE, ALEX, CONTOSO, MEGAN

ADELE_CALENDAR = CalendarRef("adele@contoso.test")
WINDOW = Window(START - timedelta(days=1), START + timedelta(days=30))


@pytest.fixture
async def provider(client: GraphClient) -> AsyncIterator[MicrosoftGraphProvider]:
    graph = MicrosoftGraphProvider(client, clock=FixedClock(START), page_size=2)
    yield graph
    await graph.close()


def at(day: int, hour: int) -> dict[str, str]:
    return {"dateTime": f"2026-03-{day:02d}T{hour:02d}:00:00", "timeZone": "UTC"}


async def create(emulator: httpx.AsyncClient, **body: Any) -> str:
    response = await emulator.post("/v1.0/users/adele@contoso.test/events", json=body)
    assert response.status_code == 201, response.text
    event_id: str = response.json()["id"]
    return event_id


async def round_of(
    provider: MicrosoftGraphProvider, cursor: str | None
) -> tuple[list[Change], list[ChangePage]]:
    pages = [page async for page in provider.changes(ADELE_CALENDAR, cursor=cursor, window=WINDOW)]
    return [change for page in pages for change in page.changes], pages


async def test_discovers_users_and_rooms(provider: MicrosoftGraphProvider) -> None:
    found = await provider.discover_calendars()
    users = {c.provider_calendar_id for c in found if c.kind is CalendarKind.USER}
    assert {ADELE, ALEX, MEGAN} <= users
    rooms = {c.owner_email: c for c in found if c.kind is CalendarKind.ROOM}
    assert set(rooms) == {"cf100@contoso.test", "cf200@contoso.test", "hotdesk@contoso.test"}
    assert rooms["cf100@contoso.test"].room is not None
    assert rooms["cf100@contoso.test"].room.capacity == 12
    assert rooms["hotdesk@contoso.test"].room is not None
    assert not rooms["hotdesk@contoso.test"].room.bookable


async def test_named_mailboxes_report_the_blocked_one(provider: MicrosoftGraphProvider) -> None:
    found = await provider.discover_calendars(
        mailboxes=["adele@contoso.test", "megan@contoso.test", "ghost@contoso.test"]
    )
    users = {c.owner_email: c for c in found if c.kind is CalendarKind.USER}
    assert users["adele@contoso.test"].out_of_scope is None
    assert users["adele@contoso.test"].provider_calendar_id == ADELE
    assert "access policy" in (users["megan@contoso.test"].out_of_scope or "")
    assert "not a user" in (users["ghost@contoso.test"].out_of_scope or "")


async def test_delta_round_trip(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    keep = await create(emulator, subject="Keep", start=at(3, 9), end=at(3, 10))
    edit = await create(emulator, subject="Edit", start=at(4, 9), end=at(4, 10))
    drop = await create(emulator, subject="Drop", start=at(5, 9), end=at(5, 10))
    series = await create(
        emulator,
        subject="Standup",
        start=at(2, 9),
        end=at(2, 9) | {"dateTime": "2026-03-02T09:15:00"},
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 3},
        },
    )
    changes, pages = await round_of(provider, None)
    assert len(pages) > 1  # page size 2: nextLinks were followed
    assert all(p.next_page for p in pages[:-1])
    assert pages[-1].cursor is not None
    events = {c.provider_event_id: c for c in changes if isinstance(c, ProviderEvent)}
    assert {keep, edit, drop, series} <= set(events)
    assert events[series].kind is ItemKind.SERIES
    occurrences = [c for c in events.values() if c.kind is ItemKind.OCCURRENCE]
    assert len(occurrences) == 3
    assert {o.series_provider_id for o in occurrences} == {series}

    await emulator.patch(
        f"/v1.0/users/adele@contoso.test/events/{edit}", json={"subject": "Edited"}
    )
    await emulator.delete(f"/v1.0/users/adele@contoso.test/events/{drop}")
    added = await create(emulator, subject="New", start=at(6, 9), end=at(6, 10))
    changes, pages = await round_of(provider, pages[-1].cursor)
    updated = {c.provider_event_id: c for c in changes if isinstance(c, ProviderEvent)}
    assert set(updated) == {edit, added}
    assert updated[edit].subject == "Edited"
    assert Removal(drop) in changes
    assert keep not in updated

    await emulator.post("/_emulator/mailboxes/adele@contoso.test/expire-delta")
    with pytest.raises(CursorInvalid):
        await round_of(provider, pages[-1].cursor)


async def test_subscribe_renew_unsubscribe(
    provider: MicrosoftGraphProvider, graph_state: GraphState
) -> None:
    attach(graph_state)
    wanted = START + timedelta(days=2)
    info = await provider.subscribe(
        ADELE_CALENDAR,
        notification_url=HOOK,
        lifecycle_url=LIFECYCLE,
        client_state="s3cr3t-state",
        expires_at=wanted,
    )
    assert info.expires_at == wanted
    later = START + timedelta(days=3)
    assert (await provider.renew(info.id, expires_at=later)).expires_at == later
    second = await provider.subscribe(
        CalendarRef(ALEX),
        notification_url=HOOK,
        lifecycle_url=None,
        client_state="other",
        expires_at=wanted,
    )
    renewed = await provider.renew_many(
        [info.id, second.id, "unknown-id"], expires_at=START + timedelta(days=4)
    )
    assert renewed[info.id] == type(info)(info.id, START + timedelta(days=4))
    assert isinstance(renewed["unknown-id"], Exception)
    await provider.unsubscribe(info.id)
    await provider.unsubscribe(info.id)  # already gone: fine
    await graph_state.subscriptions.close()


async def test_verify_reports_each_permission_in_words(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    ok = await provider.verify("adele@contoso.test")
    assert [c.ok for c in ok] == [True, True, True]
    assert ok[0].detail == "Can read calendars (Calendars.ReadWrite): yes"
    blocked = await provider.verify("megan@contoso.test")
    assert [c.ok for c in blocked] == [False, False, True]
    assert blocked[0].detail.startswith(
        "Can read calendars (Calendars.ReadWrite): No: the "
        "tenant's application access policy blocks megan@"
    )
    assert "add the mailbox to the policy's group" in blocked[0].detail
    await emulator.post(f"/_emulator/tenants/{CONTOSO}/consent", json={"state": "revoked"})
    revoked = await provider.verify("adele@contoso.test")
    assert not any(c.ok for c in revoked)
    assert "admin consent" in revoked[0].detail
