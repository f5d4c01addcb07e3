"""The Procrastinate tasks: thin wrappers that take the runtime from the worker context and
call a service. ``register_tasks`` adds them to an app; nothing is registered at import time.

Sync tasks (names and locks in ``calhub.services.jobs``): ``calhub.sync_calendar``,
``calhub.ensure_subscription``, ``calhub.renew_subscription``, ``calhub.discover_calendars`` and
``calhub.drain_join_writes``; delivery: ``calhub.deliver_webhooks``.

Periodic work (Procrastinate defers each schedule once across all workers):
- ``calhub.sync_quiet_calendars`` every minute: a delta pass for calendars with no
  notification or sync for an hour, and for calendars of providers whose pushes may be lost
  unreported (Google) 1, 2, 4... minutes after their last push (the safety net for lost
  notifications).
- ``calhub.reconcile_calendars`` hourly: a full sync for calendars whose last one is a day old.
- ``calhub.renew_subscriptions`` every 15 minutes: subscriptions expiring within a day.
- ``calhub.rediscover_calendars`` daily: rooms and mailboxes of every active connection.
- ``calhub.sweep_join_writes`` every minute: join-block writes still due (their drain job was
  lost with a worker, or they wait for a retry).
- ``calhub.prune_sync_records`` daily: processed notifications and spent consent states.
- ``calhub.retry_stalled_jobs`` every minute: a job whose worker stopped heart-beating for
  ``STALLED_AFTER_S`` is put back to ``todo`` (Procrastinate's at-least-once needs this; a stalled
  job holding a ``lock`` would otherwise block its calendar forever).
- ``calhub.sweep_webhooks`` every minute: fan-out and due webhook deliveries (retries, and
  events whose delivery job was lost with a worker).
- ``calhub.prune_finished_jobs`` hourly: finished jobs are deleted after a day so the fetch
  query stays fast.
- ``calhub.poll_presence`` every minute: the automatic replies of the user mailboxes whose last
  read is ``CALHUB_PRESENCE_POLL_MINUTES`` old (a share per minute, so reads spread out).
- ``calhub.flip_due_presence`` every minute: out-of-office windows that started or ended with
  no new poll (the workers' dispatcher loop does this sooner; this keeps it working without).
- ``calhub.extend_prompt_horizon`` every 10 minutes: join prompts of every calendar with devices
  reconciled, so occurrences entering the 48-hour horizon get theirs (docs/obtp.md).

Beside the queue, ``run_worker`` runs the dispatcher loop (``calhub.workers.dispatcher``), which
fires join prompts within a second of their time, and keeps the queue's table vacuumed
(``calhub.workers.queue_vacuum``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import procrastinate
import procrastinate.exceptions
import procrastinate.jobs
import procrastinate.manager
import structlog

from calhub.bootstrap import Runtime
from calhub.domain.ids import CalendarId, ConnectionId, SubscriptionId, TenantId
from calhub.services import (
    calendar_sync,
    discovery,
    housekeeping,
    join_writes,
    obtp,
    pings,
    presence,
    subscriptions,
    webhook_delivery,
)
from calhub.services.context import HubContext
from calhub.services.jobs import (
    DELIVER_WEBHOOKS_TASK,
    DISCOVER_CALENDARS_TASK,
    DRAIN_JOIN_WRITES_TASK,
    ENSURE_SUBSCRIPTION_TASK,
    PING_TASK,
    RENEW_SUBSCRIPTION_TASK,
    SYNC_CALENDAR_TASK,
)
from calhub.workers.dispatcher import run_dispatcher
from calhub.workers.queue_vacuum import run_queue_vacuum

RUNTIME_CONTEXT_KEY = "calhub_runtime"
STALLED_AFTER_S = 30.0
KEEP_FINISHED_HOURS = 24

log = structlog.get_logger("calhub.workers")


def _runtime(context: procrastinate.JobContext) -> Runtime:
    runtime: Runtime = context.additional_context[RUNTIME_CONTEXT_KEY]
    return runtime


def _id(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def register_tasks(app: procrastinate.App) -> None:
    """Register every calhub task and periodic schedule on ``app``."""
    _register_sync_tasks(app)
    _register_sync_schedules(app)
    _register_presence_poll(app)

    @app.task(name=PING_TASK, pass_context=True, retry=3)
    async def ping(context: procrastinate.JobContext, tenant_id: str, ping_id: str) -> None:
        await pings.answer_ping(_runtime(context).uow, _runtime(context).clock, tenant_id, ping_id)

    @app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
    @app.task(
        name="calhub.retry_stalled_jobs", queueing_lock="retry_stalled_jobs", pass_context=True
    )
    async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
        await recover_stalled_jobs(context.app.job_manager)

    @app.periodic(cron="17 * * * *", periodic_id="prune_finished_jobs")
    @app.task(name="calhub.prune_finished_jobs", queueing_lock="prune_finished_jobs")
    async def prune_finished_jobs(timestamp: int) -> None:
        await app.job_manager.delete_old_jobs(
            nb_hours=KEEP_FINISHED_HOURS, include_failed=False, include_cancelled=True
        )


async def recover_stalled_jobs(manager: procrastinate.manager.JobManager) -> tuple[int, int]:
    """Put jobs whose worker died back to ``todo``; returns (retried, superseded).

    A job that cannot go back because an equal one (same queueing lock) is already waiting is
    finished as failed instead: the waiting job does the same work. Leaving it ``doing`` would
    hold its ``lock``, and so its calendar, forever."""
    retried = superseded = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S):
        try:
            await manager.retry_job(job)
            retried += 1
        except procrastinate.exceptions.UniqueViolation:
            await manager.finish_job(job, procrastinate.jobs.Status.FAILED, delete_job=False)
            superseded += 1
    if retried or superseded:
        log.warning("stalled_jobs_recovered", retried=retried, superseded=superseded)
    return retried, superseded


def _register_sync_tasks(app: procrastinate.App) -> None:
    # Unexpected errors (database restarts, bugs) are retried with backoff; provider errors
    # never reach here, the services record them and reschedule.
    retry = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=5)

    @app.task(name=SYNC_CALENDAR_TASK, pass_context=True, retry=retry)
    async def sync_calendar(
        context: procrastinate.JobContext, tenant_id: str, calendar_id: str, full: bool = False
    ) -> None:
        result = await calendar_sync.sync_calendar_job(
            _runtime(context).hub, TenantId(_id(tenant_id)), CalendarId(_id(calendar_id)), full=full
        )
        if result.skipped:
            log.info("calendar_sync_skipped", calendar_id=calendar_id, reason=result.skipped)

    @app.task(name=ENSURE_SUBSCRIPTION_TASK, pass_context=True, retry=retry)
    async def ensure_subscription(
        context: procrastinate.JobContext, tenant_id: str, calendar_id: str
    ) -> None:
        await subscriptions.ensure_subscription(
            _runtime(context).hub, TenantId(_id(tenant_id)), CalendarId(_id(calendar_id))
        )

    @app.task(name=RENEW_SUBSCRIPTION_TASK, pass_context=True, retry=retry)
    async def renew_subscription(
        context: procrastinate.JobContext, tenant_id: str, subscription_id: str
    ) -> None:
        await subscriptions.renew_subscription(
            _runtime(context).hub, TenantId(_id(tenant_id)), SubscriptionId(_id(subscription_id))
        )

    @app.task(name=DRAIN_JOIN_WRITES_TASK, pass_context=True, retry=retry)
    async def drain_join_writes(context: procrastinate.JobContext) -> None:
        await join_writes.drain_join_writes(_runtime(context).hub)

    @app.task(name=DELIVER_WEBHOOKS_TASK, pass_context=True, retry=retry)
    async def deliver_webhooks(context: procrastinate.JobContext) -> None:
        await webhook_delivery.run_webhook_delivery(_runtime(context).hub)

    @app.task(name=DISCOVER_CALENDARS_TASK, pass_context=True, retry=retry)
    async def discover_calendars(
        context: procrastinate.JobContext, tenant_id: str, connection_id: str
    ) -> None:
        await discovery.discover_calendars(
            _runtime(context).hub, TenantId(_id(tenant_id)), ConnectionId(_id(connection_id))
        )


_SYNC_SCHEDULES: tuple[tuple[str, str, Callable[[HubContext], Awaitable[object]]], ...] = (
    ("* * * * *", "sync_quiet_calendars", calendar_sync.sync_quiet_calendars),
    ("7 * * * *", "reconcile_calendars", calendar_sync.reconcile_calendars),
    ("*/15 * * * *", "renew_subscriptions", subscriptions.renew_due_subscriptions),
    ("23 3 * * *", "rediscover_calendars", housekeeping.rediscover_all),
    ("* * * * *", "sweep_join_writes", join_writes.drain_join_writes),
    ("41 4 * * *", "prune_sync_records", housekeeping.prune),
    ("* * * * *", "sweep_webhooks", webhook_delivery.run_webhook_delivery),
    ("* * * * *", "flip_due_presence", presence.flip_due_presence),
    ("*/10 * * * *", "extend_prompt_horizon", obtp.extend_prompt_horizon),
)


def _register_sync_schedules(app: procrastinate.App) -> None:
    for cron, name, use_case in _SYNC_SCHEDULES:
        _schedule(app, cron, name, use_case)


def _register_presence_poll(app: procrastinate.App) -> None:
    @app.periodic(cron="* * * * *", periodic_id="poll_presence")
    @app.task(name="calhub.poll_presence", queueing_lock="poll_presence", pass_context=True)
    async def poll_presence(context: procrastinate.JobContext, timestamp: int) -> None:
        runtime = _runtime(context)
        interval = timedelta(minutes=runtime.settings.presence_poll_minutes)
        await presence.poll_due_presence(runtime.hub, interval=interval)


def _schedule(
    app: procrastinate.App,
    cron: str,
    name: str,
    use_case: Callable[[HubContext], Awaitable[object]],
) -> None:
    """A periodic task ``calhub.<name>`` calling ``use_case`` (deferred once across workers)."""

    async def run(context: procrastinate.JobContext, timestamp: int) -> None:
        await use_case(_runtime(context).hub)

    task = app.task(name=f"calhub.{name}", queueing_lock=name, pass_context=True)(run)
    app.periodic(cron=cron, periodic_id=name)(task)


async def run_worker(runtime: Runtime, concurrency: int, **options: Any) -> None:
    """Run a worker on ``runtime``'s queue until cancelled or signalled."""
    register_tasks(runtime.task_app)
    log.info("worker_starting", concurrency=concurrency)
    # Beside the queue: the dispatcher fires work due to the second (join prompts), and the
    # queue's table is vacuumed as soon as enough of its rows are dead.
    beside = [
        asyncio.create_task(run_dispatcher(runtime.hub, tick_s=runtime.settings.dispatch_tick_s)),
        asyncio.create_task(run_queue_vacuum(runtime.task_app)),
    ]
    try:
        await runtime.task_app.run_worker_async(
            concurrency=concurrency,
            additional_context={RUNTIME_CONTEXT_KEY: runtime},
            **options,
        )
    finally:
        for task in beside:
            task.cancel()
        await asyncio.gather(*beside, return_exceptions=True)
