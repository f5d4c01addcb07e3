"""The notification inbox: duplicates stored once, bulk intake, processing and pruning."""

from __future__ import annotations

from datetime import timedelta

from calhub.domain.calendars import Calendar, Secret, Subscription
from calhub.domain.ids import SubscriptionId, new_id
from calhub.storage.repositories import InboxNotification
from calhub.storage.repositories.notifications import PendingNotifications
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant


async def _subscribed(uow_factory: UnitOfWorkFactory, name: str) -> Subscription:
    tenant = await add_tenant(uow_factory, name)
    calendar: Calendar = await add_calendar(uow_factory, tenant.id)
    subscription = Subscription(
        id=SubscriptionId(new_id(NOW)),
        tenant_id=tenant.id,
        calendar_id=calendar.id,
        provider_subscription_id=f"sub-{name}",
        client_state=Secret("state"),
        expires_at=NOW + timedelta(days=2),
        created_at=NOW,
    )
    async with uow_factory() as uow:
        await uow.subscriptions.replace(subscription)
        await uow.commit()
    return subscription


async def _waiting(uow: UnitOfWork, subscription: Subscription) -> PendingNotifications | None:
    """What a sync job of the subscription's calendar would find waiting."""
    subject = await uow.calendars.get_for_sync(subscription.tenant_id, subscription.calendar_id)
    assert subject is not None
    return subject.pending


def _notification(subscription: Subscription, item: str, dedupe: str) -> InboxNotification:
    return InboxNotification(
        tenant_id=subscription.tenant_id,
        calendar_id=subscription.calendar_id,
        subscription_id=subscription.id,
        change_type="updated",
        resource_id=item,
        dedupe=dedupe,
    )


async def test_duplicate_notifications_are_stored_once(uow_factory: UnitOfWorkFactory) -> None:
    sub = await _subscribed(uow_factory, "dupes")
    a1, a2, b1 = (
        _notification(sub, "item-a", "ck-1"),
        _notification(sub, "item-a", "ck-2"),
        _notification(sub, "item-b", "ck-1"),
    )
    async with uow_factory() as uow:
        first = await uow.notifications.add_many([a1, a1, b1], NOW)
        await uow.commit()
    async with uow_factory() as uow:
        second = await uow.notifications.add_many([b1, a2, a1], NOW + timedelta(seconds=1))
        pending = await _waiting(uow, sub)
        await uow.commit()

    assert first == [a1, b1]
    assert second == [a2]  # a later change to a known item is new; redeliveries are not
    assert pending is not None
    assert (pending.count, pending.oldest_received_at) == (3, NOW)


async def test_processing_keeps_later_arrivals_and_prunes_processed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    sub = await _subscribed(uow_factory, "processing")
    async with uow_factory() as uow:
        await uow.notifications.add_many([_notification(sub, "i1", "x")], NOW)
        seen = await _waiting(uow, sub)
        await uow.notifications.add_many([_notification(sub, "i2", "x")], NOW)
        await uow.commit()
    assert seen is not None
    async with uow_factory() as uow:
        # A sync pass that read only the first marks it processed with its status.
        await uow.sync_status.record_sync(
            sub.tenant_id,
            sub.calendar_id,
            NOW,
            cursor="after-i1",
            full=False,
            answered_through=seen.newest_id,
        )
        left = await _waiting(uow, sub)
        kept = await uow.notifications.prune_processed(NOW)
        pruned = await uow.notifications.prune_processed(NOW + timedelta(seconds=1))
        await uow.commit()

    assert left is not None
    assert left.count == 1
    assert (kept, pruned) == (0, 1)


async def test_thousands_in_one_post_are_stored_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    sub = await _subscribed(uow_factory, "bulk")
    batch = [_notification(sub, f"item-{n}", "ck") for n in range(2_000)]
    async with uow_factory() as uow:
        new = await uow.notifications.add_many(batch, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.notifications.add_many(batch, NOW)
        pending = await _waiting(uow, sub)

    assert len(new) == 2_000
    assert again == []
    assert pending is not None
    assert pending.count == 2_000


async def test_a_sync_job_reads_calendar_connection_and_waiting_notifications_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    sub = await _subscribed(uow_factory, "subject")
    other = await add_tenant(uow_factory, "other")
    async with uow_factory() as uow:
        quiet = await uow.calendars.get_for_sync(sub.tenant_id, sub.calendar_id)
        await uow.notifications.add_many([_notification(sub, "item-a", "ck-1")], NOW)
        await uow.notifications.add_many(
            [_notification(sub, "item-b", "ck-1")], NOW + timedelta(seconds=3)
        )
        await uow.commit()
    async with uow_factory.reading() as uow:
        busy = await uow.calendars.get_for_sync(sub.tenant_id, sub.calendar_id)
        calendar = await uow.calendars.get(sub.tenant_id, sub.calendar_id)
        assert calendar is not None
        connection = await uow.connections.get(sub.tenant_id, calendar.connection_id)
        elsewhere = await uow.calendars.get_for_sync(other.id, sub.calendar_id)

    assert quiet is not None
    assert quiet.pending is None
    assert busy is not None
    assert (busy.calendar, busy.connection) == (calendar, connection)
    assert busy.pending is not None
    assert (busy.pending.count, busy.pending.oldest_received_at) == (2, NOW)
    assert elsewhere is None  # another tenant's calendar is not found
