"""``calhub device simulate`` as a separate process against the API on a real socket: it prints
the room's bookings, then its join prompts and withdrawals as they arrive (never another
device's), re-reads the bookings on ``meeting.*`` events, and after the server drops the
connection resumes with ``Last-Event-ID`` without missing or repeating anything. Refused tokens
and unreachable hubs are red messages with exit code 2."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from calhub.api.app import create_app
from calhub.bootstrap import Runtime, bootstrap
from calhub.cli.device_simulate import EventStreamParser, ServerSentEvent, simulate
from calhub.domain.calendars import Calendar, CalendarKind
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.events import Attendee, Event, Occurrence
from calhub.domain.ids import DeviceId, EventId, TenantId, new_id
from calhub.domain.joinlinks.model import JoinDetails
from calhub.services.devices import token_hash
from calhub.services.tenants import create_tenant
from calhub.settings import Settings
from calhub.storage.repositories.join_prompts import JoinPromptRepository
from tests.emulators.graph.servers import free_port
from tests.serving import serve_in_loop
from tests.storage.factories import add_calendar

BOOKING = {
    "Id": "b-1",
    "Title": "Quarterly review",
    "MeetingPlatform": "Webex",
    "DialInfo": {"Calls": {"Call": [{"Number": "2580001234@webex.com", "Protocol": "SIP"}]}},
}
PROGRAM = ("-m", "calhub", "device", "simulate")


@pytest.fixture
async def runtime(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(database_url=SecretStr(fresh_database_url), data_dir=tmp_path)
    async with bootstrap(settings) as runtime:
        yield runtime


@dataclass(frozen=True)
class Room:
    tenant_id: TenantId
    device: DeviceId
    token: str
    other_device: DeviceId


async def _device(runtime: Runtime, calendar: Calendar) -> tuple[DeviceId, str]:
    token = f"chd_{secrets.token_urlsafe(32)}"
    now = runtime.clock.now()
    device = Device(
        DeviceId(new_id(now)), calendar.tenant_id, calendar.id, DeviceKind.ROOM, "Codec", "UTC", now
    )
    async with runtime.uow() as uow:
        await uow.devices.add(device, token_hash(token))
        await uow.commit()
    return device.id, token


async def _meeting(runtime: Runtime, calendar: Calendar) -> None:
    start = runtime.clock.now().replace(microsecond=0) + timedelta(minutes=10)
    event = Event(
        id=EventId(new_id(start)),
        tenant_id=calendar.tenant_id,
        calendar_id=calendar.id,
        provider_event_id="roadmap",
        start=start,
        end=start + timedelta(minutes=30),
        subject="Roadmap",
        organizer=Attendee("ana@meet.example", "Ana Lima"),
        join=JoinDetails("teams", "provider_data", join_url="https://teams.microsoft.com/l/x"),
        ical_uid="roadmap-uid",
    )
    async with runtime.uow() as uow:
        (stored,) = await uow.events.upsert(calendar.tenant_id, [event], runtime.clock.now())
        await uow.occurrences.replace_for_events(
            calendar.tenant_id, [(stored, [Occurrence(stored.id, start, stored.end, start)])]
        )
        await uow.commit()


@pytest.fixture
async def room(runtime: Runtime) -> Room:
    tenant = await create_tenant(runtime.uow, runtime.clock, "Acme")
    calendar = await add_calendar(
        runtime.uow, tenant.id, owner="boardroom@acme.example", kind=CalendarKind.ROOM
    )
    await _meeting(runtime, calendar)
    device, token = await _device(runtime, calendar)
    other, _ = await _device(runtime, calendar)
    return Room(tenant.id, device, token, other)


async def _add(runtime: Runtime, room: Room, kind: str, device: DeviceId, **data: Any) -> None:
    async with runtime.uow() as uow:
        await uow.outbox.add(room.tenant_id, kind, data, runtime.clock.now(), device_id=device)
        await uow.commit()


class Simulator:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        async with asyncio.timeout(15):
            raw = await self.process.stdout.readline()
        assert raw, "the simulator stopped printing"
        record: dict[str, Any] = json.loads(raw)
        return record


async def _simulate(origin: str, room: Room, *options: str) -> Simulator:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *PROGRAM,
        "--device",
        str(room.device),
        "--api",
        origin,
        *options,
        env={**os.environ, "CALHUB_DEVICE_TOKEN": room.token},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Simulator(process)


async def test_it_shows_bookings_then_prompts_and_resumes_after_a_dropped_connection(
    runtime: Runtime, room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def snapshots(self: Any, tenant_id: TenantId, ids: Any) -> dict[int, dict[str, Any]]:
        return {7: BOOKING}

    monkeypatch.setattr(JoinPromptRepository, "snapshots", snapshots)
    app = create_app(runtime.settings, runtime)
    port = free_port()
    async with serve_in_loop(app, lifespan="on", port=port) as origin:
        simulator = await _simulate(origin, room, "--json", "--exit-after", "3", "--timeout", "60")
        first = await simulator.line()
        await _add(runtime, room, "obtp.join", room.other_device, prompt_id=8)
        await _add(runtime, room, "obtp.join", room.device, prompt_id=7, booking_id="b-1")
        prompt = await simulator.line()
        await _add(runtime, room, "meeting.updated", room.device, booking_ids=["b-1"])
        reread = await simulator.line()
    # The server is gone: the simulator reconnects until it is back, from the last event.
    await _add(runtime, room, "obtp.withdrawn", room.device, prompt_id=7, booking_id="b-1")
    async with serve_in_loop(app, lifespan="on", port=port):
        withdrawn = await simulator.line()
        async with asyncio.timeout(15):
            _, errors = await simulator.process.communicate()

    assert first["kind"] == "bookings"
    assert [b["Title"] for b in first["bookings"]] == ["Roadmap"]
    assert first["bookings"][0]["MeetingPlatform"] == "MicrosoftTeams"
    assert {k: prompt[k] for k in ("kind", "prompt_id", "title", "platform", "number")} == {
        "kind": "prompt",
        "prompt_id": 7,
        "title": "Quarterly review",
        "platform": "Webex",
        "number": "2580001234@webex.com",
    }
    assert (reread["kind"], reread["after"]) == ("bookings", "meeting.updated")
    assert [b["Title"] for b in reread["bookings"]] == ["Roadmap"]
    assert (withdrawn["kind"], withdrawn["prompt_id"]) == ("withdrawn", 7)
    assert simulator.process.returncode == 0
    assert b"reconnecting" in errors


async def test_the_human_form_prints_the_join_line(
    runtime: Runtime, room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def snapshots(self: Any, tenant_id: TenantId, ids: Any) -> dict[int, dict[str, Any]]:
        return {7: BOOKING}

    monkeypatch.setattr(JoinPromptRepository, "snapshots", snapshots)
    async with serve_in_loop(create_app(runtime.settings, runtime), lifespan="on") as origin:
        simulator = await _simulate(origin, room, "--exit-after", "1", "--timeout", "60")
        assert simulator.process.stdout is not None
        async with asyncio.timeout(15):  # the bookings table is printed once the stream is open
            while b"Roadmap" not in await simulator.process.stdout.readline():
                pass
        await _add(runtime, room, "obtp.join", room.device, prompt_id=7)
        async with asyncio.timeout(15):
            output, _ = await simulator.process.communicate()

    assert "Join Quarterly review now — Webex 2580001234@webex.com" in output.decode()
    assert simulator.process.returncode == 0


async def test_a_refused_token_is_a_red_message_and_exit_2(runtime: Runtime, room: Room) -> None:
    async with serve_in_loop(create_app(runtime.settings, runtime), lifespan="on") as origin:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *PROGRAM,
            "--device",
            str(room.device),
            "--api",
            origin,
            "--token",
            "chd_replaced",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(15):
            _, errors = await process.communicate()

    assert process.returncode == 2
    assert b"the stream was refused (HTTP 401" in errors


def _command() -> typer.Typer:
    app = typer.Typer()
    app.command()(simulate)
    return app


def test_without_a_token_or_a_reachable_hub_it_says_so() -> None:
    no_token = CliRunner().invoke(_command(), ["--device", "d"], env={"CALHUB_DEVICE_TOKEN": ""})
    unreachable = CliRunner().invoke(
        _command(),
        ["--device", "d", "--token", "chd_x", "--api", f"http://127.0.0.1:{free_port()}"],
    )

    assert (no_token.exit_code, unreachable.exit_code) == (2, 2)
    assert "--token or CALHUB_DEVICE_TOKEN" in no_token.stderr
    assert "cannot reach calhub" in unreachable.stderr


def test_the_parser_follows_the_event_stream_format() -> None:
    parser = EventStreamParser()
    lines = [
        "retry: 2000",
        "id: 41",
        "",
        ": keep-alive",
        "",
        "id: 42",
        "event: obtp.join",
        'data: {"a":',
        "data: 1}",
        "",
        "data:no space",
        "",
        "event: ignored-without-data",
        "",
    ]
    events = [e for e in map(parser.feed, lines) if e is not None]

    assert events == [
        ServerSentEvent("42", "obtp.join", '{"a":\n1}'),
        ServerSentEvent("42", "message", "no space"),
    ]
    assert parser.last_event_id == "42"
