"""The workers keep Procrastinate's job table vacuumed: once enough of its rows are dead
(``vacuum_job_queue``, called by every worker's ``run_queue_vacuum`` loop), the table is
vacuumed and the fetched jobs' entries leave the todo index; fewer dead rows are left to
autovacuum; a worker finding the table being vacuumed moves on; a failure does not stop the
loop."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import procrastinate
import psycopg

from calhub.services.jobs import JobRequest
from calhub.storage.queue import ProcrastinateJobQueue, build_task_app, vacuum_job_queue
from calhub.workers.queue_vacuum import run_queue_vacuum
from tests.conftest import create_database

STATS_WAIT_S = 10.0


def _table_stats(database_url: str) -> tuple[int, int]:
    """(dead rows, vacuums run) of procrastinate_jobs, from PostgreSQL's statistics."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables"
            " WHERE relname = 'procrastinate_jobs'"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _todo_index_entries_a_fetch_reads(database_url: str) -> int:
    """How many todo-index entries Procrastinate's fetch of the next job reads, from
    PostgreSQL's statistics (this session's are sent before they are read)."""
    read = (
        "SELECT idx_tup_read FROM pg_stat_user_indexes"
        " WHERE indexrelname = 'procrastinate_jobs_priority_idx_v1'"
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        before = conn.execute(read).fetchone()
        conn.execute(
            "SELECT procrastinate_fetch_job_v2(NULL, worker_id)"
            " FROM procrastinate_register_worker_v1()"
        )
        conn.execute("SELECT pg_stat_force_next_flush()")
        after = conn.execute(read).fetchone()
    assert before is not None
    assert after is not None
    return int(after[0]) - int(before[0])


async def _fetch_and_finish(
    app: procrastinate.App, database_url: str, jobs: int, *, keep_waiting: int = 0
) -> None:
    """Defer ``jobs`` jobs and move all but ``keep_waiting`` through fetched to finished, as
    workers do (two updates a job), in a session that then ends, so its statistics are sent.
    Autovacuum is kept off the table, so what cleans it is what the test runs."""
    with psycopg.connect(database_url, autocommit=True) as conn:  # the test's vacuums only
        conn.execute("ALTER TABLE procrastinate_jobs SET (autovacuum_enabled = false)")
    queue = ProcrastinateJobQueue(app)
    await queue.defer_many([JobRequest("calhub.test.noop", {"n": n}) for n in range(jobs)])
    done = jobs - keep_waiting
    with psycopg.connect(database_url, autocommit=True) as conn:
        for status in ("doing", "succeeded"):
            conn.execute(
                "UPDATE procrastinate_jobs SET status = %s WHERE id IN"
                " (SELECT id FROM procrastinate_jobs ORDER BY id LIMIT %s)",
                (status, done),
            )
        # Statistics as a table in use has them, so the fetch plans with its todo index.
        conn.execute("ANALYZE procrastinate_jobs")
    await _dead_rows_reported(database_url, at_least=2 * done)


async def _dead_rows_reported(database_url: str, *, at_least: int) -> None:
    deadline = time.monotonic() + STATS_WAIT_S
    while _table_stats(database_url)[0] < at_least:
        assert time.monotonic() < deadline, "the statistics never counted the dead rows"
        await asyncio.sleep(0.05)


async def test_enough_dead_rows_are_vacuumed_out_of_the_todo_index(
    task_app: procrastinate.App,
    fresh_database_url: str,
    postgres_url: str,
    template_url: str,
) -> None:
    unvacuumed_url = create_database(postgres_url, template_url)
    for url in (fresh_database_url, unvacuumed_url):
        app = build_task_app(url)
        async with app.open_async():
            await _fetch_and_finish(app, url, 1_500, keep_waiting=3)
    _, vacuums_before = _table_stats(fresh_database_url)

    dead_rows = await vacuum_job_queue(task_app, dead_rows_at_least=1_000)

    assert dead_rows >= 2 * 1_497
    assert _table_stats(fresh_database_url) == (0, vacuums_before + 1)
    assert _todo_index_entries_a_fetch_reads(fresh_database_url) <= 3
    assert _todo_index_entries_a_fetch_reads(unvacuumed_url) >= 1_497


async def test_fewer_dead_rows_are_left_to_autovacuum(
    task_app: procrastinate.App, fresh_database_url: str
) -> None:
    await _fetch_and_finish(task_app, fresh_database_url, 200)
    before = _table_stats(fresh_database_url)

    assert await vacuum_job_queue(task_app, dead_rows_at_least=1_000) == 0

    assert _table_stats(fresh_database_url) == before


async def test_a_worker_finding_the_table_being_vacuumed_moves_on_at_once(
    task_app: procrastinate.App, fresh_database_url: str
) -> None:
    """Another worker's vacuum (or autovacuum) holds the table's SHARE UPDATE EXCLUSIVE lock;
    this worker's vacuum must not queue behind it, holding one of its connections."""
    await _fetch_and_finish(task_app, fresh_database_url, 600)
    _, vacuums_before = _table_stats(fresh_database_url)
    with psycopg.connect(fresh_database_url) as other:
        other.execute("LOCK TABLE procrastinate_jobs IN SHARE UPDATE EXCLUSIVE MODE")
        async with asyncio.timeout(5):
            assert await vacuum_job_queue(task_app, dead_rows_at_least=1_000) >= 1_200
        other.rollback()

    dead_rows, vacuums = _table_stats(fresh_database_url)
    assert dead_rows >= 1_200  # left for the vacuum holding the lock
    assert vacuums == vacuums_before


class _FailingOnce:
    """A Procrastinate app whose database fails the first query the loop sends."""

    def __init__(self, app: procrastinate.App) -> None:
        self._app = app
        self.calls = 0

    @property
    def connector(self) -> _FailingOnce:
        return self

    async def execute_query_one_async(self, query: str, **arguments: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            raise procrastinate.exceptions.ConnectorException("connection lost")
        return await self._app.connector.execute_query_one_async(query, **arguments)

    async def execute_query_async(self, query: str, **arguments: Any) -> None:
        await self._app.connector.execute_query_async(query, **arguments)


async def test_the_workers_loop_vacuums_after_a_failure(
    task_app: procrastinate.App, fresh_database_url: str
) -> None:
    await _fetch_and_finish(task_app, fresh_database_url, 600)
    _, vacuums_before = _table_stats(fresh_database_url)
    app = _FailingOnce(task_app)

    loop = asyncio.create_task(
        run_queue_vacuum(app, every_s=0.05, dead_rows_at_least=1_000)  # type: ignore[arg-type]
    )
    try:
        deadline = time.monotonic() + STATS_WAIT_S
        while _table_stats(fresh_database_url)[1] == vacuums_before:
            assert not loop.done(), "the loop stopped"
            assert time.monotonic() < deadline, "the loop never vacuumed"
            await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)

    assert app.calls >= 2
    assert _table_stats(fresh_database_url)[0] == 0
