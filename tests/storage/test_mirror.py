"""The mirror: applying sync plans (series, exceptions, deletions), reading back for the
planner, tenant isolation, and no plaintext of the new sync state in a database dump."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from calhub.domain.calendars import Calendar, MailboxScope, ScopeKind, Secret, Subscription
from calhub.domain.events import Event, Occurrence, Recurrence
from calhub.domain.ids import EventId, SubscriptionId, new_id
from calhub.domain.sync.changes import SeriesOccurrences, SyncPlan
from calhub.storage.repositories import MirrorSnapshot, StalePlan
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant, make_event
from .test_canary import CANARY, _forms, _pg_dump

WEEK = timedelta(days=7)


def _series(calendar: Calendar) -> tuple[Event, Event, Event]:
    master = make_event(
        calendar.tenant_id,
        calendar.id,
        "master",
        recurrence=Recurrence(rrules=("FREQ=WEEKLY;COUNT=3",)),
    )
    moved = master.start + WEEK + timedelta(hours=2)
    exception = make_event(
        calendar.tenant_id,
        calendar.id,
        "master-exception",
        start=moved,
        end=moved + timedelta(hours=1),
        series_id=master.id,
        recurrence_id=master.start + WEEK,
        subject="Planning (moved)",
    )
    single = make_event(calendar.tenant_id, calendar.id, "single", subject="One-off")
    return master, exception, single


def _once(event: Event) -> Occurrence:
    return Occurrence(event.id, event.start, event.end, event.start)


def _plan(master: Event, exception: Event, single: Event) -> SyncPlan:
    unchanged = (
        _once(master),
        dataclasses.replace(
            _once(master),
            start=master.start + 2 * WEEK,
            end=master.end + 2 * WEEK,
            original_start=master.start + 2 * WEEK,
        ),
    )
    override = Occurrence(exception.id, exception.start, exception.end, master.start + WEEK, True)
    return SyncPlan(
        upserts=(master, exception, single),
        occurrences=(
            SeriesOccurrences(master.id, unchanged),
            SeriesOccurrences(exception.id, (override,)),
            SeriesOccurrences(single.id, (_once(single),)),
        ),
    )


async def test_apply_round_trip_and_master_deletion(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    master, exception, single = _series(calendar)
    plan = _plan(master, exception, single)
    async with uow_factory() as uow:
        applied = await uow.mirror.apply(tenant.id, calendar.id, plan, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        snapshot = await uow.mirror.mirror_snapshot(tenant.id, calendar.id)
        for_exception = await uow.mirror.load_for_planning(
            tenant.id, calendar.id, ["master-exception", "unknown"]
        )
        for_master = await uow.mirror.load_for_planning(tenant.id, calendar.id, ["master"])
        for_single = await uow.mirror.load_for_planning(tenant.id, calendar.id, ["single"])

    assert (applied.upserted, applied.deleted, applied.occurrence_sets) == (3, 0, 3)
    assert snapshot == MirrorSnapshot(
        events={"master": master, "master-exception": exception, "single": single},
        occurrences={
            "master": plan.occurrences[0].occurrences,
            "master-exception": plan.occurrences[1].occurrences,
            "single": plan.occurrences[2].occurrences,
        },
    )
    assert for_exception == {"master": master, "master-exception": exception}
    assert for_master == for_exception
    assert for_single == {"single": single}

    edited = dataclasses.replace(single, subject="One-off, edited", change_key="ck2")
    async with uow_factory() as uow:
        removed = await uow.mirror.apply(
            tenant.id,
            calendar.id,
            SyncPlan(
                upserts=(edited,),
                deletes=(master.id,),
                occurrences=(SeriesOccurrences(single.id, ()),),
            ),
            NOW + WEEK,
        )
        await uow.commit()
    async with uow_factory() as uow:
        after = await uow.mirror.mirror_snapshot(tenant.id, calendar.id)
        overrides = await uow.events.list_overrides(tenant.id, master.id)

    assert removed.deleted == 2  # the master took its exception with it
    assert after == MirrorSnapshot(events={"single": edited}, occurrences={"single": ()})
    assert overrides == []


async def test_stale_plans_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    stored = make_event(tenant.id, calendar.id, "known")
    async with uow_factory() as uow:
        await uow.mirror.apply(tenant.id, calendar.id, SyncPlan(upserts=(stored,)), NOW)
        await uow.commit()
    under_new_id = dataclasses.replace(stored, id=EventId(new_id(NOW)))
    ghost = EventId(new_id(NOW))
    async with uow_factory() as uow:
        with pytest.raises(StalePlan, match="another id"):
            await uow.mirror.apply(tenant.id, calendar.id, SyncPlan(upserts=(under_new_id,)), NOW)
    async with uow_factory() as uow:
        with pytest.raises(StalePlan, match="not in the calendar"):
            await uow.mirror.apply(
                tenant.id, calendar.id, SyncPlan(occurrences=(SeriesOccurrences(ghost, ()),)), NOW
            )


async def test_other_tenant_cannot_read_or_change_the_mirror(
    uow_factory: UnitOfWorkFactory,
) -> None:
    a = await add_tenant(uow_factory, "A")
    b = await add_tenant(uow_factory, "B")
    calendar = await add_calendar(uow_factory, a.id)
    event = make_event(a.id, calendar.id, "a-event")
    plan = SyncPlan(upserts=(event,), occurrences=(SeriesOccurrences(event.id, (_once(event),)),))
    async with uow_factory() as uow:
        await uow.mirror.apply(a.id, calendar.id, plan, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.mirror.mirror_snapshot(b.id, calendar.id) == MirrorSnapshot({}, {})
        assert await uow.mirror.load_for_planning(b.id, calendar.id, ["a-event"]) == {}
        assert await uow.events.provider_ids(b.id, calendar.id) == {}
        deleted = await uow.mirror.apply(b.id, calendar.id, SyncPlan(deletes=(event.id,)), NOW)
        assert deleted.deleted == 0
        with pytest.raises(StalePlan):
            await uow.mirror.apply(
                b.id, calendar.id, SyncPlan(occurrences=(SeriesOccurrences(event.id, ()),)), NOW
            )
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.mirror.apply(
                b.id, calendar.id, SyncPlan(upserts=(make_event(b.id, calendar.id, "x"),)), NOW
            )
    async with uow_factory() as uow:
        snapshot = await uow.mirror.mirror_snapshot(a.id, calendar.id)
    assert snapshot == MirrorSnapshot({"a-event": event}, {"a-event": (_once(event),)})


async def test_sync_state_leaves_no_plaintext_in_a_dump(
    uow_factory: UnitOfWorkFactory, database_url: str
) -> None:
    tenant = await add_tenant(uow_factory, "Canary Sync")
    calendar = await add_calendar(uow_factory, tenant.id)
    event = make_event(tenant.id, calendar.id, "canary", subject=f"Sync {CANARY}")
    subscription = Subscription(
        id=SubscriptionId(new_id(NOW)),
        tenant_id=tenant.id,
        calendar_id=calendar.id,
        provider_subscription_id="sub-canary",
        client_state=Secret(f"client-{CANARY}"),
        expires_at=NOW + WEEK,
        created_at=NOW,
    )
    scope = MailboxScope(ScopeKind.MAILBOXES, (f"{CANARY}@example.com",))
    async with uow_factory() as uow:
        await uow.mirror.apply(tenant.id, calendar.id, SyncPlan(upserts=(event,)), NOW)
        await uow.subscriptions.replace(subscription)
        await uow.connections.set_scope(tenant.id, calendar.connection_id, scope, NOW)
        await uow.connections.save_token_cache(
            tenant.id, calendar.connection_id, Secret(f"token-{CANARY}")
        )
        state = await uow.consent_states.issue(
            tenant.id, calendar.connection_id, expires_at=NOW + WEEK, now=NOW
        )
        await uow.commit()
    dump = _pg_dump(database_url)

    assert state.encode() not in dump

    assert b"sub-canary" in dump  # the dump holds the new tables: the search is meaningful
    for form in _forms(CANARY):
        assert form not in dump
