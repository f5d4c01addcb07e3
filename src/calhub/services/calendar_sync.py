"""Run the sync engine for one calendar and react to what the provider says (issue 4, "Sync").

``sync_calendar_job`` is what the ``calhub.sync_calendar`` task calls, under the calendar's
Procrastinate ``lock``. It reads the calendar and its connection, notes the notifications waiting
for it and runs ``calhub.sync.engine.sync_calendar``: one transaction applies the mirror, cursor
and status and marks those notifications processed; the lag recorded is from the oldest of them.
Join writes the pass queued (``calhub.services.join_writes``) get a drain job once it commits;
the minutely sweep drains them if this process dies before deferring it.
Provider errors are never allowed to crash the job:

- ``ConsentRevoked`` → the connection is disabled and purged (``services.connections``);
- ``CredentialsRejected`` → the connection waits for new credentials;
- ``MailboxOutOfScope`` → the calendar is marked out of scope with the reason (retried by the
  daily reconciliation only, never hot);
- ``RateLimited`` → the failure is recorded and the sync queued again after ``Retry-After``;
- anything else (``Transient``, ``InvalidResponse``, ...) → recorded, queued again with
  exponential backoff; the safety net catches up anyway.

``full=True`` (the daily reconciliation) ignores the saved cursor: a full read of the window
around now repairs whatever drifted and re-anchors the delta window, which Graph fixes at the
first call of a delta round.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import structlog

from calhub.domain.calendars import ConnectionStatus
from calhub.domain.ids import CalendarId, ConnectionId, TenantId
from calhub.providers.base import (
    ConsentRevoked,
    CredentialsRejected,
    MailboxOutOfScope,
    NotFound,
    ProviderError,
    RateLimited,
)
from calhub.services.connections import (
    disable_for_rejected_credentials,
    disable_for_revoked_consent,
)
from calhub.services.context import HubContext
from calhub.services.jobs import (
    defer_join_drain,
    defer_sync,
    defer_syncs,
    defer_webhook_delivery,
)
from calhub.services.providers import CAPABILITIES
from calhub.sync.engine import SyncOutcome, sync_calendar

BACKOFF_BASE_S: Final = 30.0
BACKOFF_CAP_S: Final = 30 * 60.0
QUIET_AFTER: Final = timedelta(hours=1)
FIRST_CHECK_AFTER_PUSH: Final = timedelta(minutes=1)  # where pushes may be lost unreported
RECONCILE_EVERY: Final = timedelta(hours=24)

log = structlog.get_logger("calhub.sync")


@dataclass(frozen=True, slots=True)
class SyncJobResult:
    outcome: SyncOutcome | None  # None: nothing ran (skipped, or failed and rescheduled)
    skipped: str | None = None
    error: str | None = None


async def sync_calendar_job(
    ctx: HubContext, tenant_id: TenantId, calendar_id: CalendarId, *, full: bool = False
) -> SyncJobResult:
    async with ctx.uow.reading() as uow:
        subject = await uow.calendars.get_for_sync(tenant_id, calendar_id)
    if subject is None:
        return SyncJobResult(None, skipped="the calendar no longer exists")
    calendar, connection, pending = subject.calendar, subject.connection, subject.pending
    if connection.status is not ConnectionStatus.ACTIVE:
        return SyncJobResult(None, skipped=f"the connection is {connection.status.value}")
    if calendar.missing_since is not None:
        return SyncJobResult(None, skipped="the calendar is missing from the directory")
    if full:
        calendar = dataclasses.replace(calendar, sync_cursor=None)
    try:
        provider = await ctx.providers.for_connection(connection)
        outcome = await sync_calendar(
            ctx.uow,
            provider,
            calendar,
            clock=ctx.clock,
            window=ctx.window,
            occurrence_limit=ctx.occurrence_limit,
            answering=pending,
            join_settings=subject.join_settings,
            device_ids=subject.device_ids,
            applier=ctx.applier,
        )
    except ProviderError as exc:
        return await _failed(ctx, tenant_id, calendar_id, connection.id, exc)
    if outcome.join_writes:
        await defer_join_drain(ctx.jobs)
    if outcome.announced:
        await defer_webhook_delivery(ctx.jobs)
    return SyncJobResult(outcome)


async def _failed(
    ctx: HubContext,
    tenant_id: TenantId,
    calendar_id: CalendarId,
    connection_id: ConnectionId,
    error: ProviderError,
) -> SyncJobResult:
    now = ctx.clock.now()
    words = failure_in_words(error)
    if isinstance(error, ConsentRevoked):
        await disable_for_revoked_consent(ctx, tenant_id, connection_id, words)
    elif isinstance(error, CredentialsRejected):
        await disable_for_rejected_credentials(ctx, tenant_id, connection_id, words)
    async with ctx.uow() as uow:
        failures = await uow.sync_status.record_failure(tenant_id, calendar_id, words, now)
        if isinstance(error, MailboxOutOfScope):
            await uow.calendars.mark_out_of_scope(tenant_id, calendar_id, words, now)
        await uow.commit()
    if isinstance(error, RateLimited):
        await defer_sync(ctx.jobs, tenant_id, calendar_id, delay_s=max(error.retry_after, 1.0))
    elif not isinstance(error, ConsentRevoked | CredentialsRejected | MailboxOutOfScope):
        previous_failures = (failures or 1) - 1  # record_failure counted this one
        await defer_sync(ctx.jobs, tenant_id, calendar_id, delay_s=backoff(previous_failures))
    log.warning(
        "calendar_sync_failed",
        tenant_id=str(tenant_id),
        calendar_id=str(calendar_id),
        error=type(error).__name__,
    )
    return SyncJobResult(None, error=words)


def backoff(previous_failures: int, rand: float | None = None) -> float:
    """Seconds before the next attempt: exponential with full jitter in its upper half."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** min(previous_failures, 16))
    spread = random.random() if rand is None else rand  # noqa: S311 (jitter, not security)
    return ceiling / 2 + spread * ceiling / 2


def failure_in_words(error: ProviderError) -> str:
    """A sentence for a calendar's status or a join write's outcome: no personal data
    (provider messages are ours)."""
    if isinstance(error, MailboxOutOfScope):
        return impersonal_reason(error)
    if isinstance(error, ConsentRevoked):
        return "admin consent was revoked or the app was deleted; the connection was disabled"
    if isinstance(error, CredentialsRejected):
        return "Microsoft rejected the client secret or certificate (wrong or expired)"
    if isinstance(error, RateLimited):
        return f"throttled by the provider; retrying after {error.retry_after:.0f} s"
    if isinstance(error, NotFound):
        return "the provider no longer finds this calendar"
    # Provider messages may quote request details; keep only the head ("Graph answered 503 X").
    return f"{type(error).__name__}: {str(error).split(': ', 1)[0]}"


def impersonal_reason(error: MailboxOutOfScope) -> str:
    """The refusal in words, with the mailbox's address or id replaced by "this mailbox"."""
    return error.reason.replace(error.mailbox, "this mailbox")


async def sync_quiet_calendars(ctx: HubContext, limit: int = 1000) -> int:
    """Safety net for lost notifications: queue a delta pass for calendars with no notification
    or sync for an hour, and, for providers whose pushes may be lost without a word (Google's),
    for calendars pushed within the hour, checked 1, 2, 4, 8... minutes after their last push,
    so a dropped push for the last change of a burst costs minutes, not the hour. Returns how
    many calendars were due (those with a sync already waiting are not queued twice)."""
    now = ctx.clock.now()
    unreported = [kind for kind, can in CAPABILITIES.items() if not can.lost_pushes_reported]
    async with ctx.uow.reading() as uow:
        quiet = await uow.sync_status.quiet_calendars(now - QUIET_AFTER, limit)
        pushed = await uow.sync_status.recently_pushed_calendars(
            unreported,
            now,
            first_check_after=FIRST_CHECK_AFTER_PUSH,
            within=QUIET_AFTER,
            limit=limit,
        )
    due = {(item.tenant_id, item.calendar_id) for item in (*quiet, *pushed)}
    await defer_syncs(ctx.jobs, sorted(due))
    return len(due)


async def reconcile_calendars(ctx: HubContext, limit: int = 1000) -> int:
    """Queue a full sync for calendars whose last full sync is a day old (spread over the day
    by running this hourly on the longest-waiting first)."""
    async with ctx.uow() as uow:
        due = await uow.sync_status.due_for_reconciliation(ctx.clock.now() - RECONCILE_EVERY, limit)
    for item in due:
        await defer_sync(ctx.jobs, item.tenant_id, item.calendar_id, full=True)
    return len(due)
