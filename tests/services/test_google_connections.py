"""Connecting Google Workspace against the live Google emulator: the delegation is checked at
once (granted: active, discovery queued; refused: what to grant, in words), checked again later,
a new key after a revoked delegation, and the registry's Google adapter at work."""

from __future__ import annotations

import pytest

from calhub.domain.calendars import CalendarKind, ConnectionStatus
from calhub.domain.ids import TenantId
from calhub.providers.google.auth import CALENDAR_SCOPES
from calhub.services import connections, google_connections
from calhub.services.context import HubContext
from calhub.services.google_connections import InvalidGoogleCredentials
from calhub.services.jobs import DISCOVER_CALENDARS_TASK
from calhub.services.providers import GoogleCredentials
from calhub.services.tenants import create_tenant
from tests.emulators.google.seeds import ADA, BEN, ROOM_ATLAS
from tests.hub_fixtures import RecordingJobQueue, contoso_credentials
from tests.services.google_world import LiveGoogle, northwind_credentials, northwind_key


async def _tenant(hub: HubContext) -> TenantId:
    return (await create_tenant(hub.uow, hub.clock, "Northwind")).id


def _tasks(hub: HubContext) -> list[str]:
    assert isinstance(hub.jobs, RecordingJobQueue)
    return [task for task, _ in hub.jobs.take()]


async def _events(hub: HubContext, tenant_id: TenantId) -> list[str]:
    async with hub.uow() as uow:
        return [event.kind for event in await uow.outbox.list_after(tenant_id, 0)]


async def test_a_granted_delegation_activates_the_connection_and_the_registry_reads_google(
    google_hub: HubContext,
) -> None:
    tenant_id = await _tenant(google_hub)

    outcome = await google_connections.create_google_connection(
        google_hub, tenant_id, northwind_credentials(), domain="Northwind.test"
    )

    assert outcome.delegation.granted is True
    connection = outcome.connection
    assert connection.status is ConnectionStatus.ACTIVE
    assert connection.provider_tenant_id == "northwind.test"
    assert _tasks(google_hub) == [DISCOVER_CALENDARS_TASK]
    assert connections.CONNECTION_CONSENTED in await _events(google_hub, tenant_id)
    provider = await google_hub.providers.for_connection(connection)
    found = {c.provider_calendar_id: c for c in await provider.discover_calendars()}
    assert found[BEN].kind is CalendarKind.USER
    assert found[ROOM_ATLAS].kind is CalendarKind.ROOM
    assert provider is await google_hub.providers.for_connection(connection)  # kept


async def test_a_refused_delegation_says_what_to_grant_and_a_recheck_activates_it(
    google_hub: HubContext, live_google: LiveGoogle
) -> None:
    tenant_id = await _tenant(google_hub)
    live_google.set_delegation("revoked")

    outcome = await google_connections.create_google_connection(
        google_hub, tenant_id, northwind_credentials()
    )

    assert outcome.delegation.granted is False
    assert outcome.connection.status is ConnectionStatus.CONSENT_PENDING
    message = outcome.delegation.message
    assert "Domain-wide delegation" in message
    assert f"client ID {northwind_key()['client_id']}" in message
    assert ",".join(CALENDAR_SCOPES) in message
    assert _tasks(google_hub) == []
    still = await google_connections.recheck_delegation(
        google_hub, tenant_id, outcome.connection.id
    )
    assert still.connection.status is ConnectionStatus.CONSENT_PENDING

    live_google.set_delegation("granted")
    granted = await google_connections.recheck_delegation(
        google_hub, tenant_id, outcome.connection.id
    )

    assert granted.delegation.granted
    assert granted.connection.status is ConnectionStatus.ACTIVE
    assert granted.connection.provider_tenant_id == "northwind.test"  # the admin's domain
    assert _tasks(google_hub) == [DISCOVER_CALENDARS_TASK]


async def test_an_admin_who_is_not_in_the_domain_is_named(google_hub: HubContext) -> None:
    tenant_id = await _tenant(google_hub)
    outcome = await google_connections.create_google_connection(
        google_hub, tenant_id, northwind_credentials("nobody@northwind.test")
    )
    assert outcome.delegation.granted is False
    assert "nobody@northwind.test is not a user" in outcome.delegation.message
    assert outcome.connection.status is ConnectionStatus.CONSENT_PENDING


async def test_an_unusable_key_is_refused_before_anything_is_stored(
    google_hub: HubContext,
) -> None:
    tenant_id = await _tenant(google_hub)
    broken = GoogleCredentials(northwind_key() | {"type": "authorized_user"}, ADA)
    with pytest.raises(InvalidGoogleCredentials, match="not 'service_account'"):
        await google_connections.create_google_connection(google_hub, tenant_id, broken)
    no_admin = GoogleCredentials(northwind_key(), "ada")
    with pytest.raises(InvalidGoogleCredentials, match="e-mail address"):
        await google_connections.create_google_connection(google_hub, tenant_id, no_admin)
    assert await connections.list_connections(google_hub, tenant_id) == []


async def test_a_revoked_delegation_is_restored_with_the_key_given_again(
    google_hub: HubContext,
) -> None:
    tenant_id = await _tenant(google_hub)
    created = await google_connections.create_google_connection(
        google_hub, tenant_id, northwind_credentials()
    )
    connection_id = created.connection.id
    assert await connections.disable_for_revoked_consent(
        google_hub, tenant_id, connection_id, "delegation withdrawn"
    )
    with pytest.raises(connections.ConnectionNotReady, match="give the key again"):
        await google_connections.recheck_delegation(google_hub, tenant_id, connection_id)
    _tasks(google_hub)

    restored = await google_connections.set_google_credentials(
        google_hub, tenant_id, connection_id, northwind_credentials()
    )

    assert restored.connection.status is ConnectionStatus.ACTIVE
    assert _tasks(google_hub) == [DISCOVER_CALENDARS_TASK]


async def test_microsoft_only_steps_are_refused_on_google_and_the_reverse(
    google_hub: HubContext,
) -> None:
    tenant_id = await _tenant(google_hub)
    google = await google_connections.create_google_connection(
        google_hub, tenant_id, northwind_credentials()
    )
    microsoft = await connections.create_microsoft_connection(
        google_hub, tenant_id, contoso_credentials()
    )

    with pytest.raises(connections.WrongProvider, match="Google Workspace connection"):
        await connections.consent_link(google_hub, tenant_id, google.connection.id)
    with pytest.raises(connections.WrongProvider, match="domain-wide delegation"):
        await connections.set_credentials(
            google_hub, tenant_id, google.connection.id, contoso_credentials()
        )
    with pytest.raises(connections.WrongProvider, match="not a Google Workspace one"):
        await google_connections.recheck_delegation(google_hub, tenant_id, microsoft.id)
