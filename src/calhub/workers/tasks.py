"""The Procrastinate tasks: thin wrappers that take the runtime from the worker context and
call a service. ``register_tasks`` adds them to an app; nothing is registered at import time.

Periodic work:
- ``calhub.retry_stalled_jobs`` every minute: a job whose worker stopped heart-beating for
  ``STALLED_AFTER_S`` is put back to ``todo`` (Procrastinate's at-least-once needs this; a stalled
  job holding a ``lock`` would otherwise block its calendar forever).
- ``calhub.prune_finished_jobs`` hourly: finished jobs are deleted after a day so the fetch
  query stays fast.
"""

from __future__ import annotations

from typing import Any

import procrastinate
import structlog

from calhub.bootstrap import Runtime
from calhub.services import pings
from calhub.services.jobs import PING_TASK

RUNTIME_CONTEXT_KEY = "calhub_runtime"
STALLED_AFTER_S = 30.0
KEEP_FINISHED_HOURS = 24

log = structlog.get_logger("calhub.workers")


def _runtime(context: procrastinate.JobContext) -> Runtime:
    runtime: Runtime = context.additional_context[RUNTIME_CONTEXT_KEY]
    return runtime


def register_tasks(app: procrastinate.App) -> None:
    """Register every calhub task and periodic schedule on ``app``."""

    @app.task(name=PING_TASK, pass_context=True, retry=3)
    async def ping(context: procrastinate.JobContext, tenant_id: str, ping_id: str) -> None:
        await pings.answer_ping(_runtime(context).uow, _runtime(context).clock, tenant_id, ping_id)

    @app.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
    @app.task(
        name="calhub.retry_stalled_jobs", queueing_lock="retry_stalled_jobs", pass_context=True
    )
    async def retry_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
        manager = context.app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_S))
        for job in stalled:
            await manager.retry_job(job)
        if stalled:
            log.warning("stalled_jobs_retried", count=len(stalled))

    @app.periodic(cron="17 * * * *", periodic_id="prune_finished_jobs")
    @app.task(name="calhub.prune_finished_jobs", queueing_lock="prune_finished_jobs")
    async def prune_finished_jobs(timestamp: int) -> None:
        await app.job_manager.delete_old_jobs(
            nb_hours=KEEP_FINISHED_HOURS, include_failed=False, include_cancelled=True
        )


async def run_worker(runtime: Runtime, concurrency: int, **options: Any) -> None:
    """Run a worker on ``runtime``'s queue until cancelled or signalled."""
    register_tasks(runtime.task_app)
    log.info("worker_starting", concurrency=concurrency)
    await runtime.task_app.run_worker_async(
        concurrency=concurrency,
        additional_context={RUNTIME_CONTEXT_KEY: runtime},
        **options,
    )
