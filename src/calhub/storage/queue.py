"""The job queue: Procrastinate on the same PostgreSQL, deferring by task name.

The API and intake processes only defer jobs, so they never import the task code; workers
register the tasks (``calhub.workers.tasks``) on the same ``App``. Procrastinate's schema is
installed by calhub's own migrations (``calhub.storage.migrate``).
"""

from __future__ import annotations

from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from calhub.storage.database import libpq_url


def build_task_app(database_url: str) -> procrastinate.App:
    """A Procrastinate app on ``database_url``; open it with ``async with app.open_async()``."""
    connector = procrastinate.PsycopgConnector(conninfo=libpq_url(database_url))
    return procrastinate.App(connector=connector)


class ProcrastinateJobQueue:
    """``calhub.services.jobs.JobQueue`` on Procrastinate."""

    def __init__(self, app: procrastinate.App) -> None:
        self._app = app

    async def defer(
        self,
        task_name: str,
        *,
        lock: str | None = None,
        queueing_lock: str | None = None,
        schedule_in_seconds: float | None = None,
        **arguments: Any,
    ) -> int | None:
        deferrer = self._app.configure_task(
            name=task_name,
            lock=lock,
            queueing_lock=queueing_lock,
            schedule_in=None if schedule_in_seconds is None else {"seconds": schedule_in_seconds},
        )
        try:
            return await deferrer.defer_async(**arguments)
        except AlreadyEnqueued:
            # A job with this queueing lock is already waiting; it will see the newest state.
            return None

    async def is_reachable(self) -> bool:
        return await self._app.check_connection_async()
