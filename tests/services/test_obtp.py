"""Join prompts end to end on PostgreSQL: a room calendar synced by the real engine (from an
in-test provider that lists the room's meetings), its device's prompts scheduled by the sync,
fired by the dispatcher tick, moved, withdrawn, and reconciled on demand; with a fixed clock."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
import pytest
from sqlalchemy import select

from calhub.domain.calendars import Calendar, CalendarKind
from calhub.domain.clock import FixedClock
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.ids import DeviceId, EventId, TenantId, new_id
from calhub.domain.meetings.model import SINGLE_EVENT_SLOT
from calhub.domain.meetings.prompts import PromptTarget, prompt_payload
from calhub.domain.sync.changes import ItemKind, ProviderEvent
from calhub.providers.base import CalendarProvider, CalendarRef, Capabilities, ChangePage, Window
from calhub.services import obtp
from calhub.services.context import HubContext
from calhub.services.meeting_settings import InvalidMeetingSettings, set_meeting_settings
from calhub.services.providers import ProviderEndpoints, ProviderRegistry
from calhub.storage.crypto import Keyring, StaticKeyProvider
from calhub.storage.database import create_engine, libpq_url
from calhub.storage.repositories.outbox import OUTBOX_CHANNEL, OutboxEvent
from calhub.storage.tables import join_prompts
from calhub.storage.unit_of_work import UnitOfWorkFactory
from calhub.sync.engine import MirrorWindow, sync_calendar
from calhub.sync.prompts import reconcile_calendar_prompts
from tests.hub_fixtures import RecordingJobQueue
from tests.storage.factories import NOW, add_calendar, add_tenant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEN = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LEAD = timedelta(minutes=5)
ZOOM = "https://zoom.us/j/123456789"


class ListingProvider:
    """A calendar provider whose every round lists the room's meetings as they are now."""

    capabilities = Capabilities(
        delta_sync=False,
        push_notifications=False,
        rooms_directory=False,
        batch_requests=False,
        max_subscription_lifetime=timedelta(0),
        max_requests_in_flight_per_mailbox=1,
    )

    def __init__(self) -> None:
        self.items: dict[str, ProviderEvent] = {}

    async def changes(
        self, calendar: CalendarRef, *, cursor: str | None, window: Window
    ) -> AsyncIterator[ChangePage]:
        yield ChangePage(list(self.items.values()), cursor=f"c{secrets.token_hex(4)}")


@dataclasses.dataclass
class Room:
    hub: HubContext
    clock: FixedClock
    tenant_id: TenantId
    calendar: Calendar
    provider: ListingProvider

    def meeting(self, pid: str, start: datetime, **fields: Any) -> None:
        values: dict[str, Any] = {
            "provider_event_id": pid,
            "kind": ItemKind.SINGLE,
            "start": start,
            "end": start + timedelta(minutes=30),
            "subject": "Design review",
            "location": ZOOM,
        }
        self.provider.items[pid] = ProviderEvent(**(values | fields))

    async def sync(self, device_ids: Sequence[DeviceId] | None = None) -> None:
        await sync_calendar(
            self.hub.uow,
            cast(CalendarProvider, self.provider),
            self.calendar,
            clock=self.clock,
            window=MirrorWindow(days_back=1, days_ahead=30),
            occurrence_limit=100,
            device_ids=device_ids,
        )

    async def add_device(self) -> DeviceId:
        device = Device(
            id=DeviceId(new_id(NOW)),
            tenant_id=self.tenant_id,
            calendar_id=self.calendar.id,
            kind=DeviceKind.ROOM,
            name="Room 1 codec",
            time_zone="UTC",
            created_at=NOW,
        )
        async with self.hub.uow() as uow:
            await uow.devices.add(device, secrets.token_bytes(32))
            await reconcile_calendar_prompts(uow, self.tenant_id, self.calendar.id, self.now)
            await uow.commit()
        return device.id

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def at(self, when: datetime) -> None:
        self.clock.current = when

    async def ledger(self) -> list[tuple[int, str, datetime, datetime]]:
        """(version, state, start, fire_at) of every prompt, oldest first."""
        async with self.hub.uow() as uow:
            rows = await uow.connection.execute(
                select(join_prompts)
                .where(join_prompts.c.tenant_id == self.tenant_id)
                .order_by(join_prompts.c.id)
            )
            return [(r.version, r.state, r.start_at, r.fire_at) for r in rows]

    async def events(self, prefix: str = "") -> list[OutboxEvent]:
        async with self.hub.uow() as uow:
            found = await uow.outbox.list_after(self.tenant_id, 0, limit=10_000)
        return [event for event in found if event.kind.startswith(prefix)]

    async def sent(self) -> list[tuple[str, int]]:
        return [(e.kind, e.payload["version"]) for e in await self.events("obtp.")]


@pytest.fixture
async def uow_factory(fresh_database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    # A database per test: dispatchers serve every tenant, so tests must not share due prompts.
    engine = create_engine(fresh_database_url, pool_size=4)
    yield UnitOfWorkFactory(engine, Keyring(StaticKeyProvider(secrets.token_bytes(32))))
    await engine.dispose()


@pytest.fixture
async def room(uow_factory: UnitOfWorkFactory) -> AsyncIterator[Room]:
    clock = FixedClock(T0)
    providers = ProviderRegistry(ProviderEndpoints(), clock)
    hub = HubContext(uow_factory, RecordingJobQueue(), clock, providers, "https://calhub.test")
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(
        uow_factory, tenant.id, "room1@example.com", kind=CalendarKind.ROOM
    )
    yield Room(hub, clock, tenant.id, calendar, ListingProvider())
    await providers.close()


async def test_a_synced_meeting_fires_once_at_start_minus_lead(room: Room) -> None:
    device = await room.add_device()
    room.meeting("m1", TEN)
    await room.sync()
    assert await room.ledger() == [(1, "scheduled", TEN, TEN - LEAD)]
    [created] = await room.events("meeting.")
    assert created.kind == "meeting.created"
    assert created.payload["device_id"] == str(device)
    assert len(created.payload["booking_ids"]) == 1
    room.at(TEN - LEAD - timedelta(seconds=1))
    assert await obtp.fire_due_prompts(room.hub) == 0
    room.at(TEN - LEAD)
    assert await obtp.fire_due_prompts(room.hub) == 1
    assert await obtp.fire_due_prompts(room.hub) == 0
    [join] = await room.events("obtp.")
    assert join.kind == "obtp.join"
    assert join.payload["booking_id"] == created.payload["booking_ids"][0]
    assert join.payload["fire_at"] == (TEN - LEAD).isoformat()
    async with room.hub.uow() as uow:
        snapshot = await uow.join_prompts.snapshots(room.tenant_id, [join.payload["prompt_id"]])
    booking = snapshot[join.payload["prompt_id"]]
    assert booking["Title"] == "Design review"
    assert booking["Time"]["StartTimeBuffer"] == 300
    assert booking["DialInfo"]["ConnectMode"] == "OBTP"
    await room.sync()  # nothing changed: nothing new
    assert await room.sent() == [("obtp.join", 1)]


async def test_firing_wakes_the_tenants_streams_with_the_prompts_own_payload(
    room: Room, fresh_database_url: str
) -> None:
    device = await room.add_device()
    start = TEN + timedelta(microseconds=250_000)  # PostgreSQL would print this one differently
    room.meeting("m1", start)
    await room.sync()
    url = libpq_url(fresh_database_url)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as listener:
        await listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        room.at(start - LEAD)
        assert await obtp.fire_due_prompts(room.hub) == 1
        async with asyncio.timeout(5):
            notice = await anext(listener.notifies())
    assert notice.payload == str(room.tenant_id)
    async with room.hub.uow() as uow:
        [prompt] = await uow.connection.execute(select(join_prompts))
    [join] = await room.events("obtp.")
    target = PromptTarget(device, EventId(prompt.event_id), SINGLE_EVENT_SLOT)
    end = start + timedelta(minutes=30)
    assert join.device_id == device
    assert join.payload == prompt_payload(
        prompt.id, target, 1, fire_at=start - LEAD, start=start, end=end
    )
    assert join.payload["start"] == "2026-03-02T10:00:00.250000+00:00"


async def test_a_move_outside_the_lead_time_reschedules_quietly(room: Room) -> None:
    await room.add_device()
    room.meeting("m1", TEN)
    await room.sync()
    room.meeting("m1", TEN + timedelta(hours=1))
    await room.sync()
    assert await room.ledger() == [
        (1, "scheduled", TEN + timedelta(hours=1), TEN + timedelta(minutes=55))
    ]
    assert [e.kind for e in await room.events("meeting.")] == ["meeting.created", "meeting.updated"]
    assert await room.sent() == []


async def test_a_change_inside_the_lead_time_withdraws_and_sends_again(room: Room) -> None:
    await room.add_device()
    room.meeting("m1", TEN)
    await room.sync()
    room.at(TEN - timedelta(minutes=4))
    await obtp.fire_due_prompts(room.hub)
    room.meeting("m1", TEN, end=TEN + timedelta(hours=1))  # longer: the same occurrence
    await room.sync()
    assert await obtp.fire_due_prompts(room.hub) == 1
    assert await room.sent() == [("obtp.join", 1), ("obtp.withdrawn", 1), ("obtp.join", 2)]
    [_, withdrawn, again] = await room.events("obtp.")
    assert withdrawn.payload["end"] == (TEN + timedelta(minutes=30)).isoformat()
    assert again.payload["end"] == (TEN + timedelta(hours=1)).isoformat()
    assert again.payload["booking_id"] == withdrawn.payload["booking_id"]
    assert again.payload["fire_at"] == room.now.isoformat()  # at once, not in the past


async def test_moving_a_single_meeting_inside_the_lead_time_moves_its_booking(
    room: Room,
) -> None:
    # A single event has one occurrence whatever its time: a moved one keeps its booking id and
    # gets a new version of its prompt, as a moved series instance does.
    await room.add_device()
    room.meeting("m1", TEN)
    await room.sync()
    room.at(TEN - timedelta(minutes=4))
    await obtp.fire_due_prompts(room.hub)
    room.meeting("m1", TEN - timedelta(minutes=2))
    await room.sync()
    await obtp.fire_due_prompts(room.hub)
    [first, withdrawn, again] = await room.events("obtp.")
    assert [e.kind for e in (first, withdrawn, again)] == [
        "obtp.join",
        "obtp.withdrawn",
        "obtp.join",
    ]
    assert withdrawn.payload == first.payload
    assert again.payload["start"] == (TEN - timedelta(minutes=2)).isoformat()
    assert again.payload["booking_id"] == first.payload["booking_id"]
    assert (first.payload["version"], again.payload["version"]) == (1, 2)


async def test_cancelling_before_firing_sends_nothing_and_after_withdraws(room: Room) -> None:
    await room.add_device()
    room.meeting("early", TEN)
    room.meeting("late", TEN + timedelta(hours=2))
    await room.sync()
    room.at(TEN - LEAD)
    await obtp.fire_due_prompts(room.hub)
    room.meeting("early", TEN, is_cancelled=True)
    del room.provider.items["late"]
    await room.sync()
    room.at(TEN + timedelta(hours=2))
    await obtp.fire_due_prompts(room.hub)
    assert await room.sent() == [("obtp.join", 1), ("obtp.withdrawn", 1)]
    assert [e.kind for e in await room.events("meeting.cancelled")] == ["meeting.cancelled"] * 2
    assert [state for _, state, _, _ in await room.ledger()] == ["withdrawn"]


async def test_a_device_added_late_gets_the_prompts_of_the_meetings_it_missed(room: Room) -> None:
    room.meeting("m1", TEN)
    room.meeting("m2", TEN + timedelta(hours=1))
    await room.sync()
    assert await room.ledger() == []
    assert await room.events() == []  # a calendar without devices has no feed
    room.at(TEN - timedelta(minutes=1))
    await room.add_device()
    assert [(v, s, fire) for v, s, _, fire in await room.ledger()] == [
        (1, "scheduled", room.now),
        (1, "scheduled", TEN + timedelta(minutes=55)),
    ]


async def test_a_device_added_while_a_pass_was_under_way_is_told_of_its_changes(
    room: Room,
) -> None:
    await room.add_device()  # after the pass read the calendar's devices: none yet
    room.meeting("m1", TEN)

    await room.sync(device_ids=())

    assert [e.kind for e in await room.events("meeting.")] == ["meeting.created"]
    assert [state for _, state, _, _ in await room.ledger()] == ["scheduled"]


async def test_the_horizon_pass_schedules_meetings_entering_it(room: Room) -> None:
    await room.add_device()
    room.meeting("far", TEN + timedelta(days=3))
    await room.sync()
    assert await room.ledger() == []
    room.at(T0 + timedelta(days=2))
    changes = await obtp.extend_prompt_horizon(room.hub)
    assert changes.created == 1
    assert [s for _, s, _, _ in await room.ledger()] == ["scheduled"]
    assert (await obtp.extend_prompt_horizon(room.hub)).created == 0


async def test_a_meeting_whose_prompt_never_fired_before_its_end_is_dropped(room: Room) -> None:
    await room.add_device()
    room.meeting("m1", TEN)
    await room.sync()
    room.at(TEN + timedelta(hours=1))  # the dispatchers were down all along
    assert await obtp.fire_due_prompts(room.hub) == 1
    assert await room.sent() == []
    assert [s for _, s, _, _ in await room.ledger()] == ["dropped"]


async def test_a_room_lead_moves_unsent_prompts_and_an_unknown_room_is_refused(
    room: Room,
) -> None:
    await room.add_device()
    room.meeting("m1", TEN)
    await room.sync()
    document = {"lead_minutes": 10, "rooms": {str(room.calendar.id): {"lead_minutes": 2}}}
    await set_meeting_settings(room.hub.uow, room.clock, room.tenant_id, document)
    assert [(s, fire) for _, s, _, fire in await room.ledger()] == [
        ("scheduled", TEN - timedelta(minutes=2))
    ]
    with pytest.raises(InvalidMeetingSettings) as refused:
        await set_meeting_settings(
            room.hub.uow,
            room.clock,
            room.tenant_id,
            {"rooms": {str(uuid.uuid4()): {"lead_minutes": 1}}},
        )
    assert refused.value.location[0] == "rooms"
    async with room.hub.uow() as uow:
        assert (await uow.meeting_settings.get(room.tenant_id)).lead == timedelta(minutes=10)


async def test_concurrent_dispatch_ticks_never_send_a_prompt_twice(room: Room) -> None:
    devices = [await room.add_device() for _ in range(3)]
    for number in range(60):
        room.meeting(f"m{number}", TEN + timedelta(seconds=number))
    await room.sync()
    room.at(TEN)

    async def dispatcher() -> int:
        taken = 0
        while done := await obtp.fire_due_prompts(room.hub, limit=7):
            taken += done
        return taken

    taken = await asyncio.gather(*(dispatcher() for _ in range(4)))
    joins = await room.events("obtp.join")
    assert sum(taken) == len(joins) == 60 * len(devices)
    assert len({e.payload["prompt_id"] for e in joins}) == len(joins)
    assert {e.payload["device_id"] for e in joins} == {str(d) for d in devices}
    assert all(e.device_id is not None for e in joins)
