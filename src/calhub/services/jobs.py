"""The job-queue port services defer background work through.

Task names are the contract between the deferring side (API, intake, services) and the workers;
they live here, with the lock names that go with them, so both sides spell them one way:

- ``calhub.sync_calendar(tenant_id, calendar_id)``: one sync pass. ``lock`` per calendar (a
  calendar never syncs concurrently with itself); ``queueing_lock`` per calendar (a storm of
  notifications collapses into one waiting job, which reads every change when it runs).
- ``calhub.ensure_subscription(tenant_id, calendar_id)``: create (or recreate) the calendar's
  change-notification subscription; same calendar ``lock``, so it never races a sync.
- ``calhub.renew_subscription(tenant_id, subscription_id)``: renew one subscription now
  (a ``reauthorizationRequired`` lifecycle notification asks for that).
- ``calhub.discover_calendars(tenant_id, connection_id)``: list mailboxes and rooms.
"""

from __future__ import annotations

from typing import Any, Protocol

PING_TASK = "calhub.ping"
SYNC_CALENDAR_TASK = "calhub.sync_calendar"
ENSURE_SUBSCRIPTION_TASK = "calhub.ensure_subscription"
RENEW_SUBSCRIPTION_TASK = "calhub.renew_subscription"
DISCOVER_CALENDARS_TASK = "calhub.discover_calendars"


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

    async def is_reachable(self) -> bool: ...


def calendar_lock(calendar_id: object) -> str:
    """The lock every job that touches one calendar's mirror or subscription holds."""
    return f"calendar:{calendar_id}"


async def defer_sync(
    queue: JobQueue, tenant_id: object, calendar_id: object, *, delay_s: float | None = None
) -> int | None:
    """Queue a sync of the calendar unless one is already waiting."""
    return await queue.defer(
        SYNC_CALENDAR_TASK,
        lock=calendar_lock(calendar_id),
        queueing_lock=f"sync:{calendar_id}",
        schedule_in_seconds=delay_s,
        tenant_id=str(tenant_id),
        calendar_id=str(calendar_id),
    )


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
