"""Migrations: an empty database reaches head, a second run changes nothing, base removes all,
the migrated schema matches the tables the code uses, and data migrations fill what they add."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import procrastinate
import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from calhub.domain.ids import DeviceId, EventId
from calhub.domain.meetings.model import SINGLE_EVENT_SLOT
from calhub.domain.meetings.prompts import PromptTarget, prompt_event_fields
from calhub.storage.database import sqlalchemy_url
from calhub.storage.migrate import (
    alembic_config,
    current_revision,
    downgrade_to_base,
    upgrade_to_head,
)
from calhub.storage.tables import metadata

HOUR = timedelta(hours=1)


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


def test_prompts_scheduled_before_0006_get_the_payload_the_code_would_give_them(
    postgres_url: str,
) -> None:
    url = _empty_database(postgres_url, "migrate_prompt_payloads")
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            command.upgrade(alembic_config(conn), "0005")
            conn.commit()
    finally:
        engine.dispose()
    tenant, connection, calendar, device, meeting = (uuid.uuid4() for _ in range(5))
    start = datetime(2026, 3, 2, 10, 0, 0, 500_000, tzinfo=UTC)
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (%s, 't', now())", (tenant,)
        )
        conn.execute(
            "INSERT INTO connections (id, tenant_id, provider, status, credentials, settings,"
            " created_at, updated_at) VALUES (%s, %s, 'msgraph', 'active', '', '{}', now(), now())",
            (connection, tenant),
        )
        conn.execute(
            "INSERT INTO calendars (id, tenant_id, connection_id, provider_calendar_index,"
            " provider_calendar_id, kind, owner_email, owner_email_index, name, created_at,"
            " updated_at) VALUES (%s, %s, %s, '', '', 'room', '', '', '', now(), now())",
            (calendar, tenant, connection),
        )
        conn.execute(
            "INSERT INTO devices (id, tenant_id, calendar_id, kind, name, token_hash, time_zone,"
            " created_at) VALUES (%s, %s, %s, 'room', '', '', 'UTC', now())",
            (device, tenant, calendar),
        )
        conn.execute(
            "INSERT INTO join_prompts (tenant_id, device_id, event_id, original_start_at, version,"
            " start_at, end_at, fire_at, state, join_digest, content, created_at) VALUES"
            " (%s, %s, %s, %s, 2, %s, %s, %s, 'scheduled', '', '', now())",
            (tenant, device, meeting, SINGLE_EVENT_SLOT, start, start + HOUR, start - HOUR),
        )

    upgrade_to_head(url)

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT payload FROM join_prompts").fetchone()
    target = PromptTarget(DeviceId(device), EventId(meeting), SINGLE_EVENT_SLOT)
    fields = prompt_event_fields(target, 2, fire_at=start - HOUR, start=start, end=start + HOUR)
    assert row is not None
    assert row[0] == fields
