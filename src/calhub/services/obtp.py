"""One Button To Push: fire join prompts when due, keep the schedule reaching the horizon, and
reconcile a calendar's or a tenant's prompts on demand (issue 6, "OBTP"; docs/obtp.md).

- ``fire_due_prompts(hub)``: one dispatcher tick. Claims up to ``FIRE_BATCH`` due prompts of any
  tenant (``FOR UPDATE SKIP LOCKED``, oldest fire time first), marks them sent and adds one
  ``obtp.join`` outbox event each, in one statement and transaction: a worker that dies
  mid-batch leaves its rows due for another, so each prompt goes out exactly once. A prompt
  whose meeting ended before any dispatcher reached it is dropped, not sent.
- ``next_prompt_due(hub)``: when the next one is due, for the dispatcher's sleep.
- ``extend_prompt_horizon(hub)``: every calendar with devices, reconciled (periodic, every 10
  minutes): occurrences entering the 48-hour horizon get their prompts, and whatever a lost
  change left behind is put right.
- ``reconcile_tenant_prompts``: the same for one tenant (after its meeting settings change).
- ``reconcile_calendar_prompts(uow, ...)``: one calendar, in the caller's transaction (after a
  device is added or removed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import groupby
from typing import Final

import structlog

from calhub.domain.clock import Clock
from calhub.domain.ids import CalendarId, TenantId
from calhub.services.context import HubContext
from calhub.storage.repositories.base import batches
from calhub.storage.unit_of_work import UnitOfWorkFactory
from calhub.sync.prompts import PromptChanges, reconcile_calendar_prompts, reconcile_prompts

__all__ = [
    "FIRE_BATCH",
    "PromptChanges",
    "extend_prompt_horizon",
    "fire_due_prompts",
    "next_prompt_due",
    "reconcile_calendar_prompts",
    "reconcile_tenant_prompts",
]

FIRE_BATCH: Final = 2000
CALENDARS_PER_TRANSACTION: Final = 50

log = structlog.get_logger("calhub.obtp")


async def fire_due_prompts(hub: HubContext, limit: int = FIRE_BATCH) -> int:
    """Send the due prompts (up to ``limit``); returns how many were taken."""
    async with hub.uow() as uow:
        fired = await uow.join_prompts.fire_due(hub.clock.now(), limit)
        for tenant_id in fired.tenant_ids:
            await uow.outbox.notify(tenant_id)
        await uow.commit()
    if dropped := fired.taken - fired.sent:
        log.warning("join_prompts_dropped", dropped=dropped, reason="meeting ended")
    return fired.taken


async def next_prompt_due(hub: HubContext) -> datetime | None:
    """The earliest fire time of a scheduled prompt, None when nothing is scheduled."""
    async with hub.uow.reading() as uow:
        return await uow.join_prompts.next_fire_at()


async def extend_prompt_horizon(hub: HubContext) -> PromptChanges:
    """Reconcile every calendar that has devices, of every tenant."""
    async with hub.uow.reading() as uow:
        calendars = await uow.join_prompts.calendars_with_devices(None)
    total = PromptChanges()
    for tenant_id, group in groupby(calendars, key=lambda pair: pair[0]):
        ids = [calendar_id for _, calendar_id in group]
        total += await _reconcile_in_batches(hub.uow, hub.clock, tenant_id, ids)
    if total.created or total.withdrawn:
        log.info(
            "join_prompt_horizon",
            created=total.created,
            deleted=total.deleted,
            withdrawn=total.withdrawn,
        )
    return total


async def reconcile_tenant_prompts(
    uow_factory: UnitOfWorkFactory, clock: Clock, tenant_id: TenantId
) -> PromptChanges:
    """Reconcile every calendar of the tenant that has devices."""
    async with uow_factory.reading() as uow:
        calendars = await uow.join_prompts.calendars_with_devices(tenant_id)
    ids = [calendar_id for _, calendar_id in calendars]
    return await _reconcile_in_batches(uow_factory, clock, tenant_id, ids)


async def _reconcile_in_batches(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    tenant_id: TenantId,
    calendar_ids: Sequence[CalendarId],
) -> PromptChanges:
    # Short transactions: a sync of one of these calendars waits for its lock at most one batch.
    total = PromptChanges()
    for batch in batches(calendar_ids, CALENDARS_PER_TRANSACTION):
        async with uow_factory() as uow:
            total += await reconcile_prompts(uow, tenant_id, batch, clock.now())
            await uow.commit()
    return total
