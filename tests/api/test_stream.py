"""``GET /api/v1/stream`` over a real socket (uvicorn in the test's loop, the app's own outbox
listener): a device sees its own events and never another device's, live within moments of the
commit, and resumes after ``Last-Event-ID``; a tenant key sees everything; an event committed
out of id order still arrives; a lost notification is caught by the fallback read; keep-alive
comments flow; bad cursors and credentials are problems."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from calhub.api.app import create_app
from calhub.api.routes import stream as stream_route
from calhub.bootstrap import Runtime
from calhub.cli.device_simulate import EventStreamParser, ServerSentEvent
from calhub.domain.calendars import CalendarKind
from calhub.domain.devices import Device, DeviceKind
from calhub.domain.ids import DeviceId, TenantId, new_id
from calhub.services.apikeys import create_api_key
from calhub.services.devices import token_hash
from calhub.services.tenants import create_tenant
from calhub.settings import Settings
from calhub.storage.repositories.join_prompts import JoinPromptRepository
from calhub.storage.tables import outbox
from tests.api.test_errors import assert_problem
from tests.serving import serve_in_loop
from tests.storage.factories import NOW, add_calendar


@pytest_asyncio.fixture(scope="module")
async def origin(settings: Settings, runtime: Runtime) -> AsyncIterator[str]:
    async with serve_in_loop(create_app(settings, runtime), lifespan="on") as origin:
        yield origin


@dataclass(frozen=True)
class Feed:
    tenant_id: TenantId
    key: str
    room: DeviceId
    room_token: str
    lobby: DeviceId
    lobby_token: str
    calendar_id: str


async def _device(runtime: Runtime, tenant_id: TenantId, calendar_id: Any) -> tuple[DeviceId, str]:
    token = f"chd_{secrets.token_urlsafe(32)}"
    device = Device(
        id=DeviceId(new_id(NOW)),
        tenant_id=tenant_id,
        calendar_id=calendar_id,
        kind=DeviceKind.ROOM,
        name="Codec",
        time_zone="UTC",
        created_at=NOW,
    )
    async with runtime.uow() as uow:
        await uow.devices.add(device, token_hash(token))
        await uow.commit()
    return device.id, token


@pytest_asyncio.fixture
async def feed(runtime: Runtime) -> Feed:
    tenant = await create_tenant(runtime.uow, runtime.clock, "Acme")
    key = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    calendar = await add_calendar(
        runtime.uow, tenant.id, owner="boardroom@acme.example", kind=CalendarKind.ROOM
    )
    room, room_token = await _device(runtime, tenant.id, calendar.id)
    lobby, lobby_token = await _device(runtime, tenant.id, calendar.id)
    return Feed(tenant.id, key.token, room, room_token, lobby, lobby_token, str(calendar.id))


class Stream:
    """An open stream whose lines are read in the background into events."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.parser = EventStreamParser()
        self.events: asyncio.Queue[ServerSentEvent] = asyncio.Queue()
        self.comments: list[str] = []
        self._commented = asyncio.Event()  # set at each comment
        self.opened = asyncio.Event()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for line in self.response.aiter_lines():
            if line.startswith(":"):
                self.comments.append(line)
                self._commented.set()
            event = self.parser.feed(line)
            if event is not None:
                self.events.put_nowait(event)
            elif not line:
                self.opened.set()  # the first frame: retry and the starting id

    async def next(self, within: float = 5.0) -> ServerSentEvent:
        async with asyncio.timeout(within):
            return await self.events.get()

    async def comments_seen(self, count: int, within: float = 5.0) -> list[str]:
        """The comments, once ``count`` have come."""
        async with asyncio.timeout(within):
            while len(self.comments) < count:
                self._commented.clear()
                await self._commented.wait()
        return list(self.comments)

    async def close(self) -> None:
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading


@contextlib.asynccontextmanager
async def open_stream(
    origin: str, token: str, headers: Mapping[str, str] = {}, **params: Any
) -> AsyncIterator[Stream]:
    async with (
        httpx.AsyncClient(base_url=origin, timeout=10) as client,
        client.stream(
            "GET",
            "/api/v1/stream",
            params=params,
            headers={"Authorization": f"Bearer {token}", **headers},
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        async with asyncio.timeout(5):
            await stream.opened.wait()
        try:
            yield stream
        finally:
            await stream.close()


async def _add(
    runtime: Runtime, feed: Feed, kind: str, device: DeviceId | None, **data: Any
) -> int:
    async with runtime.uow() as uow:
        event_id = await uow.outbox.add(feed.tenant_id, kind, data, NOW, device_id=device)
        await uow.commit()
    return event_id


async def test_a_device_sees_its_own_events_live_never_anothers_and_resumes(
    origin: str, runtime: Runtime, feed: Feed
) -> None:
    async with open_stream(origin, feed.room_token) as room:
        await _add(runtime, feed, "obtp.join", feed.lobby, prompt_id=1)
        await _add(runtime, feed, "presence.changed", None, calendar_id=feed.calendar_id)
        committed = time.monotonic()
        first = await _add(runtime, feed, "obtp.join", feed.room, prompt_id=2)
        got_first = await room.next()
        latency = time.monotonic() - committed
        second = await _add(runtime, feed, "meeting.updated", feed.room, booking_ids=["b"])
        got_second = await room.next()
    missed = [
        await _add(runtime, feed, "obtp.withdrawn", feed.room, prompt_id=2),
        await _add(runtime, feed, "obtp.join", feed.lobby, prompt_id=3),
        await _add(runtime, feed, "meeting.cancelled", feed.room, booking_ids=["b"]),
    ]
    async with open_stream(origin, feed.room_token, {"Last-Event-ID": str(second)}) as resumed:
        after_reconnect = [await resumed.next(), await resumed.next()]
        with pytest.raises(TimeoutError):
            await resumed.next(within=0.5)

    assert latency < 1.0  # woken by NOTIFY at commit, not by the 5 s fallback read
    assert (got_first.id, got_first.type) == (str(first), "obtp.join")
    message = json.loads(got_first.data)
    assert message == {
        "type": "obtp.join",
        "timestamp": "2026-01-05T09:00:00Z",
        "data": {"prompt_id": 2},  # that prompt does not exist: no booking to add
    }
    assert (got_second.id, got_second.type) == (str(second), "meeting.updated")
    assert [(e.id, e.type) for e in after_reconnect] == [
        (str(missed[0]), "obtp.withdrawn"),
        (str(missed[2]), "meeting.cancelled"),
    ]


async def test_a_tenant_key_sees_every_event_and_may_narrow_to_one_device(
    origin: str, runtime: Runtime, feed: Feed
) -> None:
    start = await _add(runtime, feed, "connection.disabled", None)
    async with (
        open_stream(origin, feed.key, after=start) as everything,
        open_stream(origin, feed.key, device=str(feed.lobby), after=start) as lobby,
    ):
        ids = [
            await _add(runtime, feed, "obtp.join", feed.room, prompt_id=1),
            await _add(runtime, feed, "obtp.join", feed.lobby, prompt_id=2),
            await _add(runtime, feed, "presence.changed", None, calendar_id=feed.calendar_id),
        ]
        seen = [await everything.next() for _ in ids]
        lobby_seen = await lobby.next()
        presence = json.loads(seen[2].data)

    assert [e.id for e in seen] == [str(i) for i in ids]
    assert lobby_seen.id == str(ids[1])
    assert presence["data"]["email"] == "boardroom@acme.example"  # added at send time
    async with httpx.AsyncClient(base_url=origin) as client:
        other = await client.get(
            "/api/v1/stream",
            params={"device": str(feed.lobby)},
            headers={"Authorization": f"Bearer {feed.room_token}"},
        )
    assert_problem(other, 404, "not-found")


async def test_a_join_prompt_carries_its_booking_snapshot(
    origin: str, runtime: Runtime, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = {"Id": "b1", "Title": "Quarterly review", "MeetingPlatform": "Webex"}

    async def snapshots(self: Any, tenant_id: TenantId, ids: Any) -> dict[int, dict[str, Any]]:
        return {7: booking} if tenant_id == feed.tenant_id else {}

    monkeypatch.setattr(JoinPromptRepository, "snapshots", snapshots)
    async with open_stream(origin, feed.room_token) as room:
        await _add(runtime, feed, "obtp.join", feed.room, prompt_id=7, booking_id="b1")
        event = await room.next()

    assert json.loads(event.data)["data"] == {
        "prompt_id": 7,
        "booking_id": "b1",
        "booking": booking,
    }


async def test_an_event_committed_out_of_id_order_still_arrives(
    origin: str, runtime: Runtime, feed: Feed
) -> None:
    async with open_stream(origin, feed.room_token) as room, runtime.uow() as slow:
        earlier = await slow.outbox.add(feed.tenant_id, "obtp.join", {}, NOW, device_id=feed.room)
        later = await _add(runtime, feed, "obtp.join", feed.room)
        first = await room.next()
        await slow.commit()
        second = await room.next()

    assert earlier < later
    assert [first.id, second.id] == [str(later), str(earlier)]


async def test_a_missed_notification_is_caught_by_the_fallback_read(
    origin: str, runtime: Runtime, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_route, "FALLBACK_S", 0.3)
    async with open_stream(origin, feed.room_token) as room:
        async with runtime.engine.begin() as conn:  # an insert that notifies nobody
            result = await conn.execute(
                outbox.insert()
                .values(
                    tenant_id=feed.tenant_id,
                    kind="meeting.created",
                    payload={},
                    created_at=NOW,
                    device_id=feed.room,
                )
                .returning(outbox.c.id)
            )
            silent = result.scalar_one()
        event = await room.next(within=3.0)

    assert event.id == str(silent)


async def test_quiet_streams_get_keep_alive_comments(
    origin: str, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_route, "KEEPALIVE_S", 0.2)
    async with open_stream(origin, feed.room_token) as room:
        # Waits for the second comment rather than sleeping a fixed time: on a busy machine
        # 0.7 s once brought only one.
        comments = await room.comments_seen(2)

    assert set(comments) == {": keep-alive"}


@pytest.mark.parametrize("last_event_id", ["abc", "-1", "1.5", "9" * 20, "²".encode("latin-1")])
async def test_a_bad_last_event_id_is_a_422_problem(
    origin: str, feed: Feed, last_event_id: str | bytes
) -> None:
    async with httpx.AsyncClient(base_url=origin) as client:
        response = await client.get(
            "/api/v1/stream",
            headers={"Authorization": f"Bearer {feed.room_token}", "Last-Event-ID": last_event_id},
        )

    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"] == [
        {"location": ["header", "Last-Event-ID"], "message": "not an event id"}
    ]


async def test_bad_after_and_missing_credentials(origin: str, feed: Feed) -> None:
    async with httpx.AsyncClient(base_url=origin) as client:
        negative = await client.get(
            "/api/v1/stream",
            params={"after": -1},
            headers={"Authorization": f"Bearer {feed.room_token}"},
        )
        anonymous = await client.get("/api/v1/stream")
        wrong = await client.get(
            "/api/v1/stream", headers={"Authorization": "Bearer chd_not-a-device"}
        )

    assert_problem(negative, 422, "validation-failed")
    assert_problem(anonymous, 401, "unauthorized")
    assert_problem(wrong, 401, "unauthorized")
