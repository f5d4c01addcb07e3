"""``calhub meetings user|device`` against a real database: a person's meetings as a table or
JSON, a room device's bookings in RoomOS shape, and mistakes in red with exit code 2."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from calhub.bootstrap import bootstrap
from calhub.cli.main import app
from calhub.domain.calendars import CalendarKind
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.events import Attendee, Event, Occurrence
from calhub.domain.ids import DeviceId, EventId, TenantId, new_id
from calhub.domain.joinlinks.model import JoinDetails
from calhub.settings import Settings
from tests.storage.factories import add_calendar

MEET = JoinDetails("google_meet", "body", join_url="https://meet.google.com/abc-defg-hij")


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
        "COLUMNS": "200",
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.stdout, result.stderr


def _seed(env: dict[str, str], tenant: str) -> str:
    """Ana's meeting with the room in 10 minutes, in both calendars; the room's device id."""
    settings = Settings(
        database_url=SecretStr(env["CALHUB_DATABASE_URL"]), data_dir=Path(env["CALHUB_DATA_DIR"])
    )
    tenant_id = TenantId(uuid.UUID(tenant))

    async def seed() -> str:
        async with bootstrap(settings) as runtime:
            now = runtime.clock.now()
            ana = await add_calendar(runtime.uow, tenant_id, "ana@cli.example")
            room = await add_calendar(
                runtime.uow, tenant_id, "room@cli.example", kind=CalendarKind.ROOM
            )
            start = now.replace(microsecond=0) + timedelta(minutes=10)
            copies = [
                Event(
                    id=EventId(new_id(now)),
                    tenant_id=tenant_id,
                    calendar_id=calendar.id,
                    provider_event_id=f"p-{calendar.id}",
                    start=start,
                    end=start + timedelta(minutes=30),
                    subject="Launch plan",
                    organizer=Attendee("ana@cli.example", "Ana Lima"),
                    attendees=(Attendee("room@cli.example", "Room"),),
                    join=MEET,
                    ical_uid="UID-CLI",
                )
                for calendar in (ana, room)
            ]
            device = Device(
                id=DeviceId(new_id(now)),
                tenant_id=tenant_id,
                calendar_id=room.id,
                kind=DeviceKind.ROOM,
                name="Codec",
                time_zone="UTC",
                created_at=now,
            )
            async with runtime.uow() as uow:
                await uow.events.upsert(tenant_id, copies, now)
                await uow.occurrences.replace_for_events(
                    tenant_id, [(e, [Occurrence(e.id, e.start, e.end, e.start)]) for e in copies]
                )
                await uow.devices.add(device, secrets.token_bytes(32))
                await uow.commit()
            return str(device.id)

    return asyncio.run(seed())


def test_meetings_of_a_person_and_bookings_of_a_device(env: dict[str, str]) -> None:
    tenant = _run(env, "tenant", "create", "Acme")[0].strip().splitlines()[-1]
    device_id = _seed(env, tenant)

    table, _ = _run(env, "meetings", "user", "ana@cli.example", "--tz", "Europe/Berlin")
    assert "Launch plan" in table
    assert "google_meet join" in table
    listed = json.loads(_run(env, "meetings", "user", "ana@cli.example", "--json")[0])
    assert [m["title"] for m in listed["meetings"]] == ["Launch plan"]

    bookings = json.loads(_run(env, "meetings", "device", device_id, "--json")[0])
    assert bookings["ResultInfo"] == {"TotalRows": 1}
    assert bookings["Booking"][0]["MeetingPlatform"] == "GoogleMeet"
    assert "OBTP" in _run(env, "meetings", "device", device_id)[0]

    _, said = _run(env, "meetings", "user", "nobody@cli.example", code=2)
    assert "no calendar or meeting is known for this address" in said
    _, said = _run(env, "meetings", "user", "ana@cli.example", "--tz", "Nowhere", code=2)
    assert "--tz: unknown time zone" in said
    _, said = _run(env, "meetings", "device", "not-a-uuid", code=2)
    assert "DEVICE_ID must be a device id" in said
    _, said = _run(env, "meetings", "device", str(uuid.uuid4()), code=2)
    assert "no device" in said
