"""Subscriptions (one per calendar, client state checked in constant time) and the outbox."""

from __future__ import annotations

from datetime import timedelta

from calhub.domain.calendars import Calendar, Secret, Subscription, SubscriptionStatus
from calhub.domain.ids import SubscriptionId, TenantId, new_id
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant

DAY = timedelta(days=1)


def subscription_for(calendar: Calendar, provider_id: str, expires_in: timedelta) -> Subscription:
    return Subscription(
        id=SubscriptionId(new_id(NOW)),
        tenant_id=calendar.tenant_id,
        calendar_id=calendar.id,
        provider_subscription_id=provider_id,
        client_state=Secret(f"state-of-{provider_id}"),
        expires_at=NOW + expires_in,
        created_at=NOW,
    )


async def test_subscription_lifecycle(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    first = subscription_for(calendar, "sub-1", DAY)
    second = subscription_for(calendar, "sub-2", 2 * DAY)
    async with uow_factory() as uow:
        await uow.subscriptions.replace(first)
        stored = await uow.subscriptions.get(tenant.id, first.id)
        await uow.subscriptions.replace(second)  # recreated: the calendar keeps one
        await uow.subscriptions.set_status(
            tenant.id, second.id, SubscriptionStatus.REAUTHORIZATION_REQUIRED
        )
        await uow.commit()
    async with uow_factory() as uow:
        gone = await uow.subscriptions.get(tenant.id, first.id)
        due = await uow.subscriptions.due_for_renewal(NOW + 3 * DAY, limit=100)
        assert await uow.subscriptions.record_renewal(tenant.id, second.id, NOW + 4 * DAY, NOW)
        renewed = await uow.subscriptions.for_calendar(tenant.id, calendar.id)
        by_connection = await uow.subscriptions.list_for_connection(
            tenant.id, calendar.connection_id
        )
        not_due = await uow.subscriptions.due_for_renewal(NOW + 3 * DAY, limit=100)
        await uow.commit()

    assert stored == first
    assert repr(first.client_state) == "Secret('**********')"
    assert gone is None
    assert [s.id for s in due if s.tenant_id == tenant.id] == [second.id]
    assert due[[s.id for s in due].index(second.id)].status is (
        SubscriptionStatus.REAUTHORIZATION_REQUIRED
    )
    assert renewed is not None
    assert (renewed.expires_at, renewed.renewed_at, renewed.status) == (
        NOW + 4 * DAY,
        NOW,
        SubscriptionStatus.ACTIVE,
    )
    assert by_connection == [renewed]
    assert second.id not in [s.id for s in not_due]


async def test_intake_lookup_checks_client_state(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    subscription = subscription_for(calendar, "sub-intake", DAY)
    async with uow_factory() as uow:
        await uow.subscriptions.replace(subscription)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.subscriptions.for_intake(["sub-intake", "sub-unknown", "sub-intake"])

    assert list(found) == ["sub-intake"]
    intake = found["sub-intake"]
    assert (intake.id, intake.tenant_id, intake.calendar_id) == (
        subscription.id,
        tenant.id,
        calendar.id,
    )
    assert intake.accepts("state-of-sub-intake")
    assert not intake.accepts("state-of-sub-other")
    assert "state-of" not in repr(intake)


async def test_other_tenant_cannot_reach_subscriptions(uow_factory: UnitOfWorkFactory) -> None:
    a = await add_tenant(uow_factory, "A")
    b = await add_tenant(uow_factory, "B")
    calendar = await add_calendar(uow_factory, a.id)
    subscription = subscription_for(calendar, "sub-a", DAY)
    async with uow_factory() as uow:
        await uow.subscriptions.replace(subscription)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.subscriptions.get(b.id, subscription.id) is None
        assert await uow.subscriptions.for_calendar(b.id, calendar.id) is None
        assert await uow.subscriptions.list_for_connection(b.id, calendar.connection_id) == []
        assert not await uow.subscriptions.record_renewal(b.id, subscription.id, NOW, NOW)
        assert not await uow.subscriptions.delete(b.id, subscription.id)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.subscriptions.get(a.id, subscription.id) == subscription
        assert await uow.subscriptions.delete(a.id, subscription.id)
        await uow.commit()


async def test_outbox_reads_in_order_and_delivers_once(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    other = await add_tenant(uow_factory, "Other")
    async with uow_factory() as uow:
        first = await uow.outbox.add(tenant.id, "connection.disabled", {"connection": "c1"}, NOW)
        second = await uow.outbox.add(tenant.id, "connection.disabled", {"connection": "c2"}, NOW)
        await uow.outbox.add(other.id, "connection.disabled", {"connection": "c3"}, NOW)
        await uow.commit()
    async with uow_factory() as uow:
        listed = await uow.outbox.list_after(tenant.id, 0)
        after_first = await uow.outbox.list_after(tenant.id, first)
        pending = await uow.outbox.undelivered()
        delivered = await uow.outbox.mark_delivered([first, second], NOW)
        again = await uow.outbox.mark_delivered([first], NOW)
        await uow.commit()
    async with uow_factory() as uow:
        still_pending = await uow.outbox.undelivered()

    assert [(e.id, e.tenant_id, e.payload) for e in listed] == [
        (first, tenant.id, {"connection": "c1"}),
        (second, tenant.id, {"connection": "c2"}),
    ]
    assert [e.id for e in after_first] == [second]
    assert {first, second} <= {e.id for e in pending}
    assert (delivered, again) == (2, 0)
    assert [e.tenant_id for e in still_pending] == [TenantId(other.id)]
