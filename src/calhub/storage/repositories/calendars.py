"""Calendars: owner address and provider id are sealed and found through blind indexes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select, update

from calhub.domain.calendars import Calendar, CalendarKind
from calhub.domain.ids import CalendarId, ConnectionId, TenantId
from calhub.storage.mappers import calendar_from_row, calendar_values
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import calendars

_SEALED = ("provider_calendar_id", "owner_email", "name", "sync_cursor")


class CalendarRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def _decode(self, tenant_id: TenantId, rows: Sequence[Row[Any]]) -> list[Calendar]:
        blobs = [getattr(row, column) for row in rows for column in _SEALED]
        keys = await self._scope.keys(tenant_id, blobs)
        return [calendar_from_row(row, keys) for row in rows]

    async def add(self, calendar: Calendar) -> None:
        keys = await self._scope.keys(calendar.tenant_id)
        await self._scope.conn.execute(calendars.insert().values(calendar_values(calendar, keys)))

    async def update(self, calendar: Calendar) -> bool:
        """Store every field of ``calendar`` except its ids and ``created_at``."""
        keys = await self._scope.keys(calendar.tenant_id)
        values = calendar_values(calendar, keys)
        for fixed in ("id", "tenant_id", "connection_id", "created_at"):
            del values[fixed]
        result = await self._scope.conn.execute(
            update(calendars)
            .where(calendars.c.tenant_id == calendar.tenant_id, calendars.c.id == calendar.id)
            .values(values)
            .returning(calendars.c.id)
        )
        return result.first() is not None

    async def get(self, tenant_id: TenantId, calendar_id: CalendarId) -> Calendar | None:
        rows = (
            await self._scope.conn.execute(
                select(calendars).where(
                    calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id
                )
            )
        ).all()
        found = await self._decode(tenant_id, rows)
        return found[0] if found else None

    async def get_by_provider_id(
        self, tenant_id: TenantId, connection_id: ConnectionId, provider_calendar_id: str
    ) -> Calendar | None:
        keys = await self._scope.keys(tenant_id)
        rows = (
            await self._scope.conn.execute(
                select(calendars).where(
                    calendars.c.tenant_id == tenant_id,
                    calendars.c.connection_id == connection_id,
                    calendars.c.provider_calendar_index
                    == keys.lookup_index("calendar", provider_calendar_id),
                )
            )
        ).all()
        found = await self._decode(tenant_id, rows)
        return found[0] if found else None

    async def list(
        self,
        tenant_id: TenantId,
        *,
        connection_id: ConnectionId | None = None,
        kind: CalendarKind | None = None,
    ) -> Sequence[Calendar]:
        query = select(calendars).where(calendars.c.tenant_id == tenant_id)
        if connection_id is not None:
            query = query.where(calendars.c.connection_id == connection_id)
        if kind is not None:
            query = query.where(calendars.c.kind == kind.value)
        rows = (await self._scope.conn.execute(query.order_by(calendars.c.id))).all()
        return await self._decode(tenant_id, rows)

    async def find_by_owner_email(self, tenant_id: TenantId, email: str) -> Sequence[Calendar]:
        """The tenant's calendars owned by ``email`` (any case), via the blind index."""
        keys = await self._scope.keys(tenant_id)
        rows = (
            await self._scope.conn.execute(
                select(calendars)
                .where(
                    calendars.c.tenant_id == tenant_id,
                    calendars.c.owner_email_index == keys.email_index(email),
                )
                .order_by(calendars.c.id)
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def save_sync_cursor(
        self,
        tenant_id: TenantId,
        calendar_id: CalendarId,
        cursor: str | None,
        synced_at: datetime,
    ) -> bool:
        """Store the provider's delta token after a sync (None forces a full sync next time)."""
        keys = await self._scope.keys(tenant_id)
        sealed = (
            None
            if cursor is None
            else keys.seal(cursor, table="calendars", column="sync_cursor", row_id=calendar_id).blob
        )
        result = await self._scope.conn.execute(
            update(calendars)
            .where(calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id)
            .values(sync_cursor=sealed, last_synced_at=synced_at, updated_at=synced_at)
            .returning(calendars.c.id)
        )
        return result.first() is not None

    async def delete(self, tenant_id: TenantId, calendar_id: CalendarId) -> bool:
        result = await self._scope.conn.execute(
            delete(calendars)
            .where(calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id)
            .returning(calendars.c.id)
        )
        return result.first() is not None
