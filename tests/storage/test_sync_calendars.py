"""Calendar discovery, scope state, sync status and the safety-net queries."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import timedelta

from calhub.domain.calendars import (
    Calendar,
    CalendarKind,
    ConnectionStatus,
    RoomDetails,
)
from calhub.domain.ids import CalendarId, ConnectionId, TenantId, new_id
from calhub.storage.repositories import DueCalendar
from calhub.storage.repositories.sync_status import NOTIFICATION_TIME_GRAIN as GRAIN
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant, make_event

HOUR = timedelta(hours=1)


def _room(
    tenant_id: TenantId, connection_id: ConnectionId, address: str, **room: object
) -> Calendar:
    return Calendar(
        id=CalendarId(new_id(NOW)),
        tenant_id=tenant_id,
        connection_id=connection_id,
        provider_calendar_id=f"id-{address}",
        kind=CalendarKind.ROOM,
        owner_email=address,
        name=f"Room {address}",
        created_at=NOW,
        updated_at=NOW,
        room=RoomDetails(**room),  # type: ignore[arg-type]
    )


async def test_discovery_keeps_known_calendars_and_marks_vanished_rooms(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    user = await add_calendar(uow_factory, tenant.id)
    conn = user.connection_id
    first = [
        _room(tenant.id, conn, "r1@example.com", capacity=8, building="HQ", floor_label="2"),
        _room(tenant.id, conn, "r2@example.com", capacity=4),
    ]
    async with uow_factory() as uow:
        stored = await uow.calendars.upsert_discovered(tenant.id, conn, first, NOW)
        await uow.sync_status.record_sync(
            tenant.id, stored[0].id, NOW, cursor="delta-r1", full=True
        )
        await uow.commit()

    renamed = dataclasses.replace(
        first[0], id=CalendarId(new_id(NOW)), name="Board room", room=RoomDetails(capacity=10)
    )
    later = NOW + HOUR
    async with uow_factory() as uow:
        again = await uow.calendars.upsert_discovered(tenant.id, conn, [renamed], later)
        missing = await uow.calendars.mark_missing(
            tenant.id, conn, CalendarKind.ROOM, [c.id for c in again], later
        )
        missing_again = await uow.calendars.mark_missing(
            tenant.id, conn, CalendarKind.ROOM, [c.id for c in again], later + HOUR
        )
        await uow.commit()
    async with uow_factory() as uow:
        r1 = await uow.calendars.get(tenant.id, first[0].id)
        r2 = await uow.calendars.get(tenant.id, first[1].id)
        still_user = await uow.calendars.get(tenant.id, user.id)
        back = await uow.calendars.upsert_discovered(tenant.id, conn, [first[1]], later + HOUR)

    assert [c.id for c in stored] == [c.id for c in first]
    assert stored[0].room == RoomDetails(capacity=8, building="HQ", floor_label="2")
    assert [c.id for c in again] == [first[0].id]  # known: its id kept
    assert missing == [first[1].id]
    assert missing_again == []
    assert r1 is not None
    assert (r1.name, r1.room, r1.sync_cursor) == (
        "Board room",
        RoomDetails(capacity=10),
        "delta-r1",
    )
    assert (r1.created_at, r1.updated_at, r1.missing_since) == (NOW, later, None)
    assert r2 is not None
    assert r2.missing_since == later
    assert still_user == user  # users are not touched by room discovery
    assert back[0].id == first[1].id
    assert back[0].missing_since is None


async def test_sync_status_and_safety_net_queries(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    quiet = await add_calendar(uow_factory, tenant.id, owner="quiet@example.com")
    busy = await add_calendar(uow_factory, tenant.id, owner="busy@example.com")
    refused = await add_calendar(uow_factory, tenant.id, owner="refused@example.com")
    off = await add_calendar(uow_factory, tenant.id, owner="off@example.com")
    now = NOW + 3 * HOUR
    async with uow_factory() as uow:
        await uow.sync_status.record_sync(tenant.id, quiet.id, NOW, cursor="d1", full=True)
        await uow.sync_status.record_sync(
            tenant.id,
            busy.id,
            now,
            cursor="d2",
            full=False,
            change_seen_at=now - timedelta(seconds=2),
        )
        await uow.sync_status.record_notifications([(tenant.id, busy.id)], now)
        await uow.sync_status.record_notifications([(tenant.id, busy.id)], now - HOUR)
        await uow.sync_status.record_failure(tenant.id, quiet.id, "Graph answered 503", now)
        await uow.sync_status.record_failure(tenant.id, quiet.id, "Graph answered 503", now)
        await uow.calendars.mark_out_of_scope(tenant.id, refused.id, "access policy", now)
        await uow.connections.set_status(
            tenant.id, off.connection_id, ConnectionStatus.CONSENT_REVOKED, NOW
        )
        await uow.commit()
    async with uow_factory() as uow:
        status = await uow.sync_status.get(tenant.id, busy.id)
        failing = await uow.sync_status.get(tenant.id, quiet.id)
        listed = await uow.sync_status.list(tenant.id)
        quiet_due = await uow.sync_status.quiet_calendars(now - HOUR, limit=10)
        full_due = await uow.sync_status.due_for_reconciliation(now - HOUR, limit=10)
        full_due_tomorrow = await uow.sync_status.due_for_reconciliation(now + 24 * HOUR, 10)

    assert status is not None
    assert (status.last_notification_at, status.last_synced_at, status.lag_seconds) == (
        now,
        now,
        2.0,
    )
    assert failing is not None
    assert (failing.consecutive_failures, failing.last_error) == (2, "Graph answered 503")
    assert {s.calendar_id for s in listed} == {quiet.id, busy.id, refused.id, off.id}

    def due(*calendars: Calendar) -> list[DueCalendar]:
        return [DueCalendar(tenant.id, c.connection_id, c.id) for c in calendars]

    def ours(found: Sequence[DueCalendar]) -> list[DueCalendar]:
        # The queries span tenants; other tests of this module add calendars too.
        return [d for d in found if d.tenant_id == tenant.id]

    # Revoked connections are left alone, and a refused mailbox is never in the quiet pass,
    # only in a reconciliation a day after the refusal. Never reconciled comes first.
    assert ours(quiet_due) == due(quiet)
    assert ours(full_due) == due(busy, quiet)
    assert set(ours(full_due_tomorrow)) == set(due(quiet, busy, refused))


async def test_success_clears_failures_and_scope_can_return(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    async with uow_factory() as uow:
        assert await uow.sync_status.record_failure(tenant.id, calendar.id, "timeout", NOW) == 1
        assert await uow.sync_status.record_failure(tenant.id, calendar.id, "timeout", NOW) == 2
        await uow.calendars.mark_out_of_scope(tenant.id, calendar.id, "access policy", NOW)
        refused = await uow.calendars.get(tenant.id, calendar.id)
        await uow.sync_status.record_sync(
            tenant.id, calendar.id, NOW + HOUR, cursor="delta-2", full=True
        )
        status = await uow.sync_status.get(tenant.id, calendar.id)
        synced = await uow.calendars.get(tenant.id, calendar.id)
        # Discovery brings a refused mailbox back too, without a sync.
        await uow.calendars.mark_out_of_scope(tenant.id, calendar.id, "access policy", NOW)
        assert await uow.calendars.clear_out_of_scope(tenant.id, calendar.id, NOW + HOUR)
        assert not await uow.calendars.clear_out_of_scope(tenant.id, calendar.id, NOW + HOUR)
        await uow.commit()

    assert refused is not None
    assert (refused.out_of_scope_reason, refused.out_of_scope_since) == ("access policy", NOW)
    assert status is not None
    assert (status.consecutive_failures, status.last_error) == (0, None)
    assert (status.last_full_sync_at, status.out_of_scope_reason) == (NOW + HOUR, None)
    assert synced is not None
    assert synced.sync_cursor == "delta-2"


async def test_other_tenant_sees_no_calendar_state(uow_factory: UnitOfWorkFactory) -> None:
    a = await add_tenant(uow_factory, "A")
    b = await add_tenant(uow_factory, "B")
    calendar = await add_calendar(uow_factory, a.id)
    async with uow_factory() as uow:
        assert await uow.sync_status.get(b.id, calendar.id) is None
        assert await uow.sync_status.list(b.id) == []
        assert not await uow.sync_status.record_sync(b.id, calendar.id, NOW, cursor="x", full=True)
        assert not await uow.sync_status.record_failure(b.id, calendar.id, "x", NOW)
        await uow.sync_status.record_notifications([(b.id, calendar.id)], NOW)
        assert not await uow.calendars.mark_out_of_scope(b.id, calendar.id, "x", NOW)
        assert (
            await uow.calendars.mark_missing(
                b.id, calendar.connection_id, CalendarKind.USER, [], NOW
            )
            == []
        )
        status = await uow.sync_status.get(a.id, calendar.id)
    assert status is not None
    assert (status.last_notification_at, status.last_synced_at) == (None, None)


async def test_recently_pushed_calendars_are_checked_at_doubling_intervals_after_the_push(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    pushed = await add_calendar(uow_factory, tenant.id, owner="pushed@example.com")
    long_ago = await add_calendar(uow_factory, tenant.id, owner="long-ago@example.com")
    minute, second = timedelta(minutes=1), timedelta(seconds=1)
    async with uow_factory() as uow:
        await uow.sync_status.record_notifications([(tenant.id, pushed.id)], NOW)
        await uow.sync_status.record_notifications([(tenant.id, long_ago.id)], NOW - 2 * HOUR)
        for calendar in (pushed, long_ago):
            await uow.sync_status.record_sync(
                tenant.id, calendar.id, NOW + 5 * second, cursor="d", full=False
            )
        await uow.commit()

    async def due_at(moment: timedelta, providers: Sequence[str] = ("fake",)) -> list[CalendarId]:
        async with uow_factory.reading() as uow:
            found = await uow.sync_status.recently_pushed_calendars(
                providers, NOW + moment, first_check_after=minute, within=HOUR, limit=100
            )
        return [d.calendar_id for d in found if d.tenant_id == tenant.id]

    assert await due_at(30 * second) == []
    assert await due_at(minute + 6 * second) == [pushed.id]  # a minute after the first sync
    assert await due_at(minute + 6 * second, providers=("msgraph",)) == []
    async with uow_factory() as uow:  # the check: 70 s after the push
        await uow.sync_status.record_sync(
            tenant.id, pushed.id, NOW + 70 * second, cursor="d", full=False
        )
        await uow.commit()
    assert await due_at(130 * second) == []
    assert await due_at(141 * second) == [pushed.id]  # 70 s after the check, not 60
    assert await due_at(HOUR + second) == []  # an hour on, the quiet pass takes over


async def test_recording_notifications_does_not_wait_for_a_sync_storing_the_calendars_events(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """A sync transaction that stored events holds a key-share lock on their calendar's row
    until it commits; the intake's bookkeeping must not wait for it. (It did, and an intake
    group and a group of syncs taking their calendars in different orders deadlocked.)"""
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    async with uow_factory() as syncing:
        await syncing.events.upsert(tenant.id, [make_event(tenant.id, calendar.id, "e-1")], NOW)
        async with uow_factory() as intake:
            async with asyncio.timeout(5):
                await intake.sync_status.record_notifications([(tenant.id, calendar.id)], NOW)
            await intake.commit()
        await syncing.commit()
    async with uow_factory() as uow:
        status = await uow.sync_status.get(tenant.id, calendar.id)
    assert status is not None
    assert status.last_notification_at == NOW


async def test_a_notification_time_moves_only_when_the_stored_one_is_a_grain_old(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    seen = []
    for at in (NOW, NOW + GRAIN / 2, NOW + GRAIN + timedelta(seconds=1)):
        async with uow_factory() as uow:
            await uow.sync_status.record_notifications([(tenant.id, calendar.id)], at)
            await uow.commit()
            status = await uow.sync_status.get(tenant.id, calendar.id)
        assert status is not None
        seen.append(status.last_notification_at)
    assert seen == [NOW, NOW, NOW + GRAIN + timedelta(seconds=1)]


async def test_recording_a_notification_within_the_grain_does_not_wait_for_the_calendars_sync(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """A sync pass writes its calendar's row and holds it until its transaction commits; a push
    for a calendar notified moments ago has nothing to write there, so it must not wait."""
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    async with uow_factory() as uow:
        await uow.sync_status.record_notifications([(tenant.id, calendar.id)], NOW)
        await uow.commit()
    async with uow_factory() as syncing:
        await syncing.sync_status.record_sync(tenant.id, calendar.id, NOW, cursor="d", full=False)
        async with uow_factory() as intake:
            async with asyncio.timeout(5):
                await intake.sync_status.record_notifications(
                    [(tenant.id, calendar.id)], NOW + GRAIN / 2
                )
            await intake.commit()
        await syncing.commit()
