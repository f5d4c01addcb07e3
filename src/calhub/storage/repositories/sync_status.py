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
    BigInteger,
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
from sqlalchemy.dialects.postgresql import ARRAY
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
class SyncDone:
    """What a finished sync pass records (``record_syncs``): the ``cursor`` it reached; whether
    it was ``full``; ``change_seen_at``, when the oldest change it applied was first reported
    (it sets the lag); ``answered_through``, the newest of the notifications it answers, marked
    processed with it; ``devices_seen``, the calendar's devices it told of its changes, read
    before its transaction (None: read in it)."""

    calendar_id: CalendarId
    cursor: str
    full: bool
    change_seen_at: datetime | None = None
    answered_through: int | None = None
    devices_seen: Sequence[DeviceId] | None = None

    def lag_seconds(self, synced_at: datetime) -> float | None:
        if self.change_seen_at is None:
            return None
        return max(0.0, (synced_at - self.change_seen_at).total_seconds())


@dataclass(frozen=True, slots=True)
class DueCalendar:
    """A calendar a periodic job should sync, with what it needs to enqueue that sync."""

    tenant_id: TenantId
    connection_id: ConnectionId
    calendar_id: CalendarId


def _never() -> ColumnElement[datetime]:
    return cast(literal("-infinity"), calendars.c.last_synced_at.type)


_NOTHING_ANSWERED: Final = 0
"""``answered_through`` of a pass that answers no notification (inbox ids start at 1)."""


def _record_syncs_statement() -> ReturningUpdate[Any]:
    """``record_syncs``' one statement, built once (every group of sync passes runs it): the
    calendars' rows, the notifications the passes answer (a data-modifying CTE) and each
    calendar's devices returned. The passes travel as one array per column. Rows are locked in
    id order first, with the UPDATE's own lock, as ``record_notifications`` does, so the two
    never wait for each other in a circle. Parameters are not named as columns (an UPDATE
    reserves those names)."""
    tenant = bindparam("of_tenant", type_=calendars.c.tenant_id.type)
    synced_at = bindparam("synced_at", type_=calendars.c.last_synced_at.type)
    passes = select(
        tenant.label("tenant_id"),
        *(
            func.unnest(bindparam(name, type_=ARRAY(type_))).label(label)
            for name, type_, label in (
                ("of_calendars", calendars.c.id.type, "id"),
                ("cursors", calendars.c.sync_cursor.type, "cursor"),
                ("fulls", Boolean(), "full"),
                ("changes_seen_at", calendars.c.last_change_seen_at.type, "change_seen_at"),
                ("lags_seconds", calendars.c.sync_lag_seconds.type, "lag_seconds"),
                ("answered_through", BigInteger(), "answered_through"),
            )
        ),
    ).cte("passes")
    # Rows found by (tenant, id) pairs: a bare predicate on the tenant would offer the planner
    # the tenant's whole index, which it took while statistics were thin.
    mine = (calendars.c.tenant_id == passes.c.tenant_id) & (calendars.c.id == passes.c.id)
    locked = (
        select(calendars.c.id)
        .join(passes, mine)
        .order_by(calendars.c.id)
        .with_for_update(of=calendars, key_share=True)
        .subquery()
    )
    return (
        update(calendars)
        .where(mine, calendars.c.id == locked.c.id)
        .values(
            sync_cursor=passes.c.cursor,
            last_synced_at=synced_at,
            updated_at=synced_at,
            consecutive_failures=0,
            last_error=None,
            out_of_scope_reason=None,
            out_of_scope_since=None,
            last_full_sync_at=case((passes.c.full, synced_at), else_=calendars.c.last_full_sync_at),
            last_change_seen_at=func.coalesce(
                passes.c.change_seen_at, calendars.c.last_change_seen_at
            ),
            sync_lag_seconds=func.coalesce(passes.c.lag_seconds, calendars.c.sync_lag_seconds),
        )
        .returning(
            calendars.c.id,
            calendar_device_ids(calendars.c.tenant_id, calendars.c.id).label("device_ids"),
        )
        .add_cte(mark_processed_statement(passes).cte("processed"))
    )


_RECORD_SYNCS = _record_syncs_statement()


def _record_notifications_statement() -> Update:
    """``record_notifications``' statement, built once (every intake group runs it). Rows are
    locked in id order first: an UPDATE locks in scan order, which differs between concurrent
    POSTs for overlapping calendars and deadlocked them. The lock is the UPDATE's own (``FOR NO
    KEY UPDATE``): ``FOR UPDATE`` would also wait for the key-share locks a sync transaction
    holds on the calendars whose events it stored, and deadlocked with a group of syncs
    (``sync.engine.SyncApplier``) that took them in another order."""
    named = unnested_rows(calendars, ["tenant_id", "id"]).subquery()
    locked = (
        select(calendars.c.id)
        .join(named, (calendars.c.id == named.c.id) & (calendars.c.tenant_id == named.c.tenant_id))
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

        The pairs come from the subscriptions the intake matched, across tenants. They are
        joined as rows, so each calendar is found by its id and tenant together: a predicate on
        the tenant alone would offer the planner the tenant's whole index, which it took on
        every POST while statistics were still thin."""
        if not received:
            return
        pairs = [{"tenant_id": t, "id": c} for t, c in sorted(set(received))]
        await self._scope.conn.execute(
            _RECORD_NOTIFICATIONS, {"at": at, **column_arrays(pairs, ["tenant_id", "id"])}
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
        """``record_syncs`` for one pass; False when the calendar no longer exists."""
        done = SyncDone(calendar_id, cursor, full, change_seen_at, answered_through, devices_seen)
        return calendar_id in await self.record_syncs(tenant_id, synced_at, [done])

    async def record_syncs(
        self, tenant_id: TenantId, synced_at: datetime, passes: Sequence[SyncDone]
    ) -> set[CalendarId]:
        """Sync passes of the tenant's calendars (each once) finished at ``synced_at``: each
        calendar's cursor (the provider's delta token, stored sealed), its lag and the
        notifications its pass answers (marked processed) as ``SyncDone`` says; failures reset,
        a mailbox marked out of scope is back in scope. ``StalePlan`` when a calendar's devices
        are no longer those its pass told (``SyncDone.devices_seen``). One statement, in the
        transaction that applied the passes; returns the calendars found."""
        if not passes:
            return set()
        keys = await self._scope.keys(tenant_id)
        rows = [
            {
                "of_calendars": done.calendar_id,
                "cursors": keys.seal(
                    done.cursor, table="calendars", column="sync_cursor", row_id=done.calendar_id
                ).blob,
                "fulls": done.full,
                "changes_seen_at": done.change_seen_at,
                "lags_seconds": done.lag_seconds(synced_at),
                "answered_through": (
                    _NOTHING_ANSWERED if done.answered_through is None else done.answered_through
                ),
            }
            for done in passes
        ]
        parameters = {
            "of_tenant": tenant_id,
            "synced_at": synced_at,
            **{name: [row[name] for row in rows] for name in rows[0]},
        }
        devices_now = {
            CalendarId(row.id): list(row.device_ids)
            for row in await self._scope.conn.execute(_RECORD_SYNCS, parameters)
        }
        for done in passes:
            seen = done.devices_seen
            found = devices_now.get(done.calendar_id)
            if seen is not None and found is not None and found != list(seen):
                raise StalePlan("the calendar's devices changed during the sync pass")
        return set(devices_now)

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
