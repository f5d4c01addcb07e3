"""Nothing sensitive reaches the database in plaintext or the logs, and tenants stay apart.

The canary goes into every sensitive field; a ``pg_dump`` of the whole database (made with the
embedded server's own binaries) and everything logged at debug level, SQL statements and their
parameters included, must not contain it in
plain, lower-case or hex form, while the event still reads back with the canary intact.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pgserver
import pytest
import structlog
from sqlalchemy.exc import IntegrityError

from calhub.domain.calendars import ConnectionStatus, Secret
from calhub.domain.events import Attendee, Occurrence
from calhub.domain.ids import ApiKeyId, new_id
from calhub.domain.tenants import ApiKey
from calhub.logs import configure_logging
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant, make_event

CANARY = "CANARY-7f3c9e"
CANARY_ADDRESS = f"{CANARY}@Example.com"


def _forms(text: str) -> list[bytes]:
    return [
        text.encode(),
        text.lower().encode(),
        text.encode().hex().encode(),
        text.lower().encode().hex().encode(),
    ]


def _pg_dump(url: str) -> bytes:
    pg_dump = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    result = subprocess.run(
        [str(pg_dump), "--no-owner", f"--dbname={url}"],
        capture_output=True,
        check=True,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )
    return result.stdout


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    handlers, level, sql_level = root.handlers[:], root.level, sql.level
    stream = io.StringIO()
    configure_logging(level="debug", json=True, stream=stream)
    # SQLAlchemy keeps its own loggers at WARNING; open them up so statements and their
    # parameters are logged too, and must not carry plaintext either.
    sql.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sql.setLevel(sql_level)
        structlog.reset_defaults()


async def test_canary_never_appears_in_dump_or_logs(
    uow_factory: UnitOfWorkFactory, database_url: str, captured_logs: io.StringIO
) -> None:
    log = structlog.get_logger("calhub.test")
    tenant = await add_tenant(uow_factory, "Canary Corp")
    calendar = await add_calendar(
        uow_factory, tenant.id, owner=CANARY_ADDRESS, credentials=f'{{"token": "{CANARY}"}}'
    )
    event = make_event(
        tenant.id,
        calendar.id,
        "canary-event",
        subject=f"Secret {CANARY} merger",
        body=f"Body mentions {CANARY}",
        location=f"Room {CANARY}",
        organizer=Attendee(CANARY_ADDRESS, f"Org {CANARY}"),
        attendees=(Attendee(f"att-{CANARY}@example.com", f"Att {CANARY}"),),
    )
    async with uow_factory() as uow:
        [stored] = await uow.events.upsert(tenant.id, [event], NOW)
        await uow.occurrences.replace_for_event(
            tenant.id, stored, [Occurrence(stored.id, stored.start, stored.end, stored.start)]
        )
        await uow.sync_status.record_sync(
            tenant.id, calendar.id, NOW, cursor=f"cursor-{CANARY}", full=True
        )
        log.info("event stored", event_id=str(stored.id), subject=stored.subject)
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.events.get(tenant.id, stored.id)
        [found] = await uow.events.find_by_attendee_email(tenant.id, CANARY_ADDRESS.upper())
        connection = await uow.connections.get(tenant.id, calendar.connection_id)
        [cal] = await uow.calendars.find_by_owner_email(tenant.id, CANARY_ADDRESS)
    dump = _pg_dump(database_url)
    logs = captured_logs.getvalue()

    assert loaded == event
    assert found == event
    assert connection is not None
    assert CANARY in connection.credentials.reveal()
    assert cal.sync_cursor == f"cursor-{CANARY}"
    assert b"Canary Corp" in dump  # the dump holds the data: the search below is meaningful
    assert "INSERT INTO events" in logs  # SQL was logged at debug level, with its parameters
    for form in _forms(CANARY):
        assert form not in dump
        assert form.decode() not in logs


async def test_blind_index_finds_attendee_in_any_case(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    event = make_event(
        tenant.id, calendar.id, "case", attendees=(Attendee("Mixed.Case@Example.ORG"),)
    )
    async with uow_factory() as uow:
        await uow.events.upsert(tenant.id, [event], NOW)
        await uow.commit()

    async with uow_factory() as uow:
        for address in (
            "mixed.case@example.org",
            "MIXED.CASE@EXAMPLE.ORG",
            " Mixed.Case@example.org",
        ):
            assert [e.id for e in await uow.events.find_by_attendee_email(tenant.id, address)] == [
                event.id
            ]
        assert await uow.events.find_by_attendee_email(tenant.id, "other@example.org") == []


async def test_tenant_b_cannot_reach_tenant_a_data(uow_factory: UnitOfWorkFactory) -> None:
    a = await add_tenant(uow_factory, "A")
    b = await add_tenant(uow_factory, "B")
    cal_a = await add_calendar(uow_factory, a.id, owner="owner-a@example.com")
    cal_b = await add_calendar(uow_factory, b.id, owner="owner-b@example.com")
    event = make_event(a.id, cal_a.id, "a-event")
    key = ApiKey(ApiKeyId(new_id(NOW)), a.id, "a-key", b"\x00" * 32, NOW)
    async with uow_factory() as uow:
        await uow.events.upsert(a.id, [event], NOW)
        await uow.occurrences.replace_for_event(
            a.id, event, [Occurrence(event.id, event.start, event.end, event.start)]
        )
        await uow.api_keys.add(key)
        await uow.commit()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=30)

    async with uow_factory() as uow:
        assert await uow.events.get(b.id, event.id) is None
        assert await uow.events.get_by_provider_id(b.id, cal_a.id, "a-event") is None
        assert await uow.events.list_in_window(b.id, cal_a.id, start, end) == []
        assert await uow.events.find_by_attendee_email(b.id, "alice@example.com") == []
        assert await uow.occurrences.list_in_window(b.id, start, end) == []
        assert await uow.occurrences.list_in_window(b.id, start, end, cal_a.id) == []
        assert await uow.calendars.get(b.id, cal_a.id) is None
        assert (
            await uow.calendars.get_by_provider_id(
                b.id, cal_a.connection_id, cal_a.provider_calendar_id
            )
            is None
        )
        assert [c.id for c in await uow.calendars.list(b.id)] == [cal_b.id]
        assert await uow.calendars.find_by_owner_email(b.id, "owner-a@example.com") == []
        assert await uow.connections.get(b.id, cal_a.connection_id) is None
        assert [c.id for c in await uow.connections.list(b.id)] == [cal_b.connection_id]
        assert await uow.api_keys.list_for_tenant(b.id) == []
        # Writes aimed at A's rows through B's scope change nothing.
        assert not await uow.api_keys.revoke(b.id, key.id, NOW)
        assert not await uow.events.delete(b.id, event.id)
        assert await uow.events.delete_by_provider_ids(b.id, cal_a.id, ["a-event"]) == 0
        assert not await uow.sync_status.record_sync(b.id, cal_a.id, NOW, cursor="x", full=True)
        assert not await uow.calendars.update(dataclasses.replace(cal_a, tenant_id=b.id))
        assert not await uow.calendars.delete(b.id, cal_a.id)
        assert not await uow.connections.set_credentials(
            b.id, cal_a.connection_id, Secret("stolen"), NOW
        )
        assert not await uow.connections.set_status(
            b.id, cal_a.connection_id, ConnectionStatus.DISABLED, NOW
        )
        assert not await uow.connections.delete(b.id, cal_a.connection_id)
        with pytest.raises(ValueError, match="belong to the tenant"):
            await uow.events.upsert(b.id, [event], NOW)
        await uow.commit()

    async with uow_factory() as uow:
        # An event of B that points at A's calendar is refused by the (tenant, calendar) key.
        with pytest.raises(IntegrityError):
            await uow.events.upsert(b.id, [make_event(b.id, cal_a.id, "sneaky")], NOW)

    async with uow_factory() as uow:
        assert await uow.events.get(a.id, event.id) == event
        stored_key = await uow.api_keys.get(key.id)
        assert stored_key is not None
        assert stored_key.revoked_at is None
        calendar = await uow.calendars.get(a.id, cal_a.id)
        assert calendar == cal_a
        connection = await uow.connections.get(a.id, cal_a.connection_id)
        assert connection is not None
        assert connection.status is ConnectionStatus.ACTIVE
