"""The outbox of join-block writes (docs/joinlinks.md, "Write-back").

A sync adds a row for each invite that may need its join block written or removed, in the
transaction that mirrors the invite, so a decision exists exactly when the mirror it came from
was committed. A worker claims one due row with ``FOR UPDATE SKIP LOCKED`` and keeps its
transaction open while it edits the invite: the row lock is the lease, released by PostgreSQL
the moment the worker's connection dies, so a killed worker's write is taken up by the next
drain with nothing lost, and the change-key check on the provider keeps it from being doubled.

States: ``pending`` (due at ``not_before``), ``done`` (written, removed or nothing needed; the
outcome says which) and ``failed`` (given up; the outcome says why). Rows hold ids and states,
never invite content.

``list`` shows a tenant's rows to its admin newest first, a page at a time: the next page starts
after the last id shown (Stripe's ``starting_after``), so rows queued meanwhile never shift it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, literal, select, update

from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.storage.repositories.base import Scope, column_arrays, unnested_rows
from calhub.storage.tables import join_writes


class JoinWriteState(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class JoinWrite:
    id: int
    tenant_id: TenantId
    calendar_id: CalendarId
    event_id: EventId
    provider_event_id: str
    state: JoinWriteState
    attempts: int
    not_before: datetime
    created_at: datetime
    updated_at: datetime
    outcome: str | None
    written_change_key: str | None


def _write(row: Row[Any]) -> JoinWrite:
    return JoinWrite(
        id=row.id,
        tenant_id=TenantId(row.tenant_id),
        calendar_id=CalendarId(row.calendar_id),
        event_id=EventId(row.event_id),
        provider_event_id=row.provider_event_id,
        state=JoinWriteState(row.state),
        attempts=row.attempts,
        not_before=row.not_before,
        created_at=row.created_at,
        updated_at=row.updated_at,
        outcome=row.outcome,
        written_change_key=row.written_change_key,
    )


_NEW_COLUMNS = ("event_id", "provider_event_id")


class JoinWritesRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add(
        self,
        tenant_id: TenantId,
        calendar_id: CalendarId,
        events: Sequence[tuple[EventId, str]],
        now: datetime,
    ) -> int:
        """Queue a write for each (event id, provider event id) that has none pending; returns
        how many were queued."""
        if not events:
            return 0
        wanted = unnested_rows(join_writes, _NEW_COLUMNS).cte("wanted")
        pending = (
            select(join_writes.c.id)
            .where(
                join_writes.c.tenant_id == tenant_id,
                join_writes.c.event_id == wanted.c.event_id,
                join_writes.c.state == JoinWriteState.PENDING.value,
            )
            .exists()
        )
        rows = select(
            literal(tenant_id).label("tenant_id"),
            literal(calendar_id).label("calendar_id"),
            wanted.c.event_id,
            wanted.c.provider_event_id,
            literal(JoinWriteState.PENDING.value).label("state"),
            literal(now).label("not_before"),
            literal(now).label("created_at"),
            literal(now).label("updated_at"),
        ).where(~pending)
        statement = (
            insert(join_writes)
            .from_select(
                [
                    "tenant_id",
                    "calendar_id",
                    "event_id",
                    "provider_event_id",
                    "state",
                    "not_before",
                    "created_at",
                    "updated_at",
                ],
                rows,
            )
            .returning(join_writes.c.id)
        )
        values = [{"event_id": e, "provider_event_id": p} for e, p in events]
        result = await self._scope.conn.execute(statement, column_arrays(values, _NEW_COLUMNS))
        return len(result.all())

    async def written_change_keys(
        self, tenant_id: TenantId, event_ids: Sequence[EventId]
    ) -> dict[EventId, str]:
        """For each event, the change key its invite got from calhub's latest write (if any):
        an invite still carrying it has not been edited since calhub wrote it."""
        rows = await self._scope.conn.execute(
            select(join_writes.c.event_id, join_writes.c.written_change_key)
            .where(
                join_writes.c.tenant_id == tenant_id,
                join_writes.c.event_id.in_(event_ids),
                join_writes.c.written_change_key.is_not(None),
            )
            .order_by(join_writes.c.id)
        )
        return {EventId(row.event_id): row.written_change_key for row in rows}  # latest wins

    async def claim_due(self, now: datetime) -> JoinWrite | None:
        """The oldest due pending write no other worker holds, locked until this unit of work
        ends (the lease described in the module docstring)."""
        row = (
            await self._scope.conn.execute(
                select(join_writes)
                .where(
                    join_writes.c.state == JoinWriteState.PENDING.value,
                    join_writes.c.not_before <= now,
                )
                .order_by(join_writes.c.not_before, join_writes.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).one_or_none()
        return None if row is None else _write(row)

    async def finish(
        self,
        write_id: int,
        state: JoinWriteState,
        outcome: str,
        now: datetime,
        *,
        written_change_key: str | None = None,
    ) -> None:
        await self._scope.conn.execute(
            update(join_writes)
            .where(join_writes.c.id == write_id)
            .values(
                state=state.value,
                outcome=outcome,
                updated_at=now,
                attempts=join_writes.c.attempts + 1,
                written_change_key=written_change_key,
            )
        )

    async def retry_later(
        self, write_id: int, outcome: str, not_before: datetime, now: datetime
    ) -> None:
        await self._scope.conn.execute(
            update(join_writes)
            .where(join_writes.c.id == write_id)
            .values(
                outcome=outcome,
                not_before=not_before,
                updated_at=now,
                attempts=join_writes.c.attempts + 1,
            )
        )

    async def for_event(self, tenant_id: TenantId, event_id: EventId) -> list[JoinWrite]:
        rows = await self._scope.conn.execute(
            select(join_writes)
            .where(join_writes.c.tenant_id == tenant_id, join_writes.c.event_id == event_id)
            .order_by(join_writes.c.id)
        )
        return [_write(row) for row in rows]

    async def list(
        self,
        tenant_id: TenantId,
        *,
        state: JoinWriteState | None = None,
        after_id: int | None = None,
        limit: int,
    ) -> Sequence[JoinWrite]:
        """The tenant's writes (in ``state`` if given), newest first: at most ``limit`` of those
        older than ``after_id`` (the last id of the previous page), from the newest if None."""
        query = select(join_writes).where(join_writes.c.tenant_id == tenant_id)
        if state is not None:
            query = query.where(join_writes.c.state == state.value)
        if after_id is not None:
            query = query.where(join_writes.c.id < after_id)
        rows = await self._scope.conn.execute(query.order_by(join_writes.c.id.desc()).limit(limit))
        return [_write(row) for row in rows]
