"""The Procrastinate job queue's batch defer (``ProcrastinateJobQueue.defer_many``) on a real
database: queueing locks skip duplicates within a call and against a waiting job, jobs deferred
within a transaction share its fate, and a real Procrastinate worker runs what was written with
the arguments the task takes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg
import pytest
from psycopg.rows import dict_row
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from calhub.services.jobs import SYNC_CALENDAR_TASK, JobRequest, defer_sync, defer_syncs
from calhub.storage.database import create_engine
from calhub.storage.queue import ProcrastinateJobQueue

TENANT = uuid.UUID("00000000-0000-4000-8000-00000000aaaa")


def _calendar(number: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{number:012d}")


def _jobs(database_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT task_name, queue_name, lock, queueing_lock, args, status "
            "FROM procrastinate_jobs ORDER BY id"
        ).fetchall()


async def test_duplicates_within_one_call_are_queued_once(
    task_app: procrastinate.App, fresh_database_url: str
) -> None:
    queue = ProcrastinateJobQueue(task_app)
    calendars = [(TENANT, _calendar(1)), (TENANT, _calendar(2)), (TENANT, _calendar(1))]

    assert await defer_syncs(queue, calendars) == 2

    assert _jobs(fresh_database_url) == [
        {
            "task_name": SYNC_CALENDAR_TASK,
            "queue_name": "default",
            "lock": f"calendar:{_calendar(number)}",
            "queueing_lock": f"sync:{_calendar(number)}",
            "args": {
                "tenant_id": str(TENANT),
                "calendar_id": str(_calendar(number)),
                "full": False,
            },
            "status": "todo",
        }
        for number in (1, 2)
    ]


async def test_a_calendar_with_a_sync_already_waiting_is_skipped(
    task_app: procrastinate.App, fresh_database_url: str
) -> None:
    queue = ProcrastinateJobQueue(task_app)
    assert await defer_sync(queue, TENANT, _calendar(3)) is not None

    assert await defer_syncs(queue, [(TENANT, _calendar(3)), (TENANT, _calendar(4))]) == 1
    assert await defer_syncs(queue, [(TENANT, _calendar(3)), (TENANT, _calendar(4))]) == 0

    locks = [job["queueing_lock"] for job in _jobs(fresh_database_url)]
    assert locks == [f"sync:{_calendar(3)}", f"sync:{_calendar(4)}"]


async def test_jobs_without_a_queueing_lock_are_all_queued(task_app: procrastinate.App) -> None:
    queue = ProcrastinateJobQueue(task_app)
    job = JobRequest("calhub.ping", {"tenant_id": str(TENANT), "ping_id": "p"})

    assert await queue.defer_many([job, job]) == 2
    assert await queue.defer_many([]) == 0


async def test_a_worker_runs_the_batch_and_a_finished_sync_can_be_queued_again(
    task_app: procrastinate.App, fresh_database_url: str
) -> None:
    ran: list[tuple[str, str, bool]] = []

    @task_app.task(name=SYNC_CALENDAR_TASK)
    async def sync_calendar(tenant_id: str, calendar_id: str, full: bool = False) -> None:
        ran.append((tenant_id, calendar_id, full))

    queue = ProcrastinateJobQueue(task_app)
    calendars = [(TENANT, _calendar(5)), (TENANT, _calendar(6))]
    assert await defer_syncs(queue, calendars) == 2

    await task_app.run_worker_async(wait=False, install_signal_handlers=False)

    assert sorted(ran) == [(str(TENANT), str(c), False) for _, c in calendars]
    assert {job["status"] for job in _jobs(fresh_database_url)} == {"succeeded"}
    assert await defer_syncs(queue, calendars) == 2  # nothing waiting under those locks now


async def test_the_queue_connections_commit_each_statement_on_its_own(
    task_app: procrastinate.App,
) -> None:
    # Every query Procrastinate sends is one statement; autocommit spares the BEGIN and COMMIT
    # round trips around each.
    connector = task_app.connector
    assert isinstance(connector, procrastinate.PsycopgConnector)
    async with connector.pool.connection() as conn:
        assert conn.autocommit
        await conn.execute("SELECT 1")
        assert conn.info.transaction_status is psycopg.pq.TransactionStatus.IDLE


@dataclass
class _Transaction:
    """What ``defer_many(within=...)`` reads of a unit of work."""

    connection: AsyncConnection


@pytest.mark.parametrize("commits", [True, False])
async def test_jobs_deferred_within_a_transaction_exist_only_if_it_commits(
    task_app: procrastinate.App, fresh_database_url: str, commits: bool
) -> None:
    queue = ProcrastinateJobQueue(task_app)
    engine = create_engine(fresh_database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # the transaction has begun
            jobs = [JobRequest("calhub.ping", {}, queueing_lock=lock) for lock in "aba"]
            assert await queue.defer_many(jobs, within=_Transaction(conn)) == 2
            assert _jobs(fresh_database_url) == []  # not before the commit
            await (conn.commit() if commits else conn.rollback())
    finally:
        await engine.dispose()

    locks = [job["queueing_lock"] for job in _jobs(fresh_database_url)]
    assert locks == (["a", "b"] if commits else [])
