"""Presence rows: each user calendar's out-of-office state (docs/presence.md).

One row per calendar, written by polls (``lock`` then ``insert``/``update`` in the transaction
that adds the ``presence.changed`` event) and by scheduled flips (``due_flips``: rows whose
``next_flip_at`` has come, locked with ``FOR UPDATE SKIP LOCKED`` so several workers share them
and each flip happens once). A row whose mailbox was never read holds ``reply_status``
``unknown`` and the failure in ``last_error``.

Cross-tenant queries of the periodic poll: ``pollable_count`` and ``due_for_poll`` (user
calendars of active connections, present and in scope, never checked or checked long enough ago,
longest-waiting first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, Select, and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert

from calhub.domain.calendars import CalendarKind, ConnectionStatus
from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.presence import AutomaticReplies, PresenceState, ReplyStatus
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import calendars, connections, presence

UNKNOWN_STATUS: Final = "unknown"  # no read has succeeded yet
_STATE_COLUMNS: Final = (
    "reply_status",
    "scheduled_start_at",
    "scheduled_end_at",
    "out_of_office",
    "changed_at",
    "checked_at",
    "next_flip_at",
    "last_error",
)


@dataclass(frozen=True, slots=True)
class DuePoll:
    tenant_id: TenantId
    calendar_id: CalendarId


def _state(row: Row[Any]) -> PresenceState:
    replies = None
    if row.reply_status != UNKNOWN_STATUS:
        replies = AutomaticReplies(
            ReplyStatus(row.reply_status), row.scheduled_start_at, row.scheduled_end_at
        )
    return PresenceState(
        calendar_id=CalendarId(row.calendar_id),
        tenant_id=TenantId(row.tenant_id),
        replies=replies,
        out_of_office=row.out_of_office,
        changed_at=row.changed_at,
        checked_at=row.checked_at,
        next_flip_at=row.next_flip_at,
        last_error=row.last_error,
    )


def _values(state: PresenceState) -> dict[str, Any]:
    replies = state.replies
    return {
        "reply_status": UNKNOWN_STATUS if replies is None else replies.status.value,
        "scheduled_start_at": None if replies is None else replies.start,
        "scheduled_end_at": None if replies is None else replies.end,
        "out_of_office": state.out_of_office,
        "changed_at": state.changed_at,
        "checked_at": state.checked_at,
        "next_flip_at": state.next_flip_at,
        "last_error": state.last_error,
    }


class PresenceRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def get(self, tenant_id: TenantId, calendar_id: CalendarId) -> PresenceState | None:
        return await self._one(tenant_id, calendar_id, lock=False)

    async def lock(self, tenant_id: TenantId, calendar_id: CalendarId) -> PresenceState | None:
        """The row, locked until the transaction ends (a poll's read-decide-write)."""
        return await self._one(tenant_id, calendar_id, lock=True)

    async def _one(
        self, tenant_id: TenantId, calendar_id: CalendarId, *, lock: bool
    ) -> PresenceState | None:
        query = select(presence).where(
            presence.c.tenant_id == tenant_id, presence.c.calendar_id == calendar_id
        )
        row = (await self._scope.conn.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else _state(row)

    async def insert(self, state: PresenceState) -> bool:
        """Add the first row of a calendar; False when a concurrent poll added it first."""
        result = await self._scope.conn.execute(
            insert(presence)
            .values(calendar_id=state.calendar_id, tenant_id=state.tenant_id, **_values(state))
            .on_conflict_do_nothing(index_elements=[presence.c.calendar_id])
            .returning(presence.c.calendar_id)
        )
        return result.first() is not None

    async def update(self, states: Sequence[PresenceState]) -> None:
        if not states:
            return
        statement = (
            update(presence)
            .where(
                presence.c.tenant_id == bindparam("key_tenant_id"),
                presence.c.calendar_id == bindparam("key_calendar_id"),
            )
            .values({name: bindparam(f"new_{name}") for name in _STATE_COLUMNS})
        )
        await self._scope.conn.execute(
            statement,
            [
                {"key_tenant_id": s.tenant_id, "key_calendar_id": s.calendar_id}
                | {f"new_{name}": value for name, value in _values(s).items()}
                for s in states
            ],
        )

    async def due_flips(self, now: datetime, limit: int) -> list[PresenceState]:
        """Every tenant's rows whose scheduled flip has come, soonest first, locked; rows
        another worker holds are skipped (it flips them)."""
        rows = await self._scope.conn.execute(
            select(presence)
            .where(presence.c.next_flip_at <= now)
            .order_by(presence.c.next_flip_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_state(row) for row in rows]

    async def pollable_count(self) -> int:
        query = _pollable().with_only_columns(func.count())
        return int((await self._scope.conn.execute(query)).scalar_one())

    async def due_for_poll(self, checked_by: datetime, limit: int) -> list[DuePoll]:
        """Pollable calendars never checked or last checked at or before ``checked_by``,
        oldest first."""
        query = (
            _pollable()
            .where(presence.c.checked_at.is_(None) | (presence.c.checked_at <= checked_by))
            .order_by(presence.c.checked_at.asc().nulls_first(), calendars.c.id)
            .limit(limit)
        )
        rows = await self._scope.conn.execute(query)
        return [DuePoll(TenantId(row.tenant_id), CalendarId(row.id)) for row in rows]


def _pollable() -> Select[Any]:
    return (
        select(calendars.c.tenant_id, calendars.c.id)
        .join(
            connections,
            and_(
                connections.c.tenant_id == calendars.c.tenant_id,
                connections.c.id == calendars.c.connection_id,
            ),
        )
        .outerjoin(presence, presence.c.calendar_id == calendars.c.id)
        .where(
            connections.c.status == ConnectionStatus.ACTIVE.value,
            calendars.c.kind == CalendarKind.USER.value,
            calendars.c.missing_since.is_(None),
            calendars.c.out_of_scope_reason.is_(None),
        )
    )
