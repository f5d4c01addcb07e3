"""Devices: room systems and users' clients, each bound to one calendar (docs/meetings.md).

The name is sealed (a client's name may name its user); the token is kept only as its SHA-256
digest, computed by ``calhub.services.devices``. ``get_by_token_hash`` is the one lookup that
runs before a tenant is known: authentication. Everything else is tenant-scoped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, delete, func, or_, select, update

from calhub.domain.devices import Device, DeviceKind
from calhub.domain.ids import CalendarId, DeviceId, TenantId
from calhub.storage.crypto.fields import TenantKeys
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import devices


def calendar_device_ids(
    tenant_id: ColumnElement[uuid.UUID], calendar_id: ColumnElement[uuid.UUID]
) -> ColumnElement[list[uuid.UUID]]:
    """The ids of a calendar's devices, in order, as one array column (nothing decrypted: one
    index lookup), for a statement that reads or writes the calendar's row
    (``calendars.get_for_sync``, ``sync_status.record_sync``)."""
    return func.array(
        select(devices.c.id)
        .where(devices.c.tenant_id == tenant_id, devices.c.calendar_id == calendar_id)
        .order_by(devices.c.id)
        .scalar_subquery()
    )


def _device(row: Row[Any], keys: TenantKeys) -> Device:
    return Device(
        id=DeviceId(row.id),
        tenant_id=TenantId(row.tenant_id),
        calendar_id=CalendarId(row.calendar_id),
        kind=DeviceKind(row.kind),
        name=keys.open(row.name, table="devices", column="name", row_id=row.id),
        time_zone=row.time_zone,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
    )


class DeviceRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def _decode(self, tenant_id: TenantId, rows: Sequence[Row[Any]]) -> list[Device]:
        keys = await self._scope.keys(tenant_id, [row.name for row in rows])
        return [_device(row, keys) for row in rows]

    async def add(self, device: Device, token_hash: bytes) -> None:
        keys = await self._scope.keys(device.tenant_id)
        sealed_name = keys.seal(device.name, table="devices", column="name", row_id=device.id)
        await self._scope.conn.execute(
            devices.insert().values(
                id=device.id,
                tenant_id=device.tenant_id,
                calendar_id=device.calendar_id,
                kind=device.kind.value,
                name=sealed_name.blob,
                token_hash=token_hash,
                time_zone=device.time_zone,
                created_at=device.created_at,
                last_seen_at=device.last_seen_at,
            )
        )

    async def get(self, tenant_id: TenantId, device_id: DeviceId) -> Device | None:
        rows = (
            await self._scope.conn.execute(
                select(devices).where(devices.c.tenant_id == tenant_id, devices.c.id == device_id)
            )
        ).all()
        found = await self._decode(tenant_id, rows)
        return found[0] if found else None

    async def get_by_token_hash(self, token_hash: bytes) -> tuple[TenantId, DeviceId] | None:
        """The device holding this token, in any tenant (authentication only)."""
        row = (
            await self._scope.conn.execute(
                select(devices.c.tenant_id, devices.c.id).where(devices.c.token_hash == token_hash)
            )
        ).one_or_none()
        return None if row is None else (TenantId(row.tenant_id), DeviceId(row.id))

    async def list_for_tenant(self, tenant_id: TenantId) -> list[Device]:
        rows = (
            await self._scope.conn.execute(
                select(devices).where(devices.c.tenant_id == tenant_id).order_by(devices.c.id)
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def replace_token(
        self, tenant_id: TenantId, device_id: DeviceId, token_hash: bytes
    ) -> bool:
        result = await self._scope.conn.execute(
            update(devices)
            .where(devices.c.tenant_id == tenant_id, devices.c.id == device_id)
            .values(token_hash=token_hash)
            .returning(devices.c.id)
        )
        return result.first() is not None

    async def mark_seen(self, device_id: DeviceId, now: datetime, *, not_since: datetime) -> None:
        """Record ``now`` as the device's last contact, unless one after ``not_since`` is."""
        await self._scope.conn.execute(
            update(devices)
            .where(
                devices.c.id == device_id,
                or_(devices.c.last_seen_at.is_(None), devices.c.last_seen_at < not_since),
            )
            .values(last_seen_at=now)
        )

    async def delete(self, tenant_id: TenantId, device_id: DeviceId) -> CalendarId | None:
        """Remove the device (its join prompts go with it); the calendar it read, if it existed."""
        row = (
            await self._scope.conn.execute(
                delete(devices)
                .where(devices.c.tenant_id == tenant_id, devices.c.id == device_id)
                .returning(devices.c.calendar_id)
            )
        ).one_or_none()
        return None if row is None else CalendarId(row.calendar_id)
