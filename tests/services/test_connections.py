"""The connection use cases against the live Graph emulator: the admin-consent round trip, state
checks, verification with a test mailbox, and "sync / discover now" on request."""

from __future__ import annotations

import ssl
import uuid
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from calhub.domain.calendars import Calendar, CalendarKind, ConnectionStatus
from calhub.domain.ids import CalendarId, ConnectionId, TenantId, new_id
from calhub.emulators.graph.clock import EmulatorClock
from calhub.services import calendars, connections
from calhub.services.context import HubContext
from calhub.services.jobs import DISCOVER_CALENDARS_TASK, SYNC_CALENDAR_TASK
from calhub.services.tenants import create_tenant
from tests.emulators.graph.seeds import APP_ID, CONTOSO
from tests.hub_fixtures import LiveGraph, RecordingJobQueue, connect_contoso, contoso_credentials


async def _tenant(hub: HubContext, name: str = "Acme") -> TenantId:
    return (await create_tenant(hub.uow, hub.clock, name)).id


async def _new_connection(hub: HubContext, tenant_id: TenantId) -> ConnectionId:
    connection = await connections.create_microsoft_connection(
        hub, tenant_id, contoso_credentials(), tenant_hint="contoso.test"
    )
    return connection.id


async def _microsoft_answer(live_graph: LiveGraph, consent_url: str) -> dict[str, str]:
    """Open the consent URL as the admin's browser would; the query Microsoft sends back."""
    context = ssl.create_default_context(cafile=str(live_graph.ca_bundle))
    async with httpx.AsyncClient(verify=context, trust_env=False) as browser:
        response = await browser.get(consent_url)
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert location.path == connections.CONSENT_CALLBACK_PATH
    return dict(parse_qsl(location.query))


def _jobs(hub: HubContext) -> list[tuple[str, dict[str, object]]]:
    assert isinstance(hub.jobs, RecordingJobQueue)
    return hub.jobs.take()


async def test_the_consent_round_trip_activates_the_connection_and_starts_discovery(
    hub: HubContext, live_graph: LiveGraph
) -> None:
    tenant_id = await _tenant(hub)
    connection_id = await _new_connection(hub, tenant_id)
    link = await connections.consent_link(hub, tenant_id, connection_id)
    assert link.url.startswith(f"{live_graph.origin}/contoso.test/adminconsent?")
    assert dict(parse_qsl(urlsplit(link.url).query))["client_id"] == APP_ID

    answer = await _microsoft_answer(live_graph, link.url)
    outcome = await connections.complete_consent(hub, answer)

    assert outcome.granted, outcome.message
    connection = await connections.get_connection(hub, tenant_id, connection_id)
    assert connection.status is ConnectionStatus.ACTIVE
    assert connection.provider_tenant_id == CONTOSO
    assert _jobs(hub) == [
        (
            DISCOVER_CALENDARS_TASK,
            {"tenant_id": str(tenant_id), "connection_id": str(connection_id)},
        )
    ]
    replay = await connections.complete_consent(hub, answer)
    assert not replay.granted
    assert "already used" in replay.message


async def test_a_declined_consent_is_explained_and_connects_nothing(
    hub: HubContext, live_graph: LiveGraph
) -> None:
    tenant_id = await _tenant(hub)
    connection_id = await _new_connection(hub, tenant_id)
    live_graph.state.tenant(CONTOSO).apps[APP_ID].consent = "denied"  # type: ignore[union-attr]
    link = await connections.consent_link(hub, tenant_id, connection_id)

    outcome = await connections.complete_consent(hub, await _microsoft_answer(live_graph, link.url))

    assert not outcome.granted
    assert "declined" in outcome.message
    connection = await connections.get_connection(hub, tenant_id, connection_id)
    assert connection.status is ConnectionStatus.CONSENT_PENDING
    assert connection.provider_tenant_id is None
    assert _jobs(hub) == []


async def test_an_expired_consent_link_is_refused(
    hub: HubContext, live_graph: LiveGraph, clock: EmulatorClock
) -> None:
    tenant_id = await _tenant(hub)
    connection_id = await _new_connection(hub, tenant_id)
    link = await connections.consent_link(hub, tenant_id, connection_id)
    answer = await _microsoft_answer(live_graph, link.url)
    clock.advance(connections.CONSENT_STATE_TTL.total_seconds() + 1)

    outcome = await connections.complete_consent(hub, answer)

    assert not outcome.granted
    assert "expired" in outcome.message
    connection = await connections.get_connection(hub, tenant_id, connection_id)
    assert connection.status is ConnectionStatus.CONSENT_PENDING


@pytest.mark.parametrize(
    "forge",
    [
        lambda state: state[:-2] + ("AA" if not state.endswith("AA") else "BB"),  # re-signed badly
        lambda state: f"{uuid.uuid4().hex}.{state.split('.')[1]}.{state.split('.')[2]}",
        lambda state: f"{state.rsplit('.', 1)[0]}.ünïcödé",
        lambda state: "not-a-state",
    ],
    ids=["bad-signature", "unknown-tenant", "non-ascii-signature", "garbage"],
)
async def test_a_forged_state_is_refused(
    hub: HubContext, live_graph: LiveGraph, forge: object
) -> None:
    tenant_id = await _tenant(hub)
    connection_id = await _new_connection(hub, tenant_id)
    link = await connections.consent_link(hub, tenant_id, connection_id)
    answer = await _microsoft_answer(live_graph, link.url)
    assert callable(forge)

    outcome = await connections.complete_consent(hub, {**answer, "state": forge(answer["state"])})

    assert not outcome.granted
    assert "not issued by calhub" in outcome.message
    connection = await connections.get_connection(hub, tenant_id, connection_id)
    assert connection.status is ConnectionStatus.CONSENT_PENDING


async def test_verify_reports_each_permission_in_words(hub: HubContext) -> None:
    tenant_id = await _tenant(hub)
    connection = await connect_contoso(hub, tenant_id)

    adele = await connections.verify_connection(hub, tenant_id, connection.id, "adele@contoso.test")
    megan = await connections.verify_connection(hub, tenant_id, connection.id, "megan@contoso.test")

    assert [check.ok for check in adele] == [True, True, True]
    blocked = {check.permission: check for check in megan}
    assert not blocked["Calendars.ReadWrite"].ok
    assert "application access policy blocks" in blocked["Calendars.ReadWrite"].detail
    assert not blocked["MailboxSettings.Read"].ok
    assert blocked["Place.Read.All"].ok  # the room list is not a mailbox: the policy allows it


async def test_sync_and_discovery_on_request_need_an_active_connection(hub: HubContext) -> None:
    tenant_id = await _tenant(hub)
    active = await connect_contoso(hub, tenant_id)
    pending_id = await _new_connection(hub, tenant_id)
    calendar = Calendar(
        id=CalendarId(new_id(hub.clock.now())),
        tenant_id=tenant_id,
        connection_id=active.id,
        provider_calendar_id="adele-id",
        kind=CalendarKind.USER,
        owner_email="adele@contoso.test",
        name="Calendar",
        created_at=hub.clock.now(),
        updated_at=hub.clock.now(),
    )
    async with hub.uow() as uow:
        await uow.calendars.add(calendar)
        await uow.commit()

    assert await calendars.request_sync(hub, tenant_id, calendar.id)
    assert not await calendars.request_sync(hub, tenant_id, calendar.id)  # one is waiting
    assert await calendars.request_discovery(hub, tenant_id, active.id)
    assert [task for task, _ in _jobs(hub)] == [SYNC_CALENDAR_TASK, DISCOVER_CALENDARS_TASK]
    with pytest.raises(connections.ConnectionNotReady):
        await calendars.request_discovery(hub, tenant_id, pending_id)
    with pytest.raises(calendars.CalendarNotFound):
        await calendars.request_sync(hub, await _tenant(hub, "Other"), calendar.id)
