"""Presence end to end on the Graph emulator and PostgreSQL: a user sets automatic replies in
Outlook, calhub polls them, and ``presence.changed`` events follow the effective state, also
when a scheduled window starts or ends with no new poll."""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from calhub.domain.calendars import Calendar
from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.presence import AutomaticReplies, PresenceState, ReplyStatus, after_reading
from calhub.emulators.graph.clock import EmulatorClock
from calhub.services.context import HubContext
from calhub.services.discovery import discover_calendars
from calhub.services.presence import (
    PRESENCE_CHANGED,
    PresenceNotFound,
    RoomHasNoPresence,
    flip_due_presence,
    poll_due_presence,
    poll_presence,
    presence_for,
)
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.emulators.graph.fixtures import START
from tests.emulators.graph.seeds import ADELE, CONTOSO, MEGAN
from tests.hub_fixtures import connect_contoso
from tests.storage.factories import add_calendar, add_tenant

SETTINGS = "/v1.0/users/adele@contoso.test/mailboxSettings"


class Mailboxes:
    """Contoso's users as calhub mirrors them, and Adele setting her replies in Outlook."""

    def __init__(self, hub: HubContext, outlook: httpx.AsyncClient, tenant_id: TenantId) -> None:
        self.hub, self.outlook, self.tenant_id = hub, outlook, tenant_id
        self.calendars: dict[str, Calendar] = {}

    async def set_replies(self, **replies: Any) -> None:
        response = await self.outlook.patch(SETTINGS, json={"automaticRepliesSetting": replies})
        assert response.status_code == 200, response.text

    async def away_between(self, start: datetime, end: datetime, zone: str = "UTC") -> None:
        def wall(moment: datetime) -> str:
            return moment.replace(tzinfo=None).isoformat()

        await self.set_replies(
            status="scheduled",
            scheduledStartDateTime={"dateTime": wall(start), "timeZone": zone},
            scheduledEndDateTime={"dateTime": wall(end), "timeZone": zone},
        )

    async def poll(self, provider_id: str = ADELE) -> PresenceState | None:
        calendar = self.calendars[provider_id]
        return await poll_presence(self.hub, self.tenant_id, calendar.id)

    async def events(self) -> list[dict[str, Any]]:
        async with self.hub.uow() as uow:
            found = await uow.outbox.list_after(self.tenant_id, 0)
        return [dict(e.payload) for e in found if e.kind == PRESENCE_CHANGED]

    async def stored(self, provider_id: str = ADELE) -> PresenceState | None:
        async with self.hub.uow() as uow:
            return await uow.presence.get(self.tenant_id, self.calendars[provider_id].id)


@pytest.fixture
async def mailboxes(
    hub: HubContext, uow_factory: UnitOfWorkFactory, outlook: httpx.AsyncClient
) -> Mailboxes:
    tenant = await add_tenant(uow_factory)
    connection = await connect_contoso(hub, tenant.id)
    await discover_calendars(hub, tenant.id, connection.id)
    boxes = Mailboxes(hub, outlook, tenant.id)
    async with hub.uow() as uow:
        found = await uow.calendars.list(tenant.id, connection_id=connection.id)
    boxes.calendars = {c.provider_calendar_id: c for c in found}
    return boxes


async def test_a_present_user_is_recorded_without_an_event(mailboxes: Mailboxes) -> None:
    state = await mailboxes.poll()
    assert state is not None
    assert (state.out_of_office, state.replies) == (False, AutomaticReplies(ReplyStatus.DISABLED))
    assert (state.checked_at, state.changed_at, state.last_error) == (START, START, None)
    assert await mailboxes.events() == []


async def test_a_user_already_away_when_first_seen_is_announced(mailboxes: Mailboxes) -> None:
    await mailboxes.set_replies(status="alwaysEnabled")
    await mailboxes.poll()
    await mailboxes.poll()  # the same state again: nothing new to say
    calendar_id = str(mailboxes.calendars[ADELE].id)
    assert await mailboxes.events() == [
        {
            "calendar_id": calendar_id,
            "out_of_office": True,
            "reply_status": "alwaysEnabled",
            "until": None,
        }
    ]
    await mailboxes.set_replies(status="disabled")
    await mailboxes.poll()
    assert [e["out_of_office"] for e in await mailboxes.events()] == [True, False]


async def test_a_scheduled_window_flips_at_its_start_and_end_without_a_poll(
    mailboxes: Mailboxes, clock: EmulatorClock
) -> None:
    start, end = START + timedelta(hours=2), START + timedelta(days=2)
    # Tokyo wall clocks: the window is read in the zone it names.
    await mailboxes.away_between(start + timedelta(hours=9), end + timedelta(hours=9), "Asia/Tokyo")
    state = await mailboxes.poll()
    assert state is not None
    assert (state.out_of_office, state.next_flip_at) == (False, start)
    assert await flip_due_presence(mailboxes.hub) == 0  # not yet

    clock.set(start + timedelta(seconds=1))
    assert await flip_due_presence(mailboxes.hub) == 1
    assert await flip_due_presence(mailboxes.hub) == 0  # once
    stored = await mailboxes.stored()
    assert stored is not None
    assert (stored.out_of_office, stored.changed_at, stored.next_flip_at) == (True, start, end)

    clock.set(end)
    assert await flip_due_presence(mailboxes.hub) == 1
    assert [(e["out_of_office"], e["until"]) for e in await mailboxes.events()] == [
        (True, end.isoformat()),
        (False, None),
    ]


async def test_a_window_cancelled_before_it_starts_never_flips(
    mailboxes: Mailboxes, clock: EmulatorClock
) -> None:
    await mailboxes.away_between(START + timedelta(hours=1), START + timedelta(hours=3))
    await mailboxes.poll()
    await mailboxes.set_replies(status="disabled")
    await mailboxes.poll()
    clock.set(START + timedelta(hours=2))
    assert await flip_due_presence(mailboxes.hub) == 0
    assert await mailboxes.events() == []


async def test_a_window_that_ends_before_it_starts_is_never_out_of_office(
    mailboxes: Mailboxes,
) -> None:
    await mailboxes.away_between(START + timedelta(hours=1), START - timedelta(hours=1))
    state = await mailboxes.poll()
    assert state is not None
    assert (state.out_of_office, state.next_flip_at) == (False, None)
    assert state.replies is not None
    assert state.replies.status is ReplyStatus.SCHEDULED


async def test_a_refused_mailbox_is_recorded_in_words_and_nothing_crashes(
    mailboxes: Mailboxes,
) -> None:
    state = await mailboxes.poll(MEGAN)  # outside the app's access policy
    assert state is not None
    assert (state.replies, state.out_of_office) == (None, False)
    assert state.last_error is not None
    assert "megan" not in state.last_error.lower()  # no addresses in words kept
    assert await mailboxes.events() == []


async def test_a_failed_poll_keeps_the_last_known_state(
    mailboxes: Mailboxes, outlook: httpx.AsyncClient, clock: EmulatorClock
) -> None:
    await mailboxes.set_replies(status="alwaysEnabled")
    await mailboxes.poll()
    await outlook.post(f"/_emulator/tenants/{CONTOSO}/consent", json={"state": "revoked"})
    clock.advance(3600)  # the cached token expires; a new one is refused
    state = await mailboxes.poll()
    assert state is not None
    assert state.out_of_office
    assert state.replies == AutomaticReplies(ReplyStatus.ALWAYS_ENABLED)
    assert state.last_error is not None
    assert "consent" in state.last_error
    assert len(await mailboxes.events()) == 1


async def test_the_periodic_poll_spreads_mailboxes_over_the_interval(
    mailboxes: Mailboxes, clock: EmulatorClock
) -> None:
    interval = timedelta(minutes=15)
    async with mailboxes.hub.uow() as uow:
        pollable = await uow.presence.pollable_count()  # users of every test's tenant so far
    share = 2 * math.ceil(pollable / 15)  # twice a minute's share of the interval
    runs = []
    while (polled := await poll_due_presence(mailboxes.hub, interval=interval)) > 0:
        runs.append(polled)
    assert runs
    assert max(runs) <= share
    async with mailboxes.hub.uow() as uow:
        for calendar in mailboxes.calendars.values():
            state = await uow.presence.get(mailboxes.tenant_id, calendar.id)
            if calendar.kind.value == "room":
                assert state is None  # rooms are never polled
            else:
                assert state is not None
                assert state.checked_at == START
    clock.advance(interval.total_seconds())
    assert await poll_due_presence(mailboxes.hub, interval=interval, limit=1) == 1


async def test_the_api_view_looks_up_by_address_and_reads_on_first_ask(
    mailboxes: Mailboxes, clock: EmulatorClock
) -> None:
    hub, tenant_id = mailboxes.hub, mailboxes.tenant_id
    await mailboxes.away_between(START + timedelta(minutes=30), START + timedelta(hours=1))
    found = await presence_for(hub, tenant_id, "Adele@Contoso.test")
    assert found.email == "adele@contoso.test"
    assert (found.state.out_of_office, found.state.next_flip_at) == (
        False,
        START + timedelta(minutes=30),
    )
    # The window starts: the answer is right even before any flip worker ran.
    clock.set(START + timedelta(minutes=31))
    now_away = await presence_for(hub, tenant_id, "adele@contoso.test")
    assert now_away.state.out_of_office
    assert now_away.state.checked_at == START  # no new read without refresh
    refreshed = await presence_for(hub, tenant_id, "adele@contoso.test", refresh=True)
    assert refreshed.state.checked_at == START + timedelta(minutes=31)
    with pytest.raises(PresenceNotFound):
        await presence_for(hub, tenant_id, "nobody@contoso.test")
    with pytest.raises(RoomHasNoPresence):
        await presence_for(hub, tenant_id, "cf100@contoso.test")


async def test_several_workers_flip_each_due_row_exactly_once(
    hub: HubContext, uow_factory: UnitOfWorkFactory, clock: EmulatorClock
) -> None:
    tenant = await add_tenant(uow_factory, "Flips")
    start = START + timedelta(minutes=5)
    replies = AutomaticReplies(ReplyStatus.SCHEDULED, start, start + timedelta(hours=1))
    calendars = [
        await add_calendar(uow_factory, tenant.id, owner=f"u{i}@example.com") for i in range(120)
    ]
    async with hub.uow() as uow:
        for calendar in calendars:
            state = after_reading(
                None, replies, START, calendar_id=calendar.id, tenant_id=tenant.id
            )
            assert await uow.presence.insert(state)
        await uow.commit()
    clock.set(start)
    flipped = await asyncio.gather(*(flip_due_presence(hub) for _ in range(4)))
    assert sum(flipped) == len(calendars)
    async with hub.uow() as uow:
        events = await uow.outbox.list_after(tenant.id, 0, limit=1000)
    announced = [CalendarId(uuid.UUID(e.payload["calendar_id"])) for e in events]
    assert sorted(announced) == sorted(c.id for c in calendars)
    assert all(e.payload["out_of_office"] for e in events)
    assert all(e.created_at == start.astimezone(UTC) for e in events)
