"""Calendars as an admin sees them: each with its sync status, and "sync it now" on request
(issue 4, "Sync" and "Safety net": per-calendar status is visible in the API and as metrics).

- ``list_calendars`` / ``get_calendar``: the tenant's calendars with their ``CalendarSyncStatus``
  (last notification, last sync, lag, errors, missing or out of scope).
- ``request_sync``: queue a sync pass of one calendar now (``defer_sync``; one already waiting
  absorbs it).
- ``request_discovery``: list the connection's mailboxes and rooms again now (``defer_discovery``).
- ``sync_overview``: every tenant's calendar status and the connections per status, read in two
  queries, for the metrics a scrape exports (workers run elsewhere, so the database is the truth).

Errors: ``CalendarNotFound``; ``ConnectionNotFound`` and ``ConnectionNotReady`` from
``calhub.services.connections``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from calhub.domain.calendars import (
    Calendar,
    CalendarKind,
    CalendarSyncStatus,
    ConnectionStatus,
)
from calhub.domain.ids import CalendarId, ConnectionId, TenantId
from calhub.services.connections import get_connection, require_active
from calhub.services.context import HubContext
from calhub.services.jobs import defer_discovery, defer_sync


class CalendarNotFound(LookupError):
    """No such calendar in the tenant."""


@dataclass(frozen=True, slots=True)
class CalendarWithStatus:
    calendar: Calendar
    status: CalendarSyncStatus


@dataclass(frozen=True, slots=True)
class SyncOverview:
    """Every tenant's calendars' sync status and how many connections are in each status."""

    calendars: Sequence[CalendarSyncStatus]
    connections: Mapping[ConnectionStatus, int]


async def list_calendars(
    ctx: HubContext,
    tenant_id: TenantId,
    *,
    connection_id: ConnectionId | None = None,
    kind: CalendarKind | None = None,
) -> list[CalendarWithStatus]:
    async with ctx.uow() as uow:
        calendars = await uow.calendars.list(tenant_id, connection_id=connection_id, kind=kind)
        statuses = {
            status.calendar_id: status
            for status in await uow.sync_status.list(tenant_id, connection_id=connection_id)
        }
    return [
        CalendarWithStatus(calendar, statuses.get(calendar.id) or _no_status_yet(calendar))
        for calendar in calendars
    ]


async def get_calendar(
    ctx: HubContext, tenant_id: TenantId, calendar_id: CalendarId
) -> CalendarWithStatus:
    async with ctx.uow() as uow:
        calendar = await uow.calendars.get(tenant_id, calendar_id)
        status = await uow.sync_status.get(tenant_id, calendar_id)
    if calendar is None:
        raise CalendarNotFound(f"no calendar {calendar_id} in this tenant")
    return CalendarWithStatus(calendar, status or _no_status_yet(calendar))


async def request_sync(ctx: HubContext, tenant_id: TenantId, calendar_id: CalendarId) -> bool:
    """Queue a sync pass of the calendar; False when one is already waiting (it will read
    every change when it runs). Refused while the connection is not active."""
    found = await get_calendar(ctx, tenant_id, calendar_id)
    require_active(await get_connection(ctx, tenant_id, found.calendar.connection_id))
    return await defer_sync(ctx.jobs, tenant_id, calendar_id) is not None


async def request_discovery(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId
) -> bool:
    """Rediscover the connection's mailboxes and rooms now; False when a discovery is already
    waiting. Refused while the connection is not active."""
    require_active(await get_connection(ctx, tenant_id, connection_id))
    return await defer_discovery(ctx.jobs, tenant_id, connection_id) is not None


async def sync_overview(ctx: HubContext) -> SyncOverview:
    async with ctx.uow() as uow:
        statuses = await uow.sync_status.list(None)
        counts = await uow.connections.count_by_status()
    return SyncOverview(
        calendars=statuses,
        connections={status: counts.get(status, 0) for status in ConnectionStatus},
    )


def _no_status_yet(calendar: Calendar) -> CalendarSyncStatus:
    """A calendar discovered between the two reads has no status row in the snapshot yet."""
    return CalendarSyncStatus(
        calendar_id=calendar.id,
        tenant_id=calendar.tenant_id,
        connection_id=calendar.connection_id,
        kind=calendar.kind,
        last_synced_at=calendar.last_synced_at,
        missing_since=calendar.missing_since,
        out_of_scope_reason=calendar.out_of_scope_reason,
    )
