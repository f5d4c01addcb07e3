"""Key rotation against PostgreSQL: KEK rotation re-wraps data keys, data-key rotation keeps old
values readable, and a keyring with stale cached keys picks up new versions."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from calhub.domain.ids import TenantId
from calhub.storage.crypto import (
    DecryptionFailed,
    Keyring,
    LocalKeyFileProvider,
    StaticKeyProvider,
    UnknownKeyVersion,
)
from calhub.storage.crypto.fields import key_version_of
from calhub.storage.database import create_engine
from calhub.storage.rotation import KekNotRotatable, rewrap_data_keys, rotate_data_keys, rotate_keys
from calhub.storage.tables import events, tenant_keys
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant, make_event


@pytest.fixture
async def fresh_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, pool_size=2)
    yield engine
    await engine.dispose()


async def _store_event(factory: UnitOfWorkFactory, tenant_id: TenantId, provider_id: str) -> None:
    calendar = await add_calendar(factory, tenant_id, owner=f"{provider_id}@example.com")
    async with factory() as uow:
        await uow.events.upsert(tenant_id, [make_event(tenant_id, calendar.id, provider_id)], NOW)
        await uow.commit()


async def _subjects(factory: UnitOfWorkFactory, tenant_id: TenantId) -> list[str]:
    async with factory() as uow:
        found = await uow.events.find_by_attendee_email(tenant_id, "ALICE@example.com")
    return sorted(e.provider_event_id + ":" + e.subject for e in found)


async def test_new_kek_rewraps_every_data_key(fresh_engine: AsyncEngine, tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    factory = UnitOfWorkFactory(fresh_engine, Keyring(LocalKeyFileProvider(path)))
    tenants = [await add_tenant(factory, f"T{i}") for i in range(2)]
    for tenant in tenants:
        await _store_event(factory, tenant.id, f"ev-{tenant.name}")

    report = await rotate_keys(factory, NOW, new_kek=True)

    assert (report.kek_version, report.rewrapped, report.created) == (2, 2, 0)
    async with fresh_engine.connect() as conn:
        versions = (await conn.execute(select(tenant_keys.c.kek_version))).scalars().all()
    assert versions == [2, 2]
    # Drop KEK version 1 from the file: everything must still open with version 2 alone.
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("1 ")) + "\n")
    os.chmod(path, 0o600)
    fresh = UnitOfWorkFactory(fresh_engine, Keyring(LocalKeyFileProvider(path)))
    for tenant in tenants:
        assert await _subjects(fresh, tenant.id) == [f"ev-{tenant.name}:Planning"]
    assert await rewrap_data_keys(fresh) == 0


async def test_static_master_key_rotation_with_previous_key(fresh_engine: AsyncEngine) -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    factory = UnitOfWorkFactory(fresh_engine, Keyring(StaticKeyProvider(old)))
    tenant = await add_tenant(factory)
    await _store_event(factory, tenant.id, "ev")
    with pytest.raises(KekNotRotatable):
        await rotate_keys(factory, NOW, new_kek=True)

    both = StaticKeyProvider(new, version=2, previous={1: old})
    assert await rewrap_data_keys(UnitOfWorkFactory(fresh_engine, Keyring(both))) == 1

    only_new = UnitOfWorkFactory(fresh_engine, Keyring(StaticKeyProvider(new, version=2)))
    assert await _subjects(only_new, tenant.id) == ["ev:Planning"]
    only_old = UnitOfWorkFactory(fresh_engine, Keyring(StaticKeyProvider(old)))
    with pytest.raises(UnknownKeyVersion, match="no version 2"):
        await _subjects(only_old, tenant.id)
    wrong = StaticKeyProvider(secrets.token_bytes(32), version=2)
    with pytest.raises(DecryptionFailed, match="wrong key-encryption key"):
        await _subjects(UnitOfWorkFactory(fresh_engine, Keyring(wrong)), tenant.id)


async def test_new_data_key_version_keeps_old_values_readable(
    fresh_engine: AsyncEngine,
) -> None:
    provider = StaticKeyProvider(secrets.token_bytes(32))
    reader = UnitOfWorkFactory(fresh_engine, Keyring(provider))
    writer = UnitOfWorkFactory(fresh_engine, Keyring(provider))
    tenant = await add_tenant(writer)
    await _store_event(writer, tenant.id, "before")
    assert await _subjects(reader, tenant.id) == ["before:Planning"]  # reader caches v1

    assert await rotate_data_keys(writer, NOW) == 1
    await _store_event(writer, tenant.id, "after")

    async with fresh_engine.connect() as conn:
        rows = (await conn.execute(select(events.c.provider_event_id, events.c.subject))).all()
    assert {r.provider_event_id: key_version_of(r.subject) for r in rows} == {
        "before": 1,
        "after": 2,
    }
    # The reader's cache lacks version 2; it reloads instead of failing, and the blind index
    # (derived from the first data key) still finds both.
    assert await _subjects(reader, tenant.id) == ["after:Planning", "before:Planning"]


async def test_rolled_back_key_version_is_not_used_later(fresh_engine: AsyncEngine) -> None:
    factory = UnitOfWorkFactory(fresh_engine, Keyring(StaticKeyProvider(secrets.token_bytes(32))))
    tenant = await add_tenant(factory)
    calendar = await add_calendar(factory, tenant.id)
    async with factory() as uow:
        assert await uow.data_keys.add_version(tenant.id, NOW) == 2
        # Sealing here caches version 2; leaving without commit must drop it again.
        await uow.events.upsert(tenant.id, [make_event(tenant.id, calendar.id, "lost")], NOW)

    async with factory() as uow:
        await uow.events.upsert(tenant.id, [make_event(tenant.id, calendar.id, "kept")], NOW)
        await uow.commit()

    async with fresh_engine.connect() as conn:
        rows = (await conn.execute(select(events.c.provider_event_id, events.c.subject))).all()
    assert [(r.provider_event_id, key_version_of(r.subject)) for r in rows] == [("kept", 1)]
