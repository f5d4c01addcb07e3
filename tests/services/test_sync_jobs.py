"""The sync use cases against the live Graph emulator and PostgreSQL: discovery, subscriptions,
sync passes, and what happens when Microsoft stops honouring the connection (consent revoked,
app deleted, client secret expired, a mailbox blocked by the access policy)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.domain.calendars import (
    Calendar,
    CalendarKind,
    Connection,
    ConnectionStatus,
    SubscriptionStatus,
)
from calhub.domain.ids import TenantId
from calhub.emulators.graph.state import GraphState
from calhub.services.calendar_sync import sync_calendar_job
from calhub.services.connections import (
    CONNECTION_DISABLED,
    ConnectionNotReady,
    consent_link,
    set_credentials,
)
from calhub.services.context import HubContext
from calhub.services.discovery import discover_calendars
from calhub.services.jobs import SYNC_CALENDAR_TASK
from calhub.services.subscriptions import ensure_subscription, renew_due_subscriptions
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.emulators.graph.notification_receiver import Receiver
from tests.emulators.graph.seeds import ADELE, APP_ID, CONTOSO, MEGAN
from tests.hub_fixtures import RecordingJobQueue, connect_contoso, contoso_credentials
from tests.storage.factories import add_tenant


@pytest.fixture
def receiver(graph_state: GraphState) -> Receiver:
    """Answers Graph's validation handshake for calhub's hook URLs."""
    receiver = Receiver()
    graph_state.subscriptions.transport = receiver.transport()
    return receiver


async def _connected(hub: HubContext, uow_factory: UnitOfWorkFactory) -> Connection:
    tenant = await add_tenant(uow_factory)
    return await connect_contoso(hub, tenant.id)


async def _calendars(hub: HubContext, connection: Connection) -> dict[str, Calendar]:
    async with hub.uow() as uow:
        found = await uow.calendars.list(connection.tenant_id, connection_id=connection.id)
    return {c.provider_calendar_id: c for c in found}


def _jobs(hub: HubContext) -> RecordingJobQueue:
    assert isinstance(hub.jobs, RecordingJobQueue)
    return hub.jobs


async def test_discovery_finds_users_and_visible_rooms_and_asks_for_subscriptions(
    hub: HubContext, uow_factory: UnitOfWorkFactory
) -> None:
    connection = await _connected(hub, uow_factory)

    outcome = await discover_calendars(hub, connection.tenant_id, connection.id)

    assert outcome is not None
    calendars = await _calendars(hub, connection)
    rooms = {c.owner_email for c in calendars.values() if c.kind is CalendarKind.ROOM}
    assert rooms == {"cf100@contoso.test", "cf200@contoso.test", "hotdesk@contoso.test"}
    assert {ADELE, MEGAN} <= set(calendars)
    assert calendars["hotdesk@contoso.test"].room is not None
    assert calendars["hotdesk@contoso.test"].room.bookable is False
    asked = [args["calendar_id"] for name, args in _jobs(hub).take()]
    assert sorted(asked) == sorted(str(c.id) for c in calendars.values())


async def test_a_room_that_disappears_is_marked_missing_and_kept(
    hub: HubContext, uow_factory: UnitOfWorkFactory, graph_state: GraphState
) -> None:
    connection = await _connected(hub, uow_factory)
    await discover_calendars(hub, connection.tenant_id, connection.id)
    contoso = graph_state.tenants[CONTOSO]
    mailbox = contoso.mailbox("cf200@contoso.test")
    assert mailbox is not None
    del contoso.mailboxes[mailbox.id]  # the room mailbox was removed from the directory

    outcome = await discover_calendars(hub, connection.tenant_id, connection.id)

    assert outcome is not None
    assert outcome.missing == 1
    room = (await _calendars(hub, connection))["cf200@contoso.test"]
    assert room.missing_since == hub.clock.now()


async def test_subscription_is_created_with_graphs_expiry_and_a_sync_follows(
    hub: HubContext, uow_factory: UnitOfWorkFactory, graph_state: GraphState, receiver: Receiver
) -> None:
    connection = await _connected(hub, uow_factory)
    await discover_calendars(hub, connection.tenant_id, connection.id)
    adele = (await _calendars(hub, connection))[ADELE]
    _jobs(hub).take()

    subscription = await ensure_subscription(hub, connection.tenant_id, adele.id)

    assert subscription is not None
    [at_graph] = graph_state.subscriptions.owned_by(CONTOSO, APP_ID)
    assert at_graph.id == subscription.provider_subscription_id
    assert at_graph.client_state == subscription.client_state.reveal()
    assert at_graph.notification_url == "https://calhub.test/hooks/microsoft"
    assert subscription.expires_at == at_graph.expiration
    assert len(receiver.handshakes) == 2  # notification and lifecycle URLs both validated
    assert _jobs(hub).take() == [
        (
            SYNC_CALENDAR_TASK,
            {"tenant_id": str(adele.tenant_id), "calendar_id": str(adele.id), "full": False},
        )
    ]
    again = await ensure_subscription(hub, connection.tenant_id, adele.id)
    assert again == subscription  # still fresh: nothing recreated


async def test_renewal_extends_subscriptions_close_to_expiry(
    hub: HubContext, uow_factory: UnitOfWorkFactory, graph_state: GraphState, receiver: Receiver
) -> None:
    connection = await _connected(hub, uow_factory)
    await discover_calendars(hub, connection.tenant_id, connection.id)
    adele = (await _calendars(hub, connection))[ADELE]
    created = await ensure_subscription(hub, connection.tenant_id, adele.id)
    assert created is not None
    graph_state.clock.advance(timedelta(days=2, hours=12).total_seconds())

    await renew_due_subscriptions(hub)

    async with hub.uow() as uow:
        renewed = await uow.subscriptions.for_calendar(connection.tenant_id, adele.id)
    assert renewed is not None
    assert renewed.expires_at > created.expires_at
    assert renewed.renewed_at == hub.clock.now()


async def _event(outlook: httpx.AsyncClient, subject: str) -> dict[str, Any]:
    response = await outlook.post(
        "/v1.0/users/adele@contoso.test/events",
        json={
            "subject": subject,
            "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"},
        },
    )
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


async def test_a_sync_pass_mirrors_the_calendar_and_clears_its_notifications(
    hub: HubContext, uow_factory: UnitOfWorkFactory, outlook: httpx.AsyncClient
) -> None:
    connection = await _connected(hub, uow_factory)
    await discover_calendars(hub, connection.tenant_id, connection.id)
    adele = (await _calendars(hub, connection))[ADELE]
    await _event(outlook, "Planning")

    result = await sync_calendar_job(hub, connection.tenant_id, adele.id)

    assert result.outcome is not None
    assert result.outcome.upserted == 1
    async with hub.uow() as uow:
        status = await uow.sync_status.get(connection.tenant_id, adele.id)
    assert status is not None
    assert status.last_synced_at == hub.clock.now()
    assert status.last_error is None


async def test_a_mailbox_blocked_by_the_access_policy_is_marked_and_not_retried_hot(
    hub: HubContext, uow_factory: UnitOfWorkFactory
) -> None:
    connection = await _connected(hub, uow_factory)
    await discover_calendars(hub, connection.tenant_id, connection.id)
    megan = (await _calendars(hub, connection))[MEGAN]
    _jobs(hub).take()

    result = await sync_calendar_job(hub, connection.tenant_id, megan.id)

    marked = (await _calendars(hub, connection))[MEGAN]
    assert result.outcome is None
    assert marked.out_of_scope_reason is not None
    assert "application access policy" in marked.out_of_scope_reason
    assert "megan" not in marked.out_of_scope_reason.lower()  # no address in the status
    assert _jobs(hub).take() == []  # no hot retry
    async with hub.uow() as uow:
        quiet = await uow.sync_status.quiet_calendars(hub.clock.now() + timedelta(hours=2), 100)
    assert megan.id not in {due.calendar_id for due in quiet}


async def _disabled_events(hub: HubContext, tenant_id: TenantId) -> list[dict[str, Any]]:
    async with hub.uow() as uow:
        events = await uow.outbox.list_after(tenant_id, 0)
    return [dict(e.payload) for e in events if e.kind == CONNECTION_DISABLED]


async def test_revoked_consent_disables_purges_and_stops_until_consent_is_given_again(
    hub: HubContext,
    uow_factory: UnitOfWorkFactory,
    outlook: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    connection = await _connected(hub, uow_factory)
    tenant_id = connection.tenant_id
    await discover_calendars(hub, tenant_id, connection.id)
    adele = (await _calendars(hub, connection))[ADELE]
    await ensure_subscription(hub, tenant_id, adele.id)
    _jobs(hub).take()
    await outlook.post(f"/_emulator/tenants/{CONTOSO}/consent", json={"state": "revoked"})

    result = await sync_calendar_job(hub, tenant_id, adele.id)

    async with hub.uow() as uow:
        stored = await uow.connections.get(tenant_id, connection.id)
        subscription = await uow.subscriptions.for_calendar(tenant_id, adele.id)
    assert result.outcome is None
    assert stored is not None
    assert stored.status is ConnectionStatus.CONSENT_REVOKED
    assert stored.credentials.reveal() == ""  # secret purged
    assert subscription is None
    assert [e["status"] for e in await _disabled_events(hub, tenant_id)] == ["consent_revoked"]
    assert (await sync_calendar_job(hub, tenant_id, adele.id)).skipped
    with pytest.raises(ConnectionNotReady, match="set them again"):
        await consent_link(hub, tenant_id, connection.id)

    await set_credentials(hub, tenant_id, connection.id, contoso_credentials())
    link = await consent_link(hub, tenant_id, connection.id)
    assert "adminconsent" in link.url


async def test_a_deleted_app_is_detected_as_revoked_consent(
    hub: HubContext, uow_factory: UnitOfWorkFactory, graph_state: GraphState
) -> None:
    connection = await _connected(hub, uow_factory)
    await discover_calendars(hub, connection.tenant_id, connection.id)
    adele = (await _calendars(hub, connection))[ADELE]
    graph_state.tenants[CONTOSO].apps[APP_ID].consent = "deleted"
    # A token already issued stays valid for its hour; the next one is refused.
    await hub.providers.forget(connection.id)

    await sync_calendar_job(hub, connection.tenant_id, adele.id)

    async with hub.uow() as uow:
        stored = await uow.connections.get(connection.tenant_id, connection.id)
    assert stored is not None
    assert stored.status is ConnectionStatus.CONSENT_REVOKED


async def test_an_expired_client_secret_waits_for_new_credentials(
    hub: HubContext, uow_factory: UnitOfWorkFactory, graph_state: GraphState
) -> None:
    connection = await _connected(hub, uow_factory)
    tenant_id = connection.tenant_id
    await discover_calendars(hub, tenant_id, connection.id)
    adele = (await _calendars(hub, connection))[ADELE]
    app = graph_state.tenants[CONTOSO].apps[APP_ID]
    app.client_secret_expires_at = hub.clock.now()
    await hub.providers.forget(connection.id)

    await sync_calendar_job(hub, tenant_id, adele.id)

    async with hub.uow() as uow:
        stored = await uow.connections.get(tenant_id, connection.id)
        status = await uow.sync_status.get(tenant_id, adele.id)
    assert stored is not None
    assert stored.status is ConnectionStatus.NEEDS_REAUTH
    assert stored.credentials.reveal() != ""  # the admin replaces it; nothing to purge
    assert status is not None
    assert "rejected the client secret" in (status.last_error or "")
    assert (await _disabled_events(hub, tenant_id))[0]["status"] == "needs_reauth"

    app.client_secret, app.client_secret_expires_at = "new-secret", None
    _jobs(hub).take()
    await set_credentials(hub, tenant_id, connection.id, contoso_credentials("new-secret"))
    assert [name for name, _ in _jobs(hub).take()] == ["calhub.discover_calendars"]
    assert (await sync_calendar_job(hub, tenant_id, adele.id)).outcome is not None


async def test_a_removed_subscription_is_recreated(
    hub: HubContext, uow_factory: UnitOfWorkFactory, receiver: Receiver
) -> None:
    connection = await _connected(hub, uow_factory)
    await discover_calendars(hub, connection.tenant_id, connection.id)
    adele = (await _calendars(hub, connection))[ADELE]
    first = await ensure_subscription(hub, connection.tenant_id, adele.id)
    assert first is not None
    async with hub.uow() as uow:
        await uow.subscriptions.set_status(
            connection.tenant_id, first.id, SubscriptionStatus.REMOVED
        )
        await uow.commit()

    second = await ensure_subscription(hub, connection.tenant_id, adele.id)

    assert second is not None
    assert second.provider_subscription_id != first.provider_subscription_id
    assert second.client_state != first.client_state
    assert [name for name, _ in _jobs(hub).take()][-1] == SYNC_CALENDAR_TASK  # resync follows
