"""Plans that must stay cheap while tables grow faster than their statistics (docs/sync.md,
"Statistics that lag"): a new deployment or a tenant just connected fills ``calendars`` and
``events`` long before autovacuum analyzes them, and the plan of a foreign-key check made while
a table was small is kept by its connection until then."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

FIRST = 10  # rows stored while the table is small, and again once it is large
GROWN_BY = 3_000  # rows the tenant gains meanwhile, not yet analyzed


@pytest.fixture
def conn(fresh_database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(fresh_database_url, autocommit=True) as connection:
        for table in ("calendars", "events"):  # no analyze in the middle of the test
            connection.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
        yield connection


class _Tenant:
    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.id, self.connection = uuid.uuid4(), uuid.uuid4()
        conn.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES (%s, 't', now())", (self.id,)
        )
        conn.execute(
            "INSERT INTO connections (id, tenant_id, provider, status, credentials, settings,"
            " created_at, updated_at) VALUES (%s, %s, 'google', 'active', '', '{}', now(), now())",
            (self.connection, self.id),
        )

    def add_calendars(self, n: int) -> list[uuid.UUID]:
        ids = [uuid.uuid4() for _ in range(n)]
        self._insert(
            "INSERT INTO calendars (id, tenant_id, connection_id, provider_calendar_index,"
            " provider_calendar_id, kind, owner_email, owner_email_index, name, created_at,"
            " updated_at) VALUES (%s, %s, %s, %s, '', 'user', '', %s, '', now(), now())",
            [(id_, self.id, self.connection, str(id_), id_.bytes) for id_ in ids],
        )
        return ids

    def add_events(self, calendars: list[uuid.UUID]) -> list[uuid.UUID]:
        """One event in each of ``calendars``."""
        ids = [uuid.uuid4() for _ in calendars]
        self._insert(
            "INSERT INTO events (id, tenant_id, calendar_id, provider_event_id, start_at, end_at,"
            " time_zone, is_all_day, show_as, is_private, is_cancelled, change_key, subject, body,"
            " location, organizer, attendees, created_at, updated_at, ical_uid_index)"
            " VALUES (%s, %s, %s, %s, now(), now(), 'UTC', false, 'busy', false, false, '', '',"
            " '', '', '', '', now(), now(), %s)",
            [(id_, self.id, c, str(id_), id_.bytes) for id_, c in zip(ids, calendars, strict=True)],
        )
        return ids

    def add_occurrences(self, calendar: uuid.UUID, events: list[uuid.UUID]) -> None:
        self._insert(
            "INSERT INTO occurrences (tenant_id, event_id, calendar_id, start_at, end_at,"
            " original_start_at, is_override) VALUES (%s, %s, %s, now(), now(), now(), false)",
            [(self.id, event, calendar) for event in events],
        )

    def _insert(self, statement: str, rows: list[tuple[object, ...]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(statement, rows)


def _index_entries_read(conn: psycopg.Connection, table: str) -> int:
    conn.execute("SELECT pg_stat_force_next_flush()")
    row = conn.execute(
        "SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE relname = %s",
        (table,),
    ).fetchone()
    conn.execute("SELECT pg_stat_clear_snapshot()")
    assert row is not None
    return int(row[0])


def test_storing_an_event_checks_its_calendar_by_key_however_stale_the_statistics(
    conn: psycopg.Connection,
) -> None:
    tenant = _Tenant(conn)
    first = tenant.add_calendars(FIRST)
    tenant.add_events(first)  # the check's plan is made while the tenant has few calendars
    tenant.add_calendars(GROWN_BY)

    before = _index_entries_read(conn, "calendars")
    tenant.add_events(first)
    read = _index_entries_read(conn, "calendars") - before

    assert read <= 2 * FIRST, f"{read} index entries of calendars read to check {FIRST} events"


def test_storing_an_occurrence_checks_its_event_by_key_however_stale_the_statistics(
    conn: psycopg.Connection,
) -> None:
    tenant = _Tenant(conn)
    [calendar] = tenant.add_calendars(1)
    first = tenant.add_events([calendar] * FIRST)
    tenant.add_occurrences(calendar, first)  # the check's plan is made while the mirror is small
    tenant.add_events([calendar] * GROWN_BY)

    before = _index_entries_read(conn, "events")
    tenant.add_occurrences(calendar, first)
    read = _index_entries_read(conn, "events") - before

    assert read <= 2 * FIRST, f"{read} index entries of events read to check {FIRST} occurrences"
