"""Meetings lists through the ASGI app: a person's meetings with an API key (times in the asked
zone, all-day as dates, private titles hidden from attendees), a device's RoomOS bookings with the
key or that device's own token; unknown addresses and devices are 404 problems, bad windows 422
problems naming the parameter."""

from __future__ import annotations

import secrets
from datetime import timedelta

import httpx

from calhub.bootstrap import Runtime
from calhub.domain.calendars import Calendar, CalendarKind
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.events import Attendee, AttendeeKind, Event, Occurrence
from calhub.domain.ids import DeviceId, EventId, TenantId, new_id
from calhub.domain.joinlinks.model import JoinDetails
from calhub.services.apikeys import create_api_key
from calhub.services.devices import token_hash
from calhub.services.tenants import create_tenant
from tests.api.test_errors import assert_problem
from tests.storage.factories import add_calendar

TEAMS = JoinDetails(
    "teams", "provider_data", join_url="https://teams.microsoft.com/l/meetup-join/x"
)


async def _tenant(runtime: Runtime, name: str) -> tuple[TenantId, dict[str, str]]:
    tenant = await create_tenant(runtime.uow, runtime.clock, name)
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    return tenant.id, {"Authorization": f"Bearer {issued.token}"}


async def _meeting(runtime: Runtime, calendars: list[Calendar], **fields: object) -> list[Event]:
    """One meeting organised by Ana with Bo and the room, copied into ``calendars``."""
    start = runtime.clock.now().replace(microsecond=0) + timedelta(minutes=10)
    uid = secrets.token_hex(8)
    copies = []
    for calendar in calendars:
        values: dict[str, object] = {
            "id": EventId(new_id(start)),
            "tenant_id": calendar.tenant_id,
            "calendar_id": calendar.id,
            "provider_event_id": f"{uid}-{calendar.id}",
            "start": start,
            "end": start + timedelta(minutes=30),
            "subject": "Roadmap",
            "organizer": Attendee("ana@meet.example", "Ana Lima"),
            "attendees": (
                Attendee("bo@meet.example", "Bo"),
                Attendee("room@meet.example", "Room", kind=AttendeeKind.RESOURCE),
            ),
            "join": TEAMS,
            "ical_uid": uid,
        }
        values.update(fields)
        copies.append(Event(**values))  # type: ignore[arg-type]
    tenant_id = calendars[0].tenant_id
    async with runtime.uow() as uow:
        stored = await uow.events.upsert(tenant_id, copies, runtime.clock.now())
        await uow.occurrences.replace_for_events(
            tenant_id, [(e, [Occurrence(e.id, e.start, e.end, e.start)]) for e in stored]
        )
        await uow.commit()
    return stored


async def _device(runtime: Runtime, calendar: Calendar) -> tuple[Device, dict[str, str]]:
    token = f"chd_{secrets.token_urlsafe(32)}"
    device = Device(
        id=DeviceId(new_id(runtime.clock.now())),
        tenant_id=calendar.tenant_id,
        calendar_id=calendar.id,
        kind=DeviceKind.ROOM,
        name="Codec",
        time_zone="Europe/Berlin",
        created_at=runtime.clock.now(),
    )
    async with runtime.uow() as uow:
        await uow.devices.add(device, token_hash(token))
        await uow.commit()
    return device, {"Authorization": f"Bearer {token}"}


async def test_a_person_gets_their_meetings_in_their_zone(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Meetings A")
    ana = await add_calendar(runtime.uow, tenant_id, "ana@meet.example")
    bo = await add_calendar(runtime.uow, tenant_id, "bo@meet.example")
    _, bo_copy = await _meeting(runtime, [ana, bo])
    await _meeting(runtime, [ana, bo], subject="Reorg", is_private=True)
    today = runtime.clock.now().date()
    await _meeting(runtime, [bo], start=today, end=today + timedelta(days=1), join=None)

    response = await client.get(
        "/api/v1/users/Bo@meet.example/meetings", params={"tz": "Asia/Kolkata"}, headers=auth
    )

    assert response.status_code == 200, response.text
    listed = response.json()["meetings"]
    assert sorted(m["title"] for m in listed) == ["Private meeting", "Roadmap", "Roadmap"]
    all_day = next(m for m in listed if m["all_day"])
    assert (all_day["start"], all_day["join_button"]) == (today.isoformat(), False)
    timed = next(m for m in listed if m["event_id"] == str(bo_copy.id))
    assert timed["start"].endswith("+05:30")
    assert timed["calendar_id"] == str(bo.id)
    assert (timed["organizer_name"], timed["attendee_count"], timed["show_as"]) == (
        "Ana Lima",
        2,
        "busy",
    )
    assert timed["join"]["provider"] == "teams"
    assert timed["join_button"] is True
    assert timed["series"] == {"series_id": None, "recurring": False, "exception": False}
    assert len(timed["booking_id"]) == 32
    organizer_view = await client.get("/api/v1/users/ana@meet.example/meetings", headers=auth)
    assert {m["title"] for m in organizer_view.json()["meetings"]} == {"Roadmap", "Reorg"}


async def test_unknown_people_and_bad_windows_are_problems(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Meetings B")
    await add_calendar(runtime.uow, tenant_id, "carl@meet.example")
    url = "/api/v1/users/carl@meet.example/meetings"

    assert (await client.get(url, headers=auth)).json()["meetings"] == []
    unknown = await client.get("/api/v1/users/nobody@meet.example/meetings", headers=auth)
    assert assert_problem(unknown, 404, "not-found")["detail"] == (
        "No calendar or meeting is known for this address in your tenant."
    )
    for params, parameter in (
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"start": "tomorrow"}, "start"),
        ({"start": "2026-03-02", "end": "2026-03-01"}, "end"),
        ({"start": "2026-01-01", "end": "2026-04-01"}, "end"),
    ):
        body = assert_problem(
            await client.get(url, params=params, headers=auth), 422, "validation-failed"
        )
        assert body["errors"] == [
            {"location": ["query", parameter], "message": body["errors"][0]["message"]}  # type: ignore[index]
        ]
    assert_problem(await client.get(url), 401, "unauthorized")


async def test_a_device_reads_its_bookings_with_its_own_token(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Meetings C")
    ana = await add_calendar(runtime.uow, tenant_id, "ana@meet.example")
    room = await add_calendar(runtime.uow, tenant_id, "room@meet.example", kind=CalendarKind.ROOM)
    other_room = await add_calendar(
        runtime.uow, tenant_id, "hall@meet.example", kind=CalendarKind.ROOM
    )
    _, room_copy = await _meeting(runtime, [ana, room], is_private=True)
    device, device_auth = await _device(runtime, room)
    other, other_auth = await _device(runtime, other_room)
    url = f"/api/v1/devices/{device.id}/bookings"

    as_admin = await client.get(url, headers=auth)
    as_device = await client.get(url, headers=device_auth)

    assert as_admin.status_code == 200, as_admin.text
    assert as_device.json() == as_admin.json() | {"LastUpdated": as_device.json()["LastUpdated"]}
    result = as_device.json()
    assert result["ResultInfo"] == {"TotalRows": 1}
    [booking] = result["Booking"]
    assert booking["MeetingId"] == str(room_copy.id)
    assert (booking["Title"], booking["Privacy"]) == ("Private meeting", "Private")
    assert booking["MeetingPlatform"] == "MicrosoftTeams"
    assert booking["DialInfo"]["Calls"]["Call"][0]["Protocol"] == "WebRTC"
    assert booking["Time"]["StartTimeBuffer"] == 300
    assert "ana@meet.example" not in as_device.text

    assert_problem(await client.get(url, headers=other_auth), 404, "not-found")
    assert (await client.get(f"/api/v1/devices/{other.id}/bookings", headers=other_auth)).json()[
        "Booking"
    ] == []
    assert_problem(
        await client.get(url, params={"days": 9}, headers=auth), 422, "validation-failed"
    )
    missing = f"/api/v1/devices/{DeviceId(new_id(runtime.clock.now()))}/bookings"
    assert_problem(await client.get(missing, headers=auth), 404, "not-found")
    assert_problem(
        await client.get("/api/v1/users/ana@meet.example/meetings", headers=device_auth),
        401,
        "unauthorized",
    )
