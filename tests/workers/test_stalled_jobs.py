"""A job whose worker died (SIGKILL) must not hold its calendar's lock forever."""

from __future__ import annotations

import uuid

import psycopg

from calhub.services.jobs import defer_sync
from calhub.storage.database import libpq_url
from calhub.storage.queue import ProcrastinateJobQueue, build_task_app
from calhub.workers.tasks import recover_stalled_jobs


def _statuses(url: str) -> dict[int, str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT id, status FROM procrastinate_jobs").fetchall()
    return {row[0]: row[1] for row in rows}


def _abandon(url: str, job_id: int) -> None:
    """What a worker killed mid-job leaves: the job ``doing``, no live worker behind it."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL WHERE id = %s",
            (job_id,),
        )


async def test_a_stalled_job_goes_back_to_the_queue(fresh_database_url: str) -> None:
    app = build_task_app(fresh_database_url)
    async with app.open_async():
        stalled = await defer_sync(ProcrastinateJobQueue(app), uuid.uuid4(), uuid.uuid4())
        assert stalled is not None
        _abandon(fresh_database_url, stalled)

        assert await recover_stalled_jobs(app.job_manager) == (1, 0)

    assert _statuses(fresh_database_url) == {stalled: "todo"}


async def test_a_stalled_job_with_an_equal_one_waiting_is_finished_so_its_lock_frees(
    fresh_database_url: str,
) -> None:
    tenant, calendar = uuid.uuid4(), uuid.uuid4()
    app = build_task_app(fresh_database_url)
    async with app.open_async():
        queue = ProcrastinateJobQueue(app)
        stalled = await defer_sync(queue, tenant, calendar)
        assert stalled is not None
        _abandon(fresh_database_url, stalled)
        waiting = await defer_sync(queue, tenant, calendar)  # a notification came meanwhile
        assert waiting is not None

        assert await recover_stalled_jobs(app.job_manager) == (0, 1)

    assert _statuses(fresh_database_url) == {stalled: "failed", waiting: "todo"}
