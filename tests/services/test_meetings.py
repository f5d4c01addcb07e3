"""Meetings lists on PostgreSQL: a person sees each meeting occurrence once, from their own copy,
with privacy respected; a room device sees its room's bookings in RoomOS shape, with join info
borrowed from another copy when the room's copy lost it."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from calhub.domain.calendars import Calendar, CalendarKind
from calhub.domain.clock import FixedClock
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.events import (
    Attendee,
    AttendeeKind,
    Event,
    Occurrence,
    Recurrence,
    ResponseStatus,
)
from calhub.domain.ids import DeviceId, EventId, TenantId, new_id
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.model import PRIVATE_TITLE
from calhub.domain.meetings.settings import MeetingSettings
from calhub.services.calendar_sync import sync_calendar_job
from calhub.services.context import HubContext
from calhub.services.discovery import discover_calendars
from calhub.services.meetings import (
    DeviceNotFound,
    InvalidWindow,
    UnknownAddress,
    device_bookings,
    person_meetings,
)
from calhub.services.providers import ProviderEndpoints, ProviderRegistry
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.hub_fixtures import RecordingJobQueue, connect_contoso
from tests.storage.factories import NOW, add_calendar, add_tenant

CLOCK_START = datetime(2026, 1, 6, 8, 0, tzinfo=UTC)
T10 = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
ZOOM = JoinDetails("zoom", "body", join_url="https://zoom.us/j/123456789", meeting_id="123456789")
ANA = Attendee("ana@example.com", "Ana Lima", response=ResponseStatus.ORGANIZER)
BO = Attendee("bo@example.com", "Bo Berg", response=ResponseStatus.ACCEPTED)
DORA = Attendee("dora@partner.example", "Dora")
ROOM = Attendee("room1@example.com", "Room 1", kind=AttendeeKind.RESOURCE)


@dataclasses.dataclass
class Office:
    hub: HubContext
    tenant_id: TenantId
    ana: Calendar
    bo: Calendar
    room: Calendar
    carl: Calendar

    async def store(self, *events_with_occurrences: tuple[Event, Sequence[Occurrence]]) -> None:
        async with self.hub.uow() as uow:
            await uow.events.upsert(self.tenant_id, [e for e, _ in events_with_occurrences], NOW)
            await uow.occurrences.replace_for_events(self.tenant_id, list(events_with_occurrences))
            await uow.commit()

    def copy(self, calendar: Calendar, uid: str | None, **fields: Any) -> Event:
        values: dict[str, Any] = {
            "id": EventId(new_id(NOW)),
            "tenant_id": self.tenant_id,
            "calendar_id": calendar.id,
            "provider_event_id": f"{uid}-{calendar.owner_email}",
            "start": T10,
            "end": T10 + timedelta(hours=1),
            "subject": "Design review",
            "body": "secret agenda",
            "organizer": ANA,
            "attendees": (BO, DORA, ROOM),
            "join": ZOOM,
            "ical_uid": uid,
            "is_organizer": calendar is self.ana,
        }
        values.update(fields)
        return Event(**values)

    async def meeting(self, uid: str, *calendars: Calendar, **fields: Any) -> list[Event]:
        copies = [self.copy(calendar, uid, **fields) for calendar in calendars]
        await self.store(*((e, [Occurrence(e.id, e.start, e.end, e.start)]) for e in copies))
        return copies


@pytest.fixture
async def office(uow_factory: UnitOfWorkFactory) -> AsyncIterator[Office]:
    clock = FixedClock(CLOCK_START)
    providers = ProviderRegistry(ProviderEndpoints(), clock)
    hub = HubContext(uow_factory, RecordingJobQueue(), clock, providers, "https://calhub.test")
    tenant = await add_tenant(uow_factory, f"Office {secrets.token_hex(3)}")
    ana = await add_calendar(uow_factory, tenant.id, "ana@example.com")
    bo = await add_calendar(uow_factory, tenant.id, "Bo@Example.com")
    room = await add_calendar(uow_factory, tenant.id, "room1@example.com", kind=CalendarKind.ROOM)
    carl = await add_calendar(uow_factory, tenant.id, "carl@example.com")
    yield Office(hub, tenant.id, ana, bo, room, carl)
    await providers.close()


async def test_each_person_sees_a_meeting_once_from_their_own_copy(office: Office) -> None:
    ana_copy, bo_copy, _ = await office.meeting("UID-1", office.ana, office.bo, office.room)

    ana = (await person_meetings(office.hub, office.tenant_id, "ANA@example.com")).meetings
    bo = (await person_meetings(office.hub, office.tenant_id, "bo@example.com")).meetings
    dora = (await person_meetings(office.hub, office.tenant_id, "dora@partner.example")).meetings

    assert [m.event_id for m in ana] == [ana_copy.id]
    assert [m.event_id for m in bo] == [bo_copy.id]
    assert [m.event_id for m in dora] == [ana_copy.id]  # no calendar: the organizer's copy
    meeting = bo[0]
    assert (meeting.title, meeting.organizer_name, meeting.attendee_count) == (
        "Design review",
        "Ana Lima",
        3,
    )
    assert meeting.join == ZOOM
    assert meeting.join_button


async def test_a_private_meeting_shows_its_title_only_to_its_organizer(office: Office) -> None:
    await office.meeting("UID-P", office.ana, office.bo, subject="Salary talk", is_private=True)
    ana = await person_meetings(office.hub, office.tenant_id, "ana@example.com")
    bo = await person_meetings(office.hub, office.tenant_id, "bo@example.com")
    assert [m.title for m in ana.meetings] == ["Salary talk"]
    assert [m.title for m in bo.meetings] == [PRIVATE_TITLE]


async def test_cancelled_declined_and_other_tenants_meetings_are_left_out(
    office: Office, uow_factory: UnitOfWorkFactory
) -> None:
    await office.meeting("UID-C", office.ana, office.bo, is_cancelled=True)
    declined = dataclasses.replace(BO, response=ResponseStatus.DECLINED)
    await office.meeting("UID-D", office.ana, attendees=(declined, ROOM))
    other_tenant = await add_tenant(uow_factory, "Elsewhere")
    elsewhere = await add_calendar(uow_factory, other_tenant.id, "bo@example.com")
    foreign = dataclasses.replace(
        office.copy(office.ana, "UID-X"), tenant_id=other_tenant.id, calendar_id=elsewhere.id
    )
    async with uow_factory() as uow:
        await uow.events.upsert(other_tenant.id, [foreign], NOW)
        await uow.commit()

    bo = await person_meetings(office.hub, office.tenant_id, "bo@example.com")
    ana = await person_meetings(office.hub, office.tenant_id, "ana@example.com")
    assert bo.meetings == []
    assert len(ana.meetings) == 1  # the declined meeting is still Ana's


async def test_a_series_lists_each_occurrence_once_with_its_exception(office: Office) -> None:
    daily = Recurrence(rrules=("FREQ=DAILY;COUNT=3",))
    slots = [T10 + timedelta(days=n) for n in range(3)]
    moved_to = slots[1] + timedelta(hours=3)
    stored = []
    for calendar in (office.ana, office.bo):
        master = office.copy(calendar, "UID-S", recurrence=daily, subject="Stand-up")
        exception = office.copy(
            calendar,
            "UID-S-instance-2",  # Graph gives an exception its own iCalUId
            provider_event_id=f"exception-{calendar.owner_email}",
            series_id=master.id,
            recurrence_id=slots[1],
            start=moved_to,
            end=moved_to + timedelta(minutes=15),
            subject="Stand-up (later)",
        )
        hour = timedelta(hours=1)
        regular = [Occurrence(master.id, s, s + hour, s) for s in (slots[0], slots[2])]
        changed = [Occurrence(exception.id, exception.start, exception.end, slots[1], True)]
        stored.append((master, regular))
        stored.append((exception, changed))
    await office.store(*stored)

    listed = (await person_meetings(office.hub, office.tenant_id, "bo@example.com")).meetings
    ana_master = stored[0][0]
    assert [m.start for m in listed] == [slots[0], moved_to, slots[2]]
    assert [m.title for m in listed] == ["Stand-up", "Stand-up (later)", "Stand-up"]
    assert all(m.calendar_id == office.bo.id for m in listed)
    assert [m.is_exception for m in listed] == [False, True, False]
    assert all(m.is_recurring for m in listed)
    assert len({m.booking_id for m in listed}) == 3
    ana = (await person_meetings(office.hub, office.tenant_id, "ana@example.com")).meetings
    assert {m.series_id for m in ana} == {ana_master.id}


async def test_the_window_bounds_the_list_and_bad_windows_are_refused(office: Office) -> None:
    await office.meeting("UID-W", office.ana, start=T10 + timedelta(days=8),
                         end=T10 + timedelta(days=8, hours=1))  # fmt: skip
    week = await person_meetings(office.hub, office.tenant_id, "ana@example.com")
    assert week.meetings == []
    later = await person_meetings(
        office.hub, office.tenant_id, "ana@example.com", start="2026-01-14", end="2026-01-15"
    )
    assert len(later.meetings) == 1
    with pytest.raises(InvalidWindow) as caught:
        await person_meetings(office.hub, office.tenant_id, "ana@example.com", tz="Nowhere/City")
    assert caught.value.parameter == "tz"


async def test_unknown_addresses_differ_from_people_without_meetings(office: Office) -> None:
    carl = await person_meetings(office.hub, office.tenant_id, "carl@example.com")
    assert carl.meetings == []
    with pytest.raises(UnknownAddress):
        await person_meetings(office.hub, office.tenant_id, "nobody@example.com")


async def test_a_person_list_is_one_query(office: Office, engine: AsyncEngine) -> None:
    for n in range(20):
        start = T10 + timedelta(hours=n * 2)
        await office.meeting(f"UID-N{n}", office.ana, office.bo, office.room, start=start,
                             end=start + timedelta(hours=1))  # fmt: skip
    await person_meetings(office.hub, office.tenant_id, "bo@example.com")  # keys now cached
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        found = await person_meetings(office.hub, office.tenant_id, "bo@example.com")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert len(found.meetings) == 20
    assert all(m.calendar_id == office.bo.id for m in found.meetings)
    assert len(statements) == 1


async def add_room_device(
    hub: HubContext, room: Calendar, time_zone: str = "Europe/Berlin"
) -> Device:
    device = Device(
        id=DeviceId(new_id(NOW)),
        tenant_id=room.tenant_id,
        calendar_id=room.id,
        kind=DeviceKind.ROOM,
        name="Room 1 codec",
        time_zone=time_zone,
        created_at=NOW,
    )
    async with hub.uow() as uow:
        await uow.devices.add(device, secrets.token_bytes(32))
        await uow.commit()
    return device


async def test_a_room_device_sees_its_bookings_until_eight_tomorrow(office: Office) -> None:
    device = await add_room_device(office.hub, office.room)
    in_progress = CLOCK_START - timedelta(minutes=30)
    await office.meeting("UID-R1", office.ana, office.room, start=in_progress,
                         end=in_progress + timedelta(hours=1))  # fmt: skip
    await office.meeting("UID-R2", office.ana, office.room)
    early = datetime(2026, 1, 7, 6, 30, tzinfo=UTC)  # 07:30 in Berlin
    await office.meeting("UID-R3", office.ana, office.room, start=early,
                         end=early + timedelta(minutes=30), join=None)  # fmt: skip
    late = datetime(2026, 1, 7, 7, 30, tzinfo=UTC)  # 08:30 in Berlin: tomorrow's list
    await office.meeting("UID-R4", office.ana, office.room, start=late,
                         end=late + timedelta(minutes=30))  # fmt: skip

    found = await device_bookings(office.hub, office.tenant_id, device.id)
    starts = [b["Time"]["StartTime"] for b in found.result["Booking"]]
    assert starts == ["2026-01-06T07:30:00Z", "2026-01-06T10:00:00Z", "2026-01-07T06:30:00Z"]
    assert found.result["ResultInfo"] == {"TotalRows": 3}
    manual = found.result["Booking"][2]
    assert (manual["MeetingPlatform"], manual["DialInfo"]["ConnectMode"]) == ("None", "Manual")
    wider = await device_bookings(office.hub, office.tenant_id, device.id, days=2)
    assert wider.result["ResultInfo"] == {"TotalRows": 4}


async def test_a_room_copy_without_join_info_borrows_the_organizers(office: Office) -> None:
    device = await add_room_device(office.hub, office.room)
    organizer_copy = office.copy(office.ana, "UID-J")
    room_copy = office.copy(office.room, "UID-J", join=None, body="")  # the room stripped it
    await office.store(
        *((e, [Occurrence(e.id, e.start, e.end, e.start)]) for e in (organizer_copy, room_copy))
    )
    found = await device_bookings(office.hub, office.tenant_id, device.id)
    [booking] = found.result["Booking"]
    assert booking["MeetingId"] == str(room_copy.id)
    assert booking["MeetingPlatform"] == "Zoom"
    assert booking["DialInfo"] == {
        "Calls": {"Call": [{"Number": "123456789@zoomcrc.com", "Protocol": "SIP",
                            "CallType": "Video"}]},
        "ConnectMode": "OBTP",
    }  # fmt: skip
    assert booking["Time"]["StartTimeBuffer"] == 300


async def test_the_start_buffer_is_the_rooms_lead_time(office: Office) -> None:
    device = await add_room_device(office.hub, office.room)
    await office.meeting("UID-L", office.ana, office.room, is_private=True)
    async with office.hub.uow() as uow:
        await uow.meeting_settings.put(
            office.tenant_id,
            MeetingSettings(room_leads={office.room.id: timedelta(minutes=10)}),
            NOW,
        )
        await uow.commit()
    [booking] = (await device_bookings(office.hub, office.tenant_id, device.id)).result["Booking"]
    assert booking["Time"]["StartTimeBuffer"] == 600
    assert (booking["Title"], booking["Privacy"]) == (PRIVATE_TITLE, "Private")


async def test_an_unknown_device_is_not_found(office: Office) -> None:
    with pytest.raises(DeviceNotFound):
        await device_bookings(office.hub, office.tenant_id, DeviceId(new_id(NOW)))


async def test_copies_synced_from_outlook_share_their_uid(
    hub: HubContext, uow_factory: UnitOfWorkFactory, outlook: httpx.AsyncClient
) -> None:
    tenant = await add_tenant(uow_factory, "Contoso meetings")
    connection = await connect_contoso(hub, tenant.id)
    await discover_calendars(hub, tenant.id, connection.id)
    created = await outlook.post(
        "/v1.0/users/adele@contoso.test/events",
        json={
            "subject": "Vendor call",
            "start": {"dateTime": "2026-03-02T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T10:30:00", "timeZone": "UTC"},
            "body": {"contentType": "html", "content": '<a href="https://zoom.us/j/5551234567">'
                     "Join Zoom</a>"},
            "attendees": [
                {"emailAddress": {"address": "alex@contoso.test", "name": "Alex"}},
                {"emailAddress": {"address": "cf100@contoso.test"}, "type": "resource"},
            ],
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    async with hub.uow() as uow:
        calendars = await uow.calendars.list(tenant.id, connection_id=connection.id)
    for calendar in calendars:
        await sync_calendar_job(hub, tenant.id, calendar.id)
    alex_calendar = next(c for c in calendars if c.owner_email == "alex@contoso.test")

    alex = await person_meetings(hub, tenant.id, "alex@contoso.test")
    adele = await person_meetings(hub, tenant.id, "adele@contoso.test")

    assert [(m.title, m.calendar_id) for m in alex.meetings] == [("Vendor call", alex_calendar.id)]
    # Adele's, Alex's and the room's copies all name Adele: one entry, her own copy.
    assert [m.title for m in adele.meetings] == ["Vendor call"]
    assert alex.meetings[0].join is not None
    assert alex.meetings[0].join.meeting_id == "5551234567"
    room = next(c for c in calendars if c.owner_email == "cf100@contoso.test")
    device = await add_room_device(hub, room, "UTC")
    [booking] = (await device_bookings(hub, tenant.id, device.id)).result["Booking"]
    assert booking["DialInfo"]["Calls"]["Call"][0]["Number"] == "5551234567@zoomcrc.com"
