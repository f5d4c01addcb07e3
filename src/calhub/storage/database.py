"""Connections to PostgreSQL: one async SQLAlchemy engine per process, driver psycopg 3.

Procrastinate uses psycopg 3 too, so the hub has one PostgreSQL driver. ``libpq_url`` is the plain
``postgresql://`` form that psql, pg_dump and Procrastinate take; ``sqlalchemy_url`` names the
driver for SQLAlchemy.

Liveness pings: a pooled connection that sat idle for ``PING_AFTER_IDLE_S`` or more (the server
may have restarted, or a proxy dropped it) is pinged before it is handed out, and replaced if
dead, with every other connection of the pool as old. One used a moment ago goes out unpinged:
under load, the ping was one round trip in every four or five a sync job made. A connection
that dies within that second fails its next statement instead; SQLAlchemy recognises the
disconnect and empties the pool, and the job's retry, or the client's, runs on a fresh one (the
API answers 503 with ``Retry-After``, ``lost_connection``).
Procrastinate's pool follows the same rule (``storage.queue``).

Lists go to the server in binary (``_binary_arrays``): they are the column arrays of the
statements that write many rows at once (``unnest``), and psycopg writes a text array element
by element in Python, quoting each: 23 µs per ``bytea`` element (a blind index) and 3 µs per
timestamp, against about 0.2 µs in binary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from psycopg.types.array import ListBinaryDumper
from sqlalchemy import event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

PING_AFTER_IDLE_S: Final = 1.0
_RETURNED_AT: Final = "calhub_returned_at"


def sqlalchemy_url(libpq_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + libpq_url[len(prefix) :]
    raise ValueError("CALHUB_DATABASE_URL must start with postgresql://")


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    engine = create_async_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine.sync_engine, "connect", _binary_arrays)
    pool = engine.sync_engine.pool
    event.listen(pool, "checkin", _note_return)
    event.listen(pool, "checkout", _ping_if_idle(engine.sync_engine.dialect))
    return engine


def _binary_arrays(dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
    dbapi_connection.driver_connection.adapters.register_dumper(list, ListBinaryDumper)


def _note_return(dbapi_connection: Any, entry: ConnectionPoolEntry) -> None:
    entry.info[_RETURNED_AT] = time.monotonic()


def _ping_if_idle(dialect: Dialect) -> Callable[[Any, ConnectionPoolEntry, Any], None]:
    def ping_if_idle(dbapi_connection: Any, entry: ConnectionPoolEntry, proxy: Any) -> None:
        returned_at = entry.info.get(_RETURNED_AT)
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_S:
            return  # just connected, or back in the pool a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool replaces this connection and every other as old, and checks out anew.
                raise InvalidatePoolError("the pooled connection was closed") from exc
            raise

    return ping_if_idle


def lost_connection(error: BaseException) -> bool:
    """True for the error of a statement whose connection had died: the pool has been replaced,
    so the same request or job succeeds when tried again."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


async def check_database(engine: AsyncEngine) -> bool:
    """True when a trivial query answers; readiness probes call this."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError):
        return False
    return True
