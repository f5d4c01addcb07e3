"""Schema migrations with Alembic, configured in code (no ``alembic.ini`` at run time).

``upgrade_to_head(url)`` brings a database to the newest revision, including Procrastinate's
schema (installed by the first revision), so one ``calhub migrate`` prepares everything;
``current_revision(url)`` reports where a database stands; ``downgrade_to_base(url)`` removes it
all again. They are synchronous so the CLI and test fixtures can call them directly; a
PostgreSQL advisory lock makes two processes migrating at once take turns.

Upgrading Procrastinate needs a new revision here that applies the upgrade scripts from
``procrastinate/sql/migrations`` between the two versions; the installed schema does not
follow the package by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from calhub.storage.database import sqlalchemy_url

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x63616C687562  # "calhub": the advisory lock taken while migrating


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _connect(url: str) -> Iterator[Connection]:
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def _locked(url: str) -> Iterator[Connection]:
    with _connect(url) as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
        conn.commit()
        try:
            yield conn
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
            conn.commit()


def upgrade_to_head(url: str) -> None:
    """Apply every migration not yet applied; a database at head is left unchanged."""
    with _locked(url) as conn:
        command.upgrade(alembic_config(conn), "head")
        conn.commit()


def downgrade_to_base(url: str) -> None:
    """Undo every migration: drops calhub's tables and Procrastinate's schema."""
    with _locked(url) as conn:
        command.downgrade(alembic_config(conn), "base")
        conn.commit()


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    with _connect(url) as conn:
        return MigrationContext.configure(conn).get_current_revision()
