"""Calendars: owner address and provider id are sealed and found through blind indexes.

Discovery (``upsert_discovered``) inserts new calendars and refreshes known ones by
(connection, provider calendar id), keeping their ids, history and sync state; a calendar that
discovery no longer finds is marked (``mark_missing``), never deleted. A mailbox the provider
refuses is marked out of scope with the reason. Sync progress lives in the same rows but is
read and written by ``SyncStatusRepository``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, bindparam, delete, select, true, update
from sqlalchemy.dialects.postgresql import insert

from calhub.domain.calendars import Calendar, CalendarKind, Connection
from calhub.domain.ids import CalendarId, ConnectionId, DeviceId, TenantId
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.settings_json import settings_from_json
from calhub.storage.mappers import calendar_from_row, calendar_values, connection_from_row
from calhub.storage.repositories.base import Scope, batches
from calhub.storage.repositories.devices import calendar_device_ids
from calhub.storage.repositories.notifications import (
    PendingNotifications,
    pending_from_row,
    pending_summary,
)
from calhub.storage.tables import calendars, connections, join_settings

_SEALED = ("provider_calendar_id", "owner_email", "name", "sync_cursor")
_REFRESHED_BY_DISCOVERY = (
    "provider_calendar_id",
    "kind",
    "owner_email",
    "owner_email_index",
    "name",
    "room_capacity",
    "room_building",
    "room_floor_number",
    "room_floor_label",
    "room_bookable",
    "missing_since",
    "updated_at",
)
_MAX_ATTEMPTS = 3
_CONNECTION = "connection__"  # the label prefix of the connection's columns in ``get_for_sync``


@dataclass(frozen=True, slots=True)
class SyncSubject:
    """What a sync job starts from: the calendar, its connection, the notifications waiting
    for it (None when there are none), the tenant's join settings and the calendar's devices."""

    calendar: Calendar
    connection: Connection
    pending: PendingNotifications | None
    join_settings: JoinSettings
    device_ids: tuple[DeviceId, ...]


class _Prefixed:
    """A joined table's columns in a result row, read under their label prefix."""

    def __init__(self, row: Row[Any], prefix: str) -> None:
        self._mapping = row._mapping
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._mapping[self._prefix + name]


def _sync_subject_statement() -> Select[Any]:
    """``get_for_sync``'s one statement, built once (every sync job runs it)."""
    pending = pending_summary(calendars.c.tenant_id, calendars.c.id).lateral("pending")
    return (
        select(
            calendars,
            *(column.label(_CONNECTION + column.name) for column in connections.columns),
            pending,
            join_settings.c.settings.label("join_settings"),
            calendar_device_ids(calendars.c.tenant_id, calendars.c.id).label("device_ids"),
        )
        .join(
            connections,
            (connections.c.tenant_id == calendars.c.tenant_id)
            & (connections.c.id == calendars.c.connection_id),
        )
        .join(pending, true())
        .outerjoin(join_settings, join_settings.c.tenant_id == calendars.c.tenant_id)
        .where(
            calendars.c.tenant_id == bindparam("tenant_id", type_=calendars.c.tenant_id.type),
            calendars.c.id == bindparam("calendar_id", type_=calendars.c.id.type),
        )
    )


_SYNC_SUBJECT = _sync_subject_statement()


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

    async def get_for_sync(
        self, tenant_id: TenantId, calendar_id: CalendarId
    ) -> SyncSubject | None:
        """The calendar, its connection, its waiting notifications, the tenant's join settings
        and the calendar's devices in one statement: every sync job starts with this read."""
        parameters = {"tenant_id": tenant_id, "calendar_id": calendar_id}
        row = (await self._scope.conn.execute(_SYNC_SUBJECT, parameters)).one_or_none()
        if row is None:
            return None
        connection_row = cast(Row[Any], _Prefixed(row, _CONNECTION))
        blobs = [getattr(row, column) for column in _SEALED]
        keys = await self._scope.keys(
            tenant_id, [*blobs, connection_row.credentials, connection_row.scope]
        )
        return SyncSubject(
            calendar_from_row(row, keys),
            connection_from_row(connection_row, keys),
            pending_from_row(row.waiting, row.newest_id, row.oldest_received_at),
            JoinSettings() if row.join_settings is None else settings_from_json(row.join_settings),
            tuple(DeviceId(device_id) for device_id in row.device_ids),
        )

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

    async def delete(self, tenant_id: TenantId, calendar_id: CalendarId) -> bool:
        result = await self._scope.conn.execute(
            delete(calendars)
            .where(calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id)
            .returning(calendars.c.id)
        )
        return result.first() is not None

    async def upsert_discovered(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        found: Sequence[Calendar],
        now: datetime,
    ) -> Sequence[Calendar]:
        """Insert calendars discovery found for the first time, refresh the names, owners and
        room details of known ones (which are no longer missing); returns the stored calendars.

        Known calendars keep their id, sync cursor, sync state and scope state."""
        if any(c.tenant_id != tenant_id or c.connection_id != connection_id for c in found):
            raise ValueError("discovered calendars must belong to the tenant and connection")
        unique = list({c.provider_calendar_id: c for c in found}.values())
        stored: list[Calendar] = []
        for chunk in batches(unique):
            stored.extend(await self._upsert_chunk(tenant_id, connection_id, chunk, now))
        return stored

    async def _upsert_chunk(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        chunk: Sequence[Calendar],
        now: datetime,
    ) -> Sequence[Calendar]:
        keys = await self._scope.keys(tenant_id)
        pending, done = list(chunk), list[Calendar]()
        for _ in range(_MAX_ATTEMPTS):
            index = {keys.lookup_index("calendar", c.provider_calendar_id): c for c in pending}
            known = await self._scope.conn.execute(
                select(calendars.c.provider_calendar_index, calendars.c.id).where(
                    calendars.c.tenant_id == tenant_id,
                    calendars.c.connection_id == connection_id,
                    calendars.c.provider_calendar_index.in_(list(index)),
                )
            )
            ids = {bytes(row.provider_calendar_index): row.id for row in known}
            pending = [
                dataclasses.replace(c, id=CalendarId(ids.get(key, c.id)), missing_since=None)
                for key, c in index.items()
            ]
            values = insert(calendars).values(
                [calendar_values(c, keys) | {"updated_at": now} for c in pending]
            )
            statement = values.on_conflict_do_update(
                index_elements=[calendars.c.connection_id, calendars.c.provider_calendar_index],
                set_={name: values.excluded[name] for name in _REFRESHED_BY_DISCOVERY},
                # Ciphertexts are bound to the row id: a row that won a concurrent insert
                # under another id is sealed again with that id on the next attempt.
                where=(calendars.c.id == values.excluded.id),
            ).returning(*calendars.columns)
            rows = (await self._scope.conn.execute(statement)).all()
            done.extend(await self._decode(tenant_id, rows))
            written = {row.id for row in rows}
            pending = [c for c in pending if c.id not in written]
            if not pending:
                return done
        raise RuntimeError("calendars kept changing identity while being stored")

    async def mark_missing(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        kind: CalendarKind,
        present: Collection[CalendarId],
        now: datetime,
    ) -> Sequence[CalendarId]:
        """Mark the connection's calendars of ``kind`` not in ``present`` as missing since
        ``now`` (those already missing keep their date); returns the newly marked ids."""
        result = await self._scope.conn.execute(
            update(calendars)
            .where(
                calendars.c.tenant_id == tenant_id,
                calendars.c.connection_id == connection_id,
                calendars.c.kind == kind.value,
                calendars.c.missing_since.is_(None),
                calendars.c.id.not_in(list(present)),
            )
            .values(missing_since=now, updated_at=now)
            .returning(calendars.c.id)
        )
        return sorted(CalendarId(row.id) for row in result)

    async def mark_out_of_scope(
        self, tenant_id: TenantId, calendar_id: CalendarId, reason: str, now: datetime
    ) -> bool:
        """The provider refused this mailbox at ``now`` (``reason`` in words, no personal
        data). Quiet-calendar passes skip it; the full reconciliation retries it a day after
        the latest refusal (``SyncStatusRepository``), so it is never retried hot."""
        result = await self._scope.conn.execute(
            update(calendars)
            .where(calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id)
            .values(
                out_of_scope_reason=reason,
                out_of_scope_since=now,
                updated_at=now,
            )
            .returning(calendars.c.id)
        )
        return result.first() is not None

    async def clear_out_of_scope(
        self, tenant_id: TenantId, calendar_id: CalendarId, now: datetime
    ) -> bool:
        result = await self._scope.conn.execute(
            update(calendars)
            .where(
                calendars.c.tenant_id == tenant_id,
                calendars.c.id == calendar_id,
                calendars.c.out_of_scope_reason.is_not(None),
            )
            .values(out_of_scope_reason=None, out_of_scope_since=None, updated_at=now)
            .returning(calendars.c.id)
        )
        return result.first() is not None
