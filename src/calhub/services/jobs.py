"""The job-queue port services defer background work through.

Task names are the contract between the deferring side (API, intake, services) and the workers;
they live here, with the lock names that go with them, so both sides spell them one way:

- ``calhub.sync_calendar(tenant_id, calendar_id, full)``: one sync pass. ``lock`` per calendar (a
  calendar never syncs concurrently with itself); ``queueing_lock`` per calendar (a storm of
  notifications collapses into one waiting job, which reads every change when it runs).
- ``calhub.ensure_subscription(tenant_id, calendar_id)``: create (or recreate) the calendar's
  change-notification subscription; same calendar ``lock``, so it never races a sync.
- ``calhub.renew_subscription(tenant_id, subscription_id)``: renew one subscription now
  (a ``reauthorizationRequired`` lifecycle notification asks for that).
- ``calhub.discover_calendars(tenant_id, connection_id)``: list mailboxes and rooms.
- ``calhub.drain_join_writes()``: carry out due join-block writes (any worker; the rows are
  locked one by one); ``queueing_lock`` so a burst of syncs queues one waiting drain.
- ``calhub.deliver_webhooks()``: fan new outbox events out to webhook endpoints and deliver what
  is due (any worker; deliveries are locked a batch at a time). ``queueing_lock``
  ``deliver_webhooks`` for runs wanted now (whoever adds outbox events calls
  ``defer_webhook_delivery`` after committing), ``deliver_webhooks_retry`` for the one delayed
  run a retry due within the minute asks for, so a waiting retry never holds up new events.

``defer_syncs`` queues many calendars' syncs in one round trip (``JobQueue.defer_many``), for
the intake, whose POSTs carry up to 100 calendars' notifications; given the intake's unit of work
(``within``), the jobs join its transaction, so the notifications it stores and the syncs they
ask for commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from calhub.storage.unit_of_work import UnitOfWork

PING_TASK = "calhub.ping"
SYNC_CALENDAR_TASK = "calhub.sync_calendar"
ENSURE_SUBSCRIPTION_TASK = "calhub.ensure_subscription"
RENEW_SUBSCRIPTION_TASK = "calhub.renew_subscription"
DISCOVER_CALENDARS_TASK = "calhub.discover_calendars"
DRAIN_JOIN_WRITES_TASK = "calhub.drain_join_writes"
DELIVER_WEBHOOKS_TASK = "calhub.deliver_webhooks"


@dataclass(frozen=True, slots=True)
class JobRequest:
    """One job for ``JobQueue.defer_many``: what ``defer`` takes, without a schedule."""

    task_name: str
    arguments: Mapping[str, Any]
    lock: str | None = None
    queueing_lock: str | None = None


class JobQueue(Protocol):
    async def defer(
        self,
        task_name: str,
        *,
        lock: str | None = None,
        queueing_lock: str | None = None,
        schedule_in_seconds: float | None = None,
        **arguments: Any,
    ) -> int | None:
        """Queue ``task_name``; returns the job id, or None when an equal job is already queued."""
        ...

    async def defer_many(
        self, jobs: Sequence[JobRequest], *, within: UnitOfWork | None = None
    ) -> int:
        """Queue ``jobs`` in one round trip; returns how many were queued. A job whose queueing
        lock is already waiting (or taken by an earlier job of the same call) is skipped.
        ``within``: a unit of work whose transaction the jobs join (they exist, and wake
        workers, only once it commits)."""
        ...

    async def is_reachable(self) -> bool: ...


def calendar_lock(calendar_id: object) -> str:
    """The lock every job that touches one calendar's mirror or subscription holds."""
    return f"calendar:{calendar_id}"


def _sync_request(tenant_id: object, calendar_id: object, *, full: bool = False) -> JobRequest:
    """A sync of the calendar. A full sync (the daily reconciliation) has its own queueing
    lock, so a waiting incremental one cannot swallow it."""
    return JobRequest(
        SYNC_CALENDAR_TASK,
        {"tenant_id": str(tenant_id), "calendar_id": str(calendar_id), "full": full},
        lock=calendar_lock(calendar_id),
        queueing_lock=f"{'reconcile' if full else 'sync'}:{calendar_id}",
    )


async def defer_sync(
    queue: JobQueue,
    tenant_id: object,
    calendar_id: object,
    *,
    delay_s: float | None = None,
    full: bool = False,
) -> int | None:
    """Queue a sync of the calendar unless an equal one is already waiting."""
    request = _sync_request(tenant_id, calendar_id, full=full)
    return await queue.defer(
        request.task_name,
        lock=request.lock,
        queueing_lock=request.queueing_lock,
        schedule_in_seconds=delay_s,
        **request.arguments,
    )


async def defer_syncs(
    queue: JobQueue,
    calendars: Iterable[tuple[object, object]],
    *,
    within: UnitOfWork | None = None,
) -> int:
    """``defer_sync`` for many ``(tenant_id, calendar_id)`` at once, in one round trip; returns
    how many were queued (calendars with a sync already waiting are not). ``within``: the unit
    of work whose transaction the jobs join."""
    requests = [_sync_request(tenant_id, calendar_id) for tenant_id, calendar_id in calendars]
    return await queue.defer_many(requests, within=within) if requests else 0


async def defer_ensure_subscription(
    queue: JobQueue, tenant_id: object, calendar_id: object, *, delay_s: float | None = None
) -> int | None:
    return await queue.defer(
        ENSURE_SUBSCRIPTION_TASK,
        lock=calendar_lock(calendar_id),
        queueing_lock=f"subscribe:{calendar_id}",
        schedule_in_seconds=delay_s,
        tenant_id=str(tenant_id),
        calendar_id=str(calendar_id),
    )


async def defer_renewal(queue: JobQueue, tenant_id: object, subscription_id: object) -> int | None:
    return await queue.defer(
        RENEW_SUBSCRIPTION_TASK,
        queueing_lock=f"renew:{subscription_id}",
        tenant_id=str(tenant_id),
        subscription_id=str(subscription_id),
    )


async def defer_discovery(queue: JobQueue, tenant_id: object, connection_id: object) -> int | None:
    return await queue.defer(
        DISCOVER_CALENDARS_TASK,
        queueing_lock=f"discover:{connection_id}",
        tenant_id=str(tenant_id),
        connection_id=str(connection_id),
    )


async def defer_join_drain(queue: JobQueue) -> int | None:
    return await queue.defer(DRAIN_JOIN_WRITES_TASK, queueing_lock="drain_join_writes")


async def defer_webhook_delivery(queue: JobQueue, *, delay_s: float | None = None) -> int | None:
    """Queue a webhook delivery run: now (new outbox events), or in ``delay_s`` (a retry)."""
    return await queue.defer(
        DELIVER_WEBHOOKS_TASK,
        queueing_lock="deliver_webhooks" if delay_s is None else "deliver_webhooks_retry",
        schedule_in_seconds=delay_s,
    )
