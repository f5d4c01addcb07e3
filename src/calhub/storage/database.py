"""Connections to PostgreSQL: one async SQLAlchemy engine per process, driver psycopg 3.

Procrastinate uses psycopg 3 too, so the hub has one PostgreSQL driver. ``libpq_url`` is the plain
``postgresql://`` form that psql, pg_dump and Procrastinate take; ``sqlalchemy_url`` names the
driver for SQLAlchemy.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sqlalchemy_url(libpq_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + libpq_url[len(prefix) :]
    raise ValueError("CALHUB_DATABASE_URL must start with postgresql://")


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


async def check_database(engine: AsyncEngine) -> bool:
    """True when a trivial query answers; readiness probes call this."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError):
        return False
    return True
