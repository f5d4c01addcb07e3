"""The job queue: Procrastinate on the same PostgreSQL, deferring by task name.

The API and intake processes only defer jobs, so they never import the task code; workers
register the tasks (``calhub.workers.tasks``) on the same ``App``. Procrastinate's schema is
installed by calhub's own migrations (``calhub.storage.migrate``). Its pool's connections are in
autocommit: each query it sends is one statement, atomic on its own.

``defer_many`` writes many jobs in one ``INSERT`` into ``procrastinate_jobs`` (Procrastinate's
``procrastinate_defer_jobs_v1`` does the same insert, but fails the whole batch on one waiting
queueing lock); ``ON CONFLICT`` on Procrastinate's unique index of queueing locks of ``todo`` jobs
skips a job whose lock is already waiting, as ``defer`` does on ``AlreadyEnqueued``. The insert
triggers that wake workers and record job events fire for each row as for ``defer``. Given a
unit of work (``within``), the insert joins its transaction: the jobs exist, and wake workers,
only if it commits, and what it stored and the work it asks for are kept or lost together.

``vacuum_job_queue`` cleans ``procrastinate_jobs`` once enough of its rows are dead (each job's
row is written three times: deferred, fetched, finished). Every fetch walks the todo index
(``procrastinate_jobs_priority_idx_v1``) from its head, and the entry of a fetched job stays in
it until vacuum removes it, so after a burst of jobs each fetch reads past hundreds of entries
until the table is vacuumed (docs/sync.md, "A queue table that autovacuum leaves dirty").
Autovacuum visits a database once a minute by default, and on a big table waits for a fifth of
it to be dead; the workers call this every few seconds instead.

Procrastinate checks every connection its pool hands out with a round trip; here only one not
handed out for ``PING_AFTER_IDLE_S`` is checked (``storage.database`` explains the rule), which
saves two round trips per job on a busy worker (fetch and finish).
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import procrastinate
import psycopg
import psycopg_pool
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import DEFAULT_QUEUE
from sqlalchemy.ext.asyncio import AsyncConnection

from calhub.storage.database import PING_AFTER_IDLE_S, libpq_url

_DEAD_JOB_ROWS: Final = """
SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = 'procrastinate_jobs'::regclass
"""
# SKIP_LOCKED: a worker finding the table being vacuumed (by another worker or autovacuum) moves
# on. INDEX_CLEANUP ON: the index entries are what the fetch reads past, and PostgreSQL would
# skip the indexes when few of the table's pages hold dead rows. TRUNCATE false: giving empty
# pages at the table's end back takes a lock every fetch waits for, and the next jobs fill them.
_VACUUM_JOBS: Final = "VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON, TRUNCATE false) procrastinate_jobs"

_DEFER_MANY: Final = """
INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args)
SELECT %(queue_name)s, job.task_name, job.lock, job.queueing_lock, job.args::jsonb
  FROM unnest(%(task_names)s::text[], %(locks)s::text[], %(queueing_locks)s::text[],
              %(args)s::text[]) AS job(task_name, lock, queueing_lock, args)
ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING
RETURNING id
"""


def build_task_app(database_url: str) -> procrastinate.App:
    """A Procrastinate app on ``database_url``; open it with ``async with app.open_async()``."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), configure=_autocommit, pool_factory=_pool
    )
    return procrastinate.App(connector=connector)


def _pool(**options: Any) -> psycopg_pool.AsyncConnectionPool:
    """Procrastinate's pool, with our liveness check in place of its check of every checkout."""
    return psycopg_pool.AsyncConnectionPool(**(options | {"check": _check_if_idle}))


# When each pooled connection was last handed out: a connection is back within milliseconds
# (each of Procrastinate's queries is one statement), so this stands for when it was returned.
_handed_out_at: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = (
    weakref.WeakKeyDictionary()
)


async def _check_if_idle(connection: psycopg.AsyncConnection[Any]) -> None:
    now = time.monotonic()
    last = _handed_out_at.get(connection)
    _handed_out_at[connection] = now
    if last is None or now - last >= PING_AFTER_IDLE_S:
        # Raises for a dead connection: the pool discards it and hands out another.
        await psycopg_pool.AsyncConnectionPool.check_connection(connection)


async def _autocommit(connection: psycopg.AsyncConnection[Any]) -> None:
    """Each query Procrastinate sends is one statement (a call of one of its functions, or the
    insert of ``defer_many``); in autocommit it goes without the BEGIN and COMMIT round trips
    psycopg would send around it: four of the eight round trips a worker spent fetching and
    finishing each job."""
    await connection.set_autocommit(True)


class JobToDefer(Protocol):
    """What ``defer_many`` reads of a job (``calhub.services.jobs.JobRequest`` has it)."""

    @property
    def task_name(self) -> str: ...
    @property
    def arguments(self) -> Mapping[str, Any]: ...
    @property
    def lock(self) -> str | None: ...
    @property
    def queueing_lock(self) -> str | None: ...


class InTransaction(Protocol):
    """What ``defer_many`` reads of a unit of work to join its transaction."""

    @property
    def connection(self) -> AsyncConnection: ...


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

    async def defer_many(
        self, jobs: Sequence[JobToDefer], *, within: InTransaction | None = None
    ) -> int:
        parameters = _defer_many_parameters(jobs)
        if parameters is None:
            return 0
        if within is None:
            rows = await self._app.connector.execute_query_all_async(_DEFER_MANY, **parameters)
            return len(rows)
        # The unit of work's own psycopg connection, inside the transaction SQLAlchemy began.
        raw = await within.connection.get_raw_connection()
        driver: psycopg.AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
        async with driver.cursor() as cursor:
            await cursor.execute(_DEFER_MANY, parameters)
            return len(await cursor.fetchall())

    async def is_reachable(self) -> bool:
        return await self._app.check_connection_async()


async def vacuum_job_queue(app: procrastinate.App, *, dead_rows_at_least: int) -> int:
    """Vacuum Procrastinate's job table when the statistics count at least
    ``dead_rows_at_least`` dead rows in it; returns the dead rows counted if it vacuumed, else 0.

    The count is PostgreSQL's cumulative statistics, which sessions report about once a second,
    so it may lag the table by a second or so. A role that does not own the table gets only a
    warning from PostgreSQL, and the table is left to autovacuum."""
    counted = await app.connector.execute_query_one_async(_DEAD_JOB_ROWS)
    dead_rows = int(counted["n_dead_tup"] or 0)
    if dead_rows < dead_rows_at_least:
        return 0
    await app.connector.execute_query_async(_VACUUM_JOBS)
    return dead_rows


def _defer_many_parameters(jobs: Sequence[JobToDefer]) -> dict[str, Any] | None:
    """``_DEFER_MANY``'s parameters: each queueing lock once, rows in one order (by queueing
    lock) in every call, so two calls waiting on each other's uncommitted locks cannot
    deadlock; None when there is nothing to queue."""
    unique: list[JobToDefer] = []
    locks: set[str] = set()
    for job in sorted(jobs, key=lambda job: job.queueing_lock or ""):
        if job.queueing_lock is not None:
            if job.queueing_lock in locks:
                continue
            locks.add(job.queueing_lock)
        unique.append(job)
    if not unique:
        return None
    return {
        "queue_name": DEFAULT_QUEUE,
        "task_names": [job.task_name for job in unique],
        "locks": [job.lock for job in unique],
        "queueing_locks": [job.queueing_lock for job in unique],
        "args": [json.dumps(dict(job.arguments)) for job in unique],
    }
