"""Find a connection's calendars: in-scope user mailboxes and every room (issue 4, "Sync").

``discover_calendars`` asks the provider for the mailboxes (all, or the scope's list) and the
rooms (Graph: the Places API), stores new ones, refreshes names and room details of known ones,
marks the ones no longer found as missing (kept with their history, never deleted) and records
mailboxes the tenant's access policy blocks as out of scope with the reason. Every calendar in
scope without a subscription gets one (which also brings its first sync); a calendar that comes
back into scope is synced again. Runs on consent, on a scope change, on demand, and every 24 h
(rooms appear and disappear without a notification).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import structlog

from calhub.domain.calendars import Calendar, CalendarKind, Connection, ConnectionStatus, ScopeKind
from calhub.domain.ids import CalendarId, ConnectionId, TenantId, new_id
from calhub.providers.base import (
    ConsentRevoked,
    CredentialsRejected,
    DiscoveredCalendar,
    ProviderError,
)
from calhub.services.connections import (
    disable_for_rejected_credentials,
    disable_for_revoked_consent,
)
from calhub.services.context import HubContext
from calhub.services.jobs import defer_ensure_subscription, defer_sync

log = structlog.get_logger("calhub.discovery")


@dataclass(frozen=True, slots=True)
class DiscoveryOutcome:
    users: int
    rooms: int
    new: int
    missing: int
    out_of_scope: int


async def discover_calendars(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId
) -> DiscoveryOutcome | None:
    """Bring the connection's calendar list up to date; None when the connection cannot run."""
    async with ctx.uow() as uow:
        connection = await uow.connections.get(tenant_id, connection_id)
    if connection is None or connection.status is not ConnectionStatus.ACTIVE:
        return None
    mailboxes = (
        list(connection.scope.mailboxes) if connection.scope.kind is ScopeKind.MAILBOXES else None
    )
    try:
        provider = await ctx.providers.for_connection(connection)
        found = await provider.discover_calendars(mailboxes=mailboxes)
    except ConsentRevoked as exc:
        await disable_for_revoked_consent(ctx, tenant_id, connection_id, str(exc))
        return None
    except CredentialsRejected as exc:
        await disable_for_rejected_credentials(ctx, tenant_id, connection_id, str(exc))
        return None
    except ProviderError as exc:
        log.warning("discovery_failed", connection_id=str(connection_id), error=type(exc).__name__)
        raise
    return await _store(ctx, connection, found)


async def _store(
    ctx: HubContext, connection: Connection, found: list[DiscoveredCalendar]
) -> DiscoveryOutcome:
    now = ctx.clock.now()
    tenant_id, connection_id = connection.tenant_id, connection.id
    candidates = [
        Calendar(
            id=CalendarId(new_id(now)),
            tenant_id=tenant_id,
            connection_id=connection_id,
            provider_calendar_id=item.provider_calendar_id,
            kind=item.kind,
            owner_email=item.owner_email,
            name=item.name,
            created_at=now,
            updated_at=now,
            room=item.room,
        )
        for item in found
    ]
    refused = {
        item.provider_calendar_id: item.out_of_scope.replace(item.owner_email, "this mailbox")
        for item in found
        if item.out_of_scope
    }
    async with ctx.uow() as uow:
        before = {c.id for c in await uow.calendars.list(tenant_id, connection_id=connection_id)}
        stored = await uow.calendars.upsert_discovered(tenant_id, connection_id, candidates, now)
        present = [c.id for c in stored]
        missing = 0
        for kind in CalendarKind:
            missing += len(
                await uow.calendars.mark_missing(tenant_id, connection_id, kind, present, now)
            )
        needs_subscription: list[Calendar] = []
        returning: list[Calendar] = []
        for calendar in stored:
            reason = refused.get(calendar.provider_calendar_id)
            if reason is not None:
                await uow.calendars.mark_out_of_scope(tenant_id, calendar.id, reason, now)
                continue
            if calendar.out_of_scope_reason is not None:
                await uow.calendars.clear_out_of_scope(tenant_id, calendar.id, now)
                returning.append(calendar)
            if await uow.subscriptions.for_calendar(tenant_id, calendar.id) is None:
                needs_subscription.append(calendar)
        await uow.commit()
    for calendar in needs_subscription:
        await defer_ensure_subscription(ctx.jobs, tenant_id, calendar.id)
    for calendar in returning:
        await defer_sync(ctx.jobs, tenant_id, calendar.id)
    outcome = DiscoveryOutcome(
        users=sum(1 for c in stored if c.kind is CalendarKind.USER),
        rooms=sum(1 for c in stored if c.kind is CalendarKind.ROOM),
        new=sum(1 for c in stored if c.id not in before),
        missing=missing,
        out_of_scope=len(refused),
    )
    log.info("calendars_discovered", connection_id=str(connection_id), **asdict(outcome))
    return outcome
