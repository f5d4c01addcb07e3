"""Periodic upkeep of the sync machinery: rooms rediscovered every day, processed notifications
and spent consent states pruned (issue 4, "Sync")."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from calhub.services.context import HubContext
from calhub.services.jobs import defer_discovery

KEEP_PROCESSED_NOTIFICATIONS: Final = timedelta(days=1)


async def rediscover_all(ctx: HubContext) -> int:
    """Queue discovery for every active connection (rooms change without notifications)."""
    async with ctx.uow() as uow:
        active = await uow.connections.active()
    for tenant_id, connection_id in active:
        await defer_discovery(ctx.jobs, tenant_id, connection_id)
    return len(active)


async def prune(ctx: HubContext) -> tuple[int, int]:
    """Delete notifications processed over a day ago and expired consent states."""
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        notifications = await uow.notifications.prune_processed(now - KEEP_PROCESSED_NOTIFICATIONS)
        states = await uow.consent_states.delete_expired(now)
        await uow.commit()
    return notifications, states
