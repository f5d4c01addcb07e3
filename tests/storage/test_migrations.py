"""Migrations: an empty database reaches head, a second run changes nothing, base removes all,
and the migrated schema matches the tables the code uses."""

from __future__ import annotations

import procrastinate
import psycopg
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from calhub.storage.database import sqlalchemy_url
from calhub.storage.migrate import current_revision, downgrade_to_base, upgrade_to_head
from calhub.storage.tables import metadata


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {row[0] for row in rows}


def _empty_database(postgres_url: str, name: str) -> str:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    base, _, query = postgres_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def test_upgrade_empty_database_then_again_is_a_no_op(postgres_url: str) -> None:
    url = _empty_database(postgres_url, "migrate_twice")
    assert current_revision(url) is None

    upgrade_to_head(url)
    head = current_revision(url)
    tables = _tables(url)
    upgrade_to_head(url)

    assert head is not None
    assert current_revision(url) == head
    assert _tables(url) == tables
    assert {"tenants", "events", "occurrences", "task_effects"} <= tables
    assert {"procrastinate_jobs", "procrastinate_events"} <= tables


def test_downgrade_to_base_removes_everything(postgres_url: str) -> None:
    url = _empty_database(postgres_url, "migrate_down")
    upgrade_to_head(url)

    downgrade_to_base(url)

    assert current_revision(url) is None
    assert _tables(url) <= {"alembic_version"}
    with psycopg.connect(url) as conn:
        leftovers = conn.execute(
            "SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%'"
        ).fetchone()
    assert leftovers == (0,)
    upgrade_to_head(url)  # and it can come back
    assert "procrastinate_jobs" in _tables(url)


def test_migrated_schema_matches_table_definitions(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), metadata
            )
    finally:
        engine.dispose()
    ours = [d for d in diff if "procrastinate" not in repr(d)]
    assert ours == []


async def test_migrated_database_accepts_procrastinate_jobs(database_url: str) -> None:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))

    @app.task(name="calhub.test.noop")
    def noop(n: int) -> None:
        del n

    async with app.open_async():
        job_id = await noop.defer_async(n=1)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT task_name, status FROM procrastinate_jobs WHERE id = %s", (job_id,)
        ).fetchone()
    assert row == ("calhub.test.noop", "todo")
