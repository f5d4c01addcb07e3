"""The outbox on real PostgreSQL: events for one device, many events in one statement, the
NOTIFY that wakes streams only when the transaction commits, and reads a device may make."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from calhub.domain.ids import DeviceId, TenantId
from calhub.storage.database import libpq_url
from calhub.storage.repositories.outbox import OUTBOX_CHANNEL
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_tenant

ROOM = DeviceId(uuid.UUID("00000000-0000-7000-8000-000000000001"))
LOBBY = DeviceId(uuid.UUID("00000000-0000-7000-8000-000000000002"))


async def test_add_many_keeps_the_order_given_and_the_device(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    rows = [
        ("obtp.join", {"prompt_id": 1}, ROOM),
        ("presence.changed", {"out_of_office": True}, None),
        ("obtp.join", {"prompt_id": 2}, LOBBY),
    ]
    async with uow_factory() as uow:
        ids = await uow.outbox.add_many(tenant.id, rows, NOW)
        assert await uow.outbox.add_many(tenant.id, [], NOW) == []
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.outbox.list_after(tenant.id, 0)

    assert ids == sorted(ids)
    assert [(e.id, e.kind, e.payload, e.device_id) for e in stored] == [
        (event_id, kind, payload, device)
        for event_id, (kind, payload, device) in zip(ids, rows, strict=True)
    ]
    assert {e.created_at for e in stored} == {NOW}


async def test_a_device_reads_only_its_own_events(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    other = await add_tenant(uow_factory, "Other")
    async with uow_factory() as uow:
        room_first = await uow.outbox.add(tenant.id, "obtp.join", {"n": 1}, NOW, device_id=ROOM)
        lobby = await uow.outbox.add(tenant.id, "obtp.join", {"n": 2}, NOW, device_id=LOBBY)
        untargeted = await uow.outbox.add(tenant.id, "presence.changed", {"n": 3}, NOW)
        room_second = await uow.outbox.add(tenant.id, "obtp.withdrawn", {"n": 4}, NOW, ROOM)
        await uow.outbox.add(other.id, "obtp.join", {"n": 5}, NOW, device_id=ROOM)
        await uow.commit()
    async with uow_factory() as uow:
        room = await uow.outbox.list_after(tenant.id, 0, device_id=ROOM)
        room_ids = await uow.outbox.ids_after(tenant.id, room_first, device_id=ROOM)
        everything = await uow.outbox.ids_after(tenant.id, 0)
        last_for_lobby = await uow.outbox.last_id(tenant.id, device_id=LOBBY)
        last_for_tenant = await uow.outbox.last_id(tenant.id)
        nothing_yet = await uow.outbox.last_id(tenant.id, device_id=DeviceId(uuid.uuid4()))
        fetched = await uow.outbox.get_many(tenant.id, [room_second, lobby, 10**12])
        foreign = await uow.outbox.get_many(other.id, [room_first])

    assert [e.id for e in room] == [room_first, room_second]
    assert room_ids == [room_second]
    assert everything == [room_first, lobby, untargeted, room_second]
    assert (last_for_lobby, last_for_tenant, nothing_yet) == (lobby, room_second, 0)
    assert [e.id for e in fetched] == [lobby, room_second]
    assert foreign == []


async def _notifications(
    database_url: str, collected: list[str], ready: asyncio.Event, arrived: asyncio.Event
) -> None:
    async with await psycopg.AsyncConnection.connect(
        libpq_url(database_url), autocommit=True
    ) as conn:
        await conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        ready.set()
        async for notify in conn.notifies():
            collected.append(notify.payload)
            arrived.set()


@pytest.mark.parametrize("many", [False, True])
async def test_notify_names_the_tenant_once_per_commit_and_never_on_rollback(
    uow_factory: UnitOfWorkFactory, database_url: str, many: bool
) -> None:
    tenant = await add_tenant(uow_factory)
    collected: list[str] = []
    ready, arrived = asyncio.Event(), asyncio.Event()
    listening = asyncio.create_task(_notifications(database_url, collected, ready, arrived))
    await ready.wait()

    async def add(tenant_id: TenantId) -> None:
        if many:
            await uow.outbox.add_many(tenant_id, [("k", {}, None), ("k", {}, ROOM)], NOW)
        else:
            await uow.outbox.add(tenant_id, "k", {}, NOW)
            await uow.outbox.add(tenant_id, "k", {}, NOW, device_id=ROOM)

    try:
        async with uow_factory() as uow:
            await add(tenant.id)
            await asyncio.sleep(0.2)
            before_commit = list(collected)
            await uow.commit()
        async with uow_factory() as uow:
            await add(tenant.id)  # rolled back when the block ends without commit
        async with asyncio.timeout(5):
            await arrived.wait()
        await asyncio.sleep(0.2)
    finally:
        listening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listening

    assert before_commit == []
    assert collected == [str(tenant.id)]
