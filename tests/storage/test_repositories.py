"""Repositories against real PostgreSQL: round trips, upserts, windows, lookups by address."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from calhub.domain.calendars import CalendarKind, ConnectionStatus, Secret
from calhub.domain.events import Attendee, Occurrence, Recurrence, ShowAs
from calhub.domain.ids import ApiKeyId, new_id
from calhub.domain.tenants import ApiKey
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import BERLIN, NOW, add_calendar, add_tenant, make_event


async def test_tenant_and_api_key_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory, "Round Trip")
    key = ApiKey(
        id=ApiKeyId(new_id(NOW)),
        tenant_id=tenant.id,
        name="ci",
        secret_hash=b"\x01" * 32,
        created_at=NOW,
    )
    async with uow_factory() as uow:
        await uow.api_keys.add(key)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.api_keys.mark_used(key.id, NOW + timedelta(minutes=1))
        revoked = await uow.api_keys.revoke(tenant.id, key.id, NOW + timedelta(minutes=2))
        again = await uow.api_keys.revoke(tenant.id, key.id, NOW + timedelta(minutes=3))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tenants.get(tenant.id) == tenant
        assert tenant in await uow.tenants.list()
        stored = await uow.api_keys.get(key.id)
        listed = await uow.api_keys.list_for_tenant(tenant.id)

    assert revoked
    assert not again
    assert stored is not None
    assert stored.secret_hash == key.secret_hash
    assert stored.last_used_at == NOW + timedelta(minutes=1)
    assert stored.revoked_at == NOW + timedelta(minutes=2)
    assert listed == [stored]


async def test_work_without_commit_is_rolled_back(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    async with uow_factory() as uow:
        await uow.task_effects.add(tenant.id, "ping", {"n": "1"}, NOW)
    async with uow_factory() as uow:
        assert await uow.task_effects.list(tenant_id=tenant.id) == []
        await uow.task_effects.add(tenant.id, "ping", {"n": "2"}, NOW)
        await uow.task_effects.add(tenant.id, "ping", {"n": "3"})
        await uow.task_effects.add(None, "ping", {"n": "2"})
        await uow.commit()
    async with uow_factory() as uow:
        effects = await uow.task_effects.list(kind="ping", tenant_id=tenant.id)
        found = await uow.task_effects.find(tenant.id, "ping", "n", "2")
        unowned = await uow.task_effects.find(None, "ping", "n", "2")
    assert [e.payload for e in effects] == [{"n": "2"}, {"n": "3"}]
    assert [(e.tenant_id, e.created_at) for e in found] == [(tenant.id, NOW)]
    assert [e.tenant_id for e in unowned] == [None]


async def test_a_reading_unit_of_work_runs_no_transaction(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    async with uow_factory.reading() as reading, uow_factory() as writing:
        assert await reading.tenants.get(tenant.id) == tenant
        # No snapshot and no locks held: a change committed meanwhile is seen at once, and a
        # transaction's start time (now()) moves from one statement to the next.
        await writing.task_effects.add(tenant.id, "ping", {"n": "1"}, NOW)
        await writing.commit()
        assert len(await reading.task_effects.list(tenant_id=tenant.id)) == 1
        first = await reading.connection.scalar(text("SELECT now()"))
        second = await reading.connection.scalar(text("SELECT now()"))
    assert first < second


async def test_connection_and_calendar_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id, owner="Carol@Example.com")
    async with uow_factory() as uow:
        connection = await uow.connections.get(tenant.id, calendar.connection_id)
        assert connection is not None
        await uow.connections.set_credentials(
            tenant.id, connection.id, Secret('{"refresh_token": "new"}'), NOW
        )
        await uow.connections.set_status(
            tenant.id, connection.id, ConnectionStatus.NEEDS_REAUTH, NOW
        )
        await uow.sync_status.record_sync(tenant.id, calendar.id, NOW, cursor="delta-1", full=True)
        await uow.commit()
    async with uow_factory() as uow:
        connection = await uow.connections.get(tenant.id, calendar.connection_id)
        by_owner = await uow.calendars.find_by_owner_email(tenant.id, "  carol@EXAMPLE.com")
        by_provider = await uow.calendars.get_by_provider_id(
            tenant.id, calendar.connection_id, calendar.provider_calendar_id
        )
        rooms = await uow.calendars.list(tenant.id, kind=CalendarKind.ROOM)

    assert connection is not None
    assert connection.credentials.reveal() == '{"refresh_token": "new"}'
    assert "new" not in repr(connection)
    assert connection.status is ConnectionStatus.NEEDS_REAUTH
    assert connection.settings == {"directory": "example.com"}
    assert [c.id for c in by_owner] == [calendar.id]
    assert by_owner[0].sync_cursor == "delta-1"
    assert by_owner[0].owner_email == "Carol@Example.com"
    assert by_provider == by_owner[0]
    assert rooms == []


async def test_event_round_trip_keeps_every_field(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    series = make_event(
        tenant.id,
        calendar.id,
        "series-1",
        recurrence=Recurrence(
            rrules=("FREQ=WEEKLY;COUNT=3",),
            exdates=(datetime(2026, 1, 13, 10, 0, tzinfo=BERLIN),),
        ),
        is_private=True,
    )
    override = make_event(
        tenant.id,
        calendar.id,
        "series-1-override",
        series_id=series.id,
        recurrence_id=datetime(2026, 1, 20, 10, 0, tzinfo=BERLIN),
        show_as=ShowAs.TENTATIVE,
    )
    all_day = make_event(
        tenant.id, calendar.id, "holiday", start=date(2026, 1, 6), end=date(2026, 1, 7)
    )
    async with uow_factory() as uow:
        stored = await uow.events.upsert(tenant.id, [series, override, all_day], NOW)
        await uow.commit()
    async with uow_factory() as uow:
        loaded = [await uow.events.get(tenant.id, e.id) for e in stored]

    assert loaded == [series, override, all_day]
    async with uow_factory() as uow:
        assert await uow.events.list_overrides(tenant.id, series.id) == [override]
        assert await uow.events.list_overrides(tenant.id, override.id) == []
    assert loaded[0] is not None
    assert loaded[0].start.tzinfo == BERLIN  # type: ignore[union-attr]
    assert loaded[2] is not None
    assert loaded[2].start == date(2026, 1, 6)


async def test_upsert_updates_in_place_and_keeps_the_stored_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    first = make_event(tenant.id, calendar.id, "ev-1")
    async with uow_factory() as uow:
        await uow.events.upsert(tenant.id, [first], NOW)
        await uow.commit()
    changed = make_event(
        tenant.id,
        calendar.id,
        "ev-1",
        subject="Moved",
        attendees=(Attendee("dave@example.com"),),
    )
    async with uow_factory() as uow:
        [stored] = await uow.events.upsert(tenant.id, [changed], NOW + timedelta(hours=1))
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.events.get_by_provider_id(tenant.id, calendar.id, "ev-1")
        by_dave = await uow.events.find_by_attendee_email(tenant.id, "dave@example.com")
        by_alice = await uow.events.find_by_attendee_email(tenant.id, "alice@example.com")

    assert stored.id == first.id
    assert loaded is not None
    assert loaded.id == first.id
    assert loaded.subject == "Moved"
    assert [e.id for e in by_dave] == [first.id]
    assert by_alice == []


async def test_bulk_upsert_of_many_events(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    batch = [make_event(tenant.id, calendar.id, f"bulk-{i}") for i in range(1200)]
    async with uow_factory() as uow:
        stored = await uow.events.upsert(tenant.id, batch, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.events.find_by_attendee_email(tenant.id, "BOB@example.com")
    assert len(stored) == 1200
    assert len(found) == 1200


async def test_windows_find_events_and_occurrences(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    single = make_event(tenant.id, calendar.id, "single")
    series = make_event(
        tenant.id,
        calendar.id,
        "weekly",
        start=datetime(2025, 12, 1, 8, 0, tzinfo=UTC),
        end=datetime(2025, 12, 1, 9, 0, tzinfo=UTC),
        time_zone="UTC",
        recurrence=Recurrence(rrules=("FREQ=WEEKLY",)),
    )
    weekly = [
        Occurrence(
            event_id=series.id,
            start=datetime(2025, 12, 1, 8, 0, tzinfo=UTC) + timedelta(weeks=n),
            end=datetime(2025, 12, 1, 9, 0, tzinfo=UTC) + timedelta(weeks=n),
            original_start=datetime(2025, 12, 1, 8, 0, tzinfo=UTC) + timedelta(weeks=n),
        )
        for n in range(10)
    ]
    async with uow_factory() as uow:
        await uow.events.upsert(tenant.id, [single, series], NOW)
        await uow.occurrences.replace_for_events(
            tenant.id,
            [
                (series, weekly[:3]),
                (single, [Occurrence(single.id, single.start, single.end, single.start)]),
            ],
        )
        await uow.occurrences.replace_for_event(tenant.id, series, weekly)  # replaces the 3
        await uow.commit()
    start = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    end = datetime(2026, 1, 12, 0, 0, tzinfo=UTC)
    async with uow_factory() as uow:
        events = await uow.events.list_in_window(tenant.id, calendar.id, start, end)
        found = await uow.occurrences.list_in_window(tenant.id, start, end, calendar.id)
        later = await uow.events.list_in_window(
            tenant.id, calendar.id, end + timedelta(days=100), end + timedelta(days=101)
        )

    assert {e.provider_event_id for e in events} == {"single", "weekly"}
    assert [(o.event_id, o.start) for o in found] == [
        (series.id, datetime(2026, 1, 5, 8, 0, tzinfo=UTC)),
        (single.id, single.start),
    ]
    assert later == []
    async with uow_factory() as uow:
        everything = await uow.occurrences.list_in_window(
            tenant.id, start - timedelta(days=365), end + timedelta(days=365)
        )
    assert len(everything) == 11


async def test_deleting_an_event_removes_its_occurrences_and_index(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    event = make_event(tenant.id, calendar.id, "gone")
    async with uow_factory() as uow:
        await uow.events.upsert(tenant.id, [event], NOW)
        await uow.occurrences.replace_for_event(
            tenant.id, event, [Occurrence(event.id, event.start, event.end, event.start)]
        )
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.delete_by_provider_ids(tenant.id, calendar.id, ["gone"]) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.events.get(tenant.id, event.id) is None
        assert await uow.events.find_by_attendee_email(tenant.id, "alice@example.com") == []
        window = await uow.occurrences.list_in_window(
            tenant.id, NOW - timedelta(days=1), NOW + timedelta(days=7)
        )
        assert window == []
