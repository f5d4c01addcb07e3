"""Out-of-office presence: poll the mailboxes' automatic replies, announce flips (docs/presence.md).

Graph sends no notifications for mailbox settings, so presence is polled:

- ``poll_due_presence`` (the minutely ``calhub.poll_presence``): the user calendars whose last
  check is older than the poll interval, oldest first. Each run takes about twice the share one
  minute has of the interval (``pollable / minutes``), so the mailboxes spread over the interval
  instead of all being read in the same second, and a backlog is caught up; reads run at most
  ``POLL_CONCURRENCY`` at a time, each within its connection's request budget.
- ``poll_presence``: one mailbox, now (also ``GET .../presence?refresh=true``, with a timeout).
  A provider error never escapes: it is kept on the row in words (``last_error``) and the last
  known state stays.
- ``flip_due_presence``: scheduled windows that started or ended with no new poll (rows whose
  ``next_flip_at`` has come), in batches locked ``FOR UPDATE SKIP LOCKED``, so any number of
  workers flip each row once. The workers' dispatcher loop calls it several times a second and
  ``calhub.flip_due_presence`` every minute, so it works without the loop too.

Whenever the announced out-of-office state changes, the same transaction adds a
``presence.changed`` outbox event: ``{"calendar_id", "out_of_office", "reply_status", "until"}``
(``until``: when it flips next, or null). The state announced before a mailbox's first read
counts as "not out of office": a user already away when first seen is announced.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import structlog

from calhub.domain.calendars import Calendar, CalendarKind, ConnectionStatus
from calhub.domain.ids import CalendarId, DeviceId, TenantId
from calhub.domain.presence import (
    AutomaticReplies,
    PresenceState,
    after_failure,
    after_reading,
    announces_change,
    at_flip,
)
from calhub.providers.base import CalendarRef, ProviderError
from calhub.services.calendar_sync import failure_in_words
from calhub.services.context import HubContext
from calhub.storage.repositories.presence import UNKNOWN_STATUS
from calhub.storage.unit_of_work import UnitOfWork

PRESENCE_CHANGED: Final = "presence.changed"
DEFAULT_POLL_INTERVAL: Final = timedelta(minutes=15)
POLL_CONCURRENCY: Final = 8
POLL_BATCH_LIMIT: Final = 2000
FLIP_BATCH: Final = 500
REFRESH_TIMEOUT_S: Final = 10.0  # someone waits for the answer
POLL_TIMEOUT_S: Final = 60.0  # a scheduled read: throttling waits count
NOT_SUPPORTED: Final = "this calendar system does not tell calhub about out-of-office replies"

log = structlog.get_logger("calhub.presence")


class PresenceNotFound(LookupError):
    """No calendar of the tenant belongs to the address."""


class RoomHasNoPresence(LookupError):
    """The address is a room's: rooms have no automatic replies to read."""


@dataclass(frozen=True, slots=True)
class Presence:
    """A user's presence as the API shows it: the stored state with any flip that is due
    already applied, so it is right even while the flip worker catches up."""

    email: str
    state: PresenceState


async def poll_presence(
    ctx: HubContext,
    tenant_id: TenantId,
    calendar_id: CalendarId,
    *,
    timeout_s: float | None = None,
) -> PresenceState | None:
    """Read one mailbox's automatic replies and store what they mean; None when the calendar
    is gone, is a room or its connection is not active (nothing is read then)."""
    async with ctx.uow.reading() as uow:
        subject = await uow.calendars.get_for_sync(tenant_id, calendar_id)
    if subject is None or subject.calendar.kind is not CalendarKind.USER:
        return None
    if subject.connection.status is not ConnectionStatus.ACTIVE:
        return None
    ref = CalendarRef(subject.calendar.provider_calendar_id)
    try:
        provider = await ctx.providers.for_connection(subject.connection)
        if not provider.capabilities.presence:
            return await _store(ctx, tenant_id, calendar_id, NOT_SUPPORTED)
        async with asyncio.timeout(timeout_s):
            replies = await provider.automatic_replies(ref)
    except ProviderError as exc:
        log.warning("presence_poll_failed", calendar_id=str(calendar_id), error=type(exc).__name__)
        return await _store(ctx, tenant_id, calendar_id, failure_in_words(exc))
    except TimeoutError:
        return await _store(
            ctx, tenant_id, calendar_id, f"the provider did not answer within {timeout_s:g} s"
        )
    return await _store(ctx, tenant_id, calendar_id, replies)


async def _store(
    ctx: HubContext,
    tenant_id: TenantId,
    calendar_id: CalendarId,
    outcome: AutomaticReplies | str,
) -> PresenceState:
    """Record a read (replies) or a failure (words) over the locked row, with the event when
    the announced state changes."""
    ids: Mapping[str, Any] = {"calendar_id": calendar_id, "tenant_id": tenant_id}
    async with ctx.uow() as uow:
        now = ctx.clock.now()
        while True:
            previous = await uow.presence.lock(tenant_id, calendar_id)
            if isinstance(outcome, str):
                state = after_failure(previous, outcome, now, **ids)
            else:
                state = after_reading(previous, outcome, now, **ids)
            if previous is not None:
                await uow.presence.update([state])
                break
            if await uow.presence.insert(state):
                break
            # A concurrent poll stored the first row meanwhile: decide again over it.
        if announces_change(previous, state):
            await uow.outbox.add(tenant_id, PRESENCE_CHANGED, changed_payload(state), now)
        await uow.commit()
    return state


def changed_payload(state: PresenceState) -> dict[str, Any]:
    """The ``presence.changed`` payload: ids and states only."""
    return {
        "calendar_id": str(state.calendar_id),
        "out_of_office": state.out_of_office,
        "reply_status": reply_status(state),
        "until": None if state.next_flip_at is None else state.next_flip_at.isoformat(),
    }


def reply_status(state: PresenceState) -> str:
    return UNKNOWN_STATUS if state.replies is None else state.replies.status.value


async def poll_due_presence(
    ctx: HubContext,
    *,
    interval: timedelta = DEFAULT_POLL_INTERVAL,
    limit: int = POLL_BATCH_LIMIT,
) -> int:
    """Poll the mailboxes whose turn has come (see the module doc); returns how many."""
    minutes = max(interval / timedelta(minutes=1), 1.0)
    async with ctx.uow.reading() as uow:
        pollable = await uow.presence.pollable_count()
        quota = min(limit, 2 * math.ceil(pollable / minutes))
        due = await uow.presence.due_for_poll(ctx.clock.now() - interval, quota) if quota else []
    gate = asyncio.Semaphore(POLL_CONCURRENCY)

    async def poll(tenant_id: TenantId, calendar_id: CalendarId) -> None:
        async with gate:
            await poll_presence(ctx, tenant_id, calendar_id, timeout_s=POLL_TIMEOUT_S)

    async with asyncio.TaskGroup() as group:
        for item in due:
            group.create_task(poll(item.tenant_id, item.calendar_id))
    return len(due)


async def flip_due_presence(ctx: HubContext) -> int:
    """Apply every scheduled flip that has come; returns how many states changed."""
    flipped = 0
    while True:
        async with ctx.uow() as uow:
            taken, changed = await _flip_batch(uow, ctx)
            await uow.commit()
        flipped += changed
        if taken < FLIP_BATCH:
            return flipped


async def _flip_batch(uow: UnitOfWork, ctx: HubContext) -> tuple[int, int]:
    now = ctx.clock.now()
    due = await uow.presence.due_flips(now, FLIP_BATCH)
    after = [at_flip(state, now) for state in due]
    await uow.presence.update(after)
    events: defaultdict[TenantId, list[tuple[str, Mapping[str, Any], DeviceId | None]]]
    events = defaultdict(list)
    for before, state in zip(due, after, strict=True):
        if announces_change(before, state):
            events[state.tenant_id].append((PRESENCE_CHANGED, changed_payload(state), None))
    for tenant_id, rows in events.items():
        await uow.outbox.add_many(tenant_id, rows, now)
    return len(due), sum(len(rows) for rows in events.values())


async def presence_for(
    ctx: HubContext, tenant_id: TenantId, email: str, *, refresh: bool = False
) -> Presence:
    """The presence of the tenant's user ``email``; read from the provider first when asked
    (or never read yet), within ``REFRESH_TIMEOUT_S``. Raises ``PresenceNotFound`` or
    ``RoomHasNoPresence``."""
    calendar = await _user_calendar(ctx, tenant_id, email)
    async with ctx.uow.reading() as uow:
        state = await uow.presence.get(tenant_id, calendar.id)
    if refresh or state is None:
        polled = await poll_presence(ctx, tenant_id, calendar.id, timeout_s=REFRESH_TIMEOUT_S)
        state = polled or state
    if state is None:
        # The connection is not active, so nothing could be read: say so rather than guess.
        state = after_failure(
            None,
            "the calendar's connection is not active, so calhub cannot read it",
            ctx.clock.now(),
            calendar_id=calendar.id,
            tenant_id=tenant_id,
        )
    return Presence(calendar.owner_email, at_flip(state, ctx.clock.now()))


async def _user_calendar(ctx: HubContext, tenant_id: TenantId, email: str) -> Calendar:
    async with ctx.uow.reading() as uow:
        found = await uow.calendars.find_by_owner_email(tenant_id, email)
    if not found:
        raise PresenceNotFound(email)
    users = [c for c in found if c.kind is CalendarKind.USER]
    if not users:
        raise RoomHasNoPresence(email)
    # One mailbox reached through two connections: prefer the copy that is present and in scope.
    return min(
        users, key=lambda c: (c.missing_since is not None, c.out_of_scope_reason is not None)
    )
