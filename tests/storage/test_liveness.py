"""Liveness pings of pooled connections (``storage.database``, ``storage.queue``) on a real
server: a connection that sat idle and died meanwhile is replaced before anyone uses it; one
used a moment ago goes out unpinged, so its death surfaces once, on its next statement, and
the pool's next connection is a fresh one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import procrastinate
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from calhub.storage import database, queue
from calhub.storage.database import create_engine
from calhub.storage.queue import build_task_app

PID = text("SELECT pg_backend_pid()")


def _terminate(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


async def _pooled_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        pid: int = (await conn.execute(PID)).scalar_one()
    return pid


async def test_an_idle_connection_that_died_is_replaced_before_use(
    engine: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = await _pooled_pid(engine)
    _terminate(database_url, dead)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)  # every connection counts as idle

    assert await _pooled_pid(engine) != dead


async def test_a_connection_used_a_moment_ago_is_not_pinged(
    engine: AsyncEngine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = await _pooled_pid(engine)
    _terminate(database_url, dead)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 3600.0)

    with pytest.raises(DBAPIError) as failure:
        await _pooled_pid(engine)

    assert failure.value.connection_invalidated
    assert await _pooled_pid(engine) != dead


@pytest.fixture
async def task_app(database_url: str) -> AsyncIterator[procrastinate.App]:
    app = build_task_app(database_url)
    async with app.open_async():
        yield app


async def _queue_pid(app: procrastinate.App) -> int:
    row = await app.connector.execute_query_one_async("SELECT pg_backend_pid() AS pid")
    pid: int = row["pid"]
    return pid


async def test_the_job_queue_replaces_an_idle_connection_that_died(
    task_app: procrastinate.App, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = {await _queue_pid(task_app) for _ in range(20)}  # every connection of the pool
    for pid in pids:
        _terminate(database_url, pid)
    monkeypatch.setattr(queue, "PING_AFTER_IDLE_S", 0.0)

    assert await _queue_pid(task_app) not in pids


async def test_the_job_queue_does_not_check_a_connection_used_a_moment_ago(
    task_app: procrastinate.App, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = {await _queue_pid(task_app) for _ in range(20)}
    for pid in pids:
        _terminate(database_url, pid)
    monkeypatch.setattr(queue, "PING_AFTER_IDLE_S", 3600.0)

    with pytest.raises(procrastinate.exceptions.ConnectorException):
        await _queue_pid(task_app)
