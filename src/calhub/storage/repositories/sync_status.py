"""Per-calendar sync state: last notification, last sync, lag, errors; and the safety-net
queries that find calendars to sync without being told (issue 4, "Safety net").

The state lives in ``calendars`` rows; none of it is sensitive (``last_error`` is a sentence the
sync code writes without personal data). ``quiet_calendars`` and ``due_for_reconciliation`` run
across tenants for the periodic jobs; they skip missing calendars and connections that are not
active, and the quiet-calendar pass skips mailboxes out of scope, which only the daily
reconciliation retries. ``recently_pushed_calendars`` is the sooner check for providers whose
pushes may be lost without a word.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    Update,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.sql.dml import ReturningUpdate

from calhub.domain.calendars import CalendarSyncStatus, ConnectionStatus
from calhub.domain.ids import CalendarId, ConnectionId, DeviceId, TenantId
from calhub.storage.mappers import sync_status_from_row
from calhub.storage.repositories.base import Scope, column_arrays, unnested_rows
from calhub.storage.repositories.devices import calendar_device_ids
from calhub.storage.repositories.mirror import StalePlan
from calhub.storage.repositories.notifications import mark_processed_statement
from calhub.storage.tables import calendars, connections

_STATUS_COLUMNS = (
    calendars.c.id,
    calendars.c.tenant_id,
    calendars.c.connection_id,
    calendars.c.kind,
    calendars.c.last_synced_at,
    calendars.c.last_full_sync_at,
    calendars.c.last_notification_at,
    calendars.c.last_change_seen_at,
    calendars.c.sync_lag_seconds,
    calendars.c.last_error,
    calendars.c.last_error_at,
    calendars.c.consecutive_failures,
    calendars.c.missing_since,
    calendars.c.out_of_scope_reason,
)


@dataclass(frozen=True, slots=True)
class DueCalendar:
    """A calendar a periodic job should sync, with what it needs to enqueue that sync."""

    tenant_id: TenantId
    connection_id: ConnectionId
    calendar_id: CalendarId


def _never() -> ColumnElement[datetime]:
    return cast(literal("-infinity"), calendars.c.last_synced_at.type)


NOTIFICATION_TIME_GRAIN: Final = timedelta(seconds=30)
"""How stale a calendar's ``last_notification_at`` may be (the safety net counts in minutes)."""

_NOTHING_ANSWERED: Final = 0
"""``answered_through`` of a pass that answers no notification (inbox ids start at 1)."""


def _record_sync_statement() -> ReturningUpdate[Any]:
    """``record_sync``'s one statement, built once (every sync pass runs it): the calendar's
    row, the notifications the pass answers (a data-modifying CTE) and the calendar's devices
    returned. Parameters are not named as columns (an UPDATE reserves those names)."""
    synced_at = bindparam("synced_at", type_=calendars.c.last_synced_at.type)
    full = bindparam("full", type_=Boolean())
    return (
        update(calendars)
        .where(
            calendars.c.tenant_id == bindparam("of_tenant", type_=calendars.c.tenant_id.type),
            calendars.c.id == bindparam("of_calendar", type_=calendars.c.id.type),
        )
        .values(
            sync_cursor=bindparam("cursor", type_=calendars.c.sync_cursor.type),
            last_synced_at=synced_at,
            updated_at=synced_at,
            consecutive_failures=0,
            last_error=None,
            out_of_scope_reason=None,
            out_of_scope_since=None,
            last_full_sync_at=case((full, synced_at), else_=calendars.c.last_full_sync_at),
            last_change_seen_at=func.coalesce(
                bindparam("change_seen_at", type_=calendars.c.last_change_seen_at.type),
                calendars.c.last_change_seen_at,
            ),
            sync_lag_seconds=func.coalesce(
                bindparam("lag_seconds", type_=calendars.c.sync_lag_seconds.type),
                calendars.c.sync_lag_seconds,
            ),
        )
        .returning(calendar_device_ids(calendars.c.tenant_id, calendars.c.id))
        .add_cte(mark_processed_statement().cte("processed"))
    )


_RECORD_SYNC = _record_sync_statement()


def _record_notifications_statement() -> Update:
    """``record_notifications``' statement, built once (every intake group runs it). Rows are
    locked in id order first: an UPDATE locks in scan order, which differs between concurrent
    POSTs for overlapping calendars and deadlocked them. The lock is the UPDATE's own (``FOR NO
    KEY UPDATE``): ``FOR UPDATE`` would also wait for the key-share locks a sync transaction
    holds on the calendars whose events it stored, and deadlocked with a group of syncs
    (``sync.engine.SyncApplier``) that took them in another order.

    A calendar whose last notification is less than ``NOTIFICATION_TIME_GRAIN`` old is left
    alone, before it is locked: a sync pass writes the same row (``record_sync``), and every
    intake group that wrote it made the calendar's sync wait for the group's commit, and the
    group for the sync's."""
    named = unnested_rows(calendars, ["tenant_id", "id"]).subquery()
    stale_before = bindparam("stale_before", type_=calendars.c.last_notification_at.type)
    locked = (
        select(calendars.c.id)
        .join(named, (calendars.c.id == named.c.id) & (calendars.c.tenant_id == named.c.tenant_id))
        .where(
            or_(
                calendars.c.last_notification_at.is_(None),
                calendars.c.last_notification_at < stale_before,
            )
        )
        .order_by(calendars.c.id)
        .with_for_update(of=calendars, key_share=True)
        .subquery()
    )
    at = bindparam("at", type_=calendars.c.last_notification_at.type)
    return (
        update(calendars)
        .where(calendars.c.id == locked.c.id)
        .values(
            last_notification_at=func.greatest(
                func.coalesce(calendars.c.last_notification_at, at), at
            )
        )
    )


_RECORD_NOTIFICATIONS = _record_notifications_statement()


class SyncStatusRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def get(self, tenant_id: TenantId, calendar_id: CalendarId) -> CalendarSyncStatus | None:
        query: Select[Any] = select(*_STATUS_COLUMNS).where(
            calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id
        )
        row = (await self._scope.conn.execute(query)).one_or_none()
        return None if row is None else sync_status_from_row(row)

    async def list(
        self, tenant_id: TenantId | None, *, connection_id: ConnectionId | None = None
    ) -> Sequence[CalendarSyncStatus]:
        """The tenant's calendars' status (every tenant's with None: metrics export)."""
        query: Select[Any] = select(*_STATUS_COLUMNS).order_by(
            calendars.c.tenant_id, calendars.c.id
        )
        if tenant_id is not None:
            query = query.where(calendars.c.tenant_id == tenant_id)
        if connection_id is not None:
            query = query.where(calendars.c.connection_id == connection_id)
        return [sync_status_from_row(row) for row in await self._scope.conn.execute(query)]

    async def record_notifications(
        self, received: Sequence[tuple[TenantId, CalendarId]], at: datetime
    ) -> None:
        """Notifications for these calendars arrived at ``at`` (one UPDATE per intake POST).
        A calendar keeps an earlier time when it is less than ``NOTIFICATION_TIME_GRAIN`` older
        (see ``_record_notifications_statement``).

        The pairs come from the subscriptions the intake matched, across tenants. They are
        joined as rows, so each calendar is found by its id and tenant together: a predicate on
        the tenant alone would offer the planner the tenant's whole index, which it took on
        every POST while statistics were still thin."""
        if not received:
            return
        pairs = [{"tenant_id": t, "id": c} for t, c in sorted(set(received))]
        await self._scope.conn.execute(
            _RECORD_NOTIFICATIONS,
            {
                "at": at,
                "stale_before": at - NOTIFICATION_TIME_GRAIN,
                **column_arrays(pairs, ["tenant_id", "id"]),
            },
        )

    async def record_sync(
        self,
        tenant_id: TenantId,
        calendar_id: CalendarId,
        synced_at: datetime,
        *,
        cursor: str,
        full: bool,
        change_seen_at: datetime | None = None,
        answered_through: int | None = None,
        devices_seen: Sequence[DeviceId] | None = None,
    ) -> bool:
        """A sync pass finished at ``synced_at`` and reached ``cursor`` (the provider's delta
        token, stored sealed): failures reset, a mailbox marked out of scope is back in scope.
        ``change_seen_at`` is when the oldest change it applied was first reported; it sets the
        lag. ``answered_through``: the newest of the notifications the pass answers, marked
        processed with it (``notifications.mark_processed_statement``). ``devices_seen``: the
        calendar's devices the pass told of its changes, read before its transaction;
        ``StalePlan`` when they are no longer the calendar's devices. One statement, in the
        transaction that applied the pass."""
        keys = await self._scope.keys(tenant_id)
        sealed = keys.seal(cursor, table="calendars", column="sync_cursor", row_id=calendar_id)
        lag = None if change_seen_at is None else (synced_at - change_seen_at).total_seconds()
        parameters = {
            "of_tenant": tenant_id,
            "of_calendar": calendar_id,
            "synced_at": synced_at,
            "cursor": sealed.blob,
            "full": full,
            "change_seen_at": change_seen_at,
            "lag_seconds": None if lag is None else max(0.0, lag),
            "answered_through": _NOTHING_ANSWERED if answered_through is None else answered_through,
        }
        devices_now = (
            await self._scope.conn.execute(_RECORD_SYNC, parameters)
        ).scalar_one_or_none()
        if devices_now is None:
            return False
        if devices_seen is not None and list(devices_now) != list(devices_seen):
            raise StalePlan("the calendar's devices changed during the sync pass")
        return True

    async def record_failure(
        self, tenant_id: TenantId, calendar_id: CalendarId, error: str, at: datetime
    ) -> int | None:
        """A sync pass failed; ``error`` must be words without personal data. Returns the
        failures in a row now (None: no such calendar)."""
        values = {
            "last_error": error,
            "last_error_at": at,
            "consecutive_failures": calendars.c.consecutive_failures + 1,
        }
        return await self._update(tenant_id, calendar_id, values)

    async def _update(
        self, tenant_id: TenantId, calendar_id: CalendarId, values: dict[str, Any]
    ) -> int | None:
        """Update the calendar's row; returns its failures in a row, None when not found."""
        result = await self._scope.conn.execute(
            update(calendars)
            .where(calendars.c.tenant_id == tenant_id, calendars.c.id == calendar_id)
            .values(values)
            .returning(calendars.c.consecutive_failures)
        )
        failures: int | None = result.scalar_one_or_none()
        return failures

    async def quiet_calendars(self, before: datetime, limit: int) -> Sequence[DueCalendar]:
        """Calendars with neither a notification nor a sync since ``before``, longest first."""
        last_heard = func.greatest(
            func.coalesce(calendars.c.last_notification_at, _never()),
            func.coalesce(calendars.c.last_synced_at, _never()),
        )
        query = _eligible().where(last_heard < before, calendars.c.out_of_scope_reason.is_(None))
        return await self._due(query.order_by(last_heard, calendars.c.id).limit(limit))

    async def recently_pushed_calendars(
        self,
        providers: Collection[str],
        now: datetime,
        *,
        first_check_after: timedelta,
        within: timedelta,
        limit: int,
    ) -> Sequence[DueCalendar]:
        """Calendars of ``providers`` (whose pushes may be lost unreported) with a notification
        within ``within`` of ``now`` that are due for a check: their last sync is at least as old
        as it was after that notification (and ``first_check_after``), so checks come 1, 2, 4,
        8... times ``first_check_after`` after the last push. Longest-waiting first."""
        last_synced = calendars.c.last_synced_at
        wait = func.greatest(
            literal(first_check_after), last_synced - calendars.c.last_notification_at
        )
        query = _eligible().where(
            connections.c.provider.in_(list(providers)),
            calendars.c.last_notification_at > now - within,
            or_(last_synced.is_(None), last_synced + wait <= now),
            calendars.c.out_of_scope_reason.is_(None),
        )
        longest_waiting = func.coalesce(last_synced, _never())
        return await self._due(query.order_by(longest_waiting, calendars.c.id).limit(limit))

    async def due_for_reconciliation(self, before: datetime, limit: int) -> Sequence[DueCalendar]:
        """Calendars whose last full sync is older than ``before`` (or never happened),
        including mailboxes last refused before ``before``; longest-waiting first."""
        last_full = func.coalesce(calendars.c.last_full_sync_at, _never())
        query = _eligible().where(
            last_full < before,
            or_(
                calendars.c.out_of_scope_reason.is_(None),
                calendars.c.out_of_scope_since < before,
            ),
        )
        return await self._due(query.order_by(last_full, calendars.c.id).limit(limit))

    async def _due(self, query: Select[Any]) -> Sequence[DueCalendar]:
        return [
            DueCalendar(
                TenantId(row.tenant_id), ConnectionId(row.connection_id), CalendarId(row.id)
            )
            for row in await self._scope.conn.execute(query)
        ]


def _eligible() -> Select[Any]:
    return (
        select(calendars.c.tenant_id, calendars.c.connection_id, calendars.c.id)
        .join(
            connections,
            and_(
                connections.c.tenant_id == calendars.c.tenant_id,
                connections.c.id == calendars.c.connection_id,
            ),
        )
        .where(
            connections.c.status == ConnectionStatus.ACTIVE.value,
            calendars.c.missing_since.is_(None),
        )
    )
