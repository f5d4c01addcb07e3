"""Microsoft's own Graph SDK (msgraph-sdk) against the emulator, unchanged but for the base URL.

The SDK runs over real sockets: the emulator and a notification receiver are served by uvicorn on
loopback ports. Tokens come from the emulator's identity platform through a kiota
``AccessTokenProvider`` doing the client-credentials grant (client-recipes.md §1a), because msal
refuses plain-http authorities.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.subscription import Subscription
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import (
    DeltaRequestBuilder,
)
from msgraph_core import GraphClientFactory
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.seeds import APP_ID, APP_SECRET, CONTOSO, contoso_seed
from tests.emulators.graph.servers import serve_in_thread

WINDOW_START = "2026-03-02T00:00:00Z"
WINDOW_END = "2026-03-09T00:00:00Z"


class ClientCredentials(AccessTokenProvider):
    """The client-credentials grant against the emulator's token endpoint, cached until expiry."""

    def __init__(self, token_url: str) -> None:
        self.token_url = token_url
        self.requests = 0
        self._token: str | None = None
        self._expires = 0.0

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        if self._token is None or time.time() > self._expires - 60:
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    self.token_url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": APP_ID,
                        "client_secret": APP_SECRET,
                        "scope": "https://graph.microsoft.com/.default",
                    },
                )
                response.raise_for_status()
            self.requests += 1
            self._token = response.json()["access_token"]
            self._expires = time.time() + int(response.json()["expires_in"])
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


class Receiver:
    """A notification endpoint: answers the validation handshake and keeps what it receives."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/graph", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return PlainTextResponse(token)
        self.notifications.extend((await request.json())["value"])
        return Response(status_code=202)


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    with serve_in_thread(receiver.app) as url:
        yield receiver, f"{url}/graph"


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    state = GraphState(EmulatorClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC)))
    load_seed(state, contoso_seed())
    with serve_in_thread(create_app(state)) as url:
        yield url


@pytest.fixture
async def client(emulator_url: str) -> AsyncIterator[GraphServiceClient]:
    credentials = ClientCredentials(f"{emulator_url}/{CONTOSO}/oauth2/v2.0/token")
    # The SDK's own middleware stack over a transport we hold: msgraph-core's wrapping transport
    # has no aclose(), so closing the client alone would leave its connections open.
    transport = httpx.AsyncHTTPTransport()
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport)
    )
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(credentials), client=http)
    adapter.base_url = f"{emulator_url}/v1.0"
    yield GraphServiceClient(request_adapter=adapter)
    await http.aclose()
    await transport.aclose()


def _when(day: int, hour: int) -> DateTimeTimeZone:
    return DateTimeTimeZone(date_time=f"2026-03-{day:02d}T{hour:02d}:00:00", time_zone="UTC")


async def test_events_crud_with_a_teams_meeting(client: GraphServiceClient) -> None:
    user = client.users.by_user_id("adele@contoso.test")
    created = await user.events.post(
        Event(
            subject="Design review",
            start=_when(3, 10),
            end=_when(3, 11),
            is_online_meeting=True,
            online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
            attendees=[
                Attendee(
                    email_address=EmailAddress(address="alex@contoso.test", name="Alex Wilber"),
                    type=AttendeeType.Required,
                )
            ],
        )
    )
    assert created is not None
    assert created.id
    assert created.online_meeting is not None
    assert created.online_meeting.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")

    fetched = await user.events.by_event_id(created.id).get()
    assert fetched is not None
    assert fetched.subject == "Design review"

    updated = await user.events.by_event_id(created.id).patch(Event(subject="Design review v2"))
    assert updated is not None
    assert updated.subject == "Design review v2"
    assert updated.change_key != created.change_key

    listed = await user.events.get()
    assert listed is not None
    assert created.id in {event.id for event in listed.value or []}

    await user.events.by_event_id(created.id).delete()
    remaining = await user.events.get()
    assert remaining is not None
    assert created.id not in {e.id for e in remaining.value or []}


async def test_calendar_view_in_the_preferred_zone(client: GraphServiceClient) -> None:
    user = client.users.by_user_id("alex@contoso.test")
    await user.events.post(Event(subject="Standup", start=_when(4, 9), end=_when(4, 10)))
    query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
        start_date_time=WINDOW_START, end_date_time=WINDOW_END, top=50
    )
    config = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", 'outlook.timezone="Pacific Standard Time"')
    view = await user.calendar_view.get(request_configuration=config)
    assert view is not None
    standup = next(e for e in view.value or [] if e.subject == "Standup")
    assert standup.start is not None
    assert standup.start.time_zone == "Pacific Standard Time"
    assert standup.start.date_time.startswith("2026-03-04T01:00:00")


async def test_delta_rounds_report_changes_and_removals(client: GraphServiceClient) -> None:
    user = client.users.by_user_id("adele@contoso.test")
    first = await user.events.post(Event(subject="One", start=_when(5, 9), end=_when(5, 10)))
    second = await user.events.post(Event(subject="Two", start=_when(5, 11), end=_when(5, 12)))
    assert first is not None
    assert second is not None

    query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
        start_date_time=WINDOW_START, end_date_time=WINDOW_END
    )
    config = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", "odata.maxpagesize=1")
    page = await user.calendar_view.delta.get(request_configuration=config)
    assert page is not None
    seen = [event.id for event in page.value or []]
    pages = 1
    while page.odata_next_link:
        page = await user.calendar_view.delta.with_url(page.odata_next_link).get()
        assert page is not None
        seen += [event.id for event in page.value or []]
        pages += 1
    assert {first.id, second.id} <= set(seen)
    assert pages >= 2
    assert page.odata_delta_link

    await user.events.by_event_id(first.id).delete()
    await user.events.by_event_id(second.id).patch(Event(subject="Two, moved"))
    changes = await user.calendar_view.delta.with_url(page.odata_delta_link).get()
    assert changes is not None
    by_id = {event.id: event for event in changes.value or []}
    assert by_id[first.id].additional_data.get("@removed") == {"reason": "deleted"}
    assert by_id[second.id].subject == "Two, moved"


async def test_get_schedule_reports_busy_slots(client: GraphServiceClient) -> None:
    await client.users.by_user_id("alex@contoso.test").events.post(
        Event(subject="Busy", start=_when(6, 9), end=_when(6, 10))
    )
    body = GetSchedulePostRequestBody(
        schedules=["alex@contoso.test", "nobody@contoso.test"],
        start_time=_when(6, 8),
        end_time=_when(6, 11),
        availability_view_interval=60,
    )
    result = await client.users.by_user_id("adele@contoso.test").calendar.get_schedule.post(body)
    assert result is not None
    alex, nobody = result.value or []
    assert alex.availability_view == "020"
    assert nobody.error is not None
    assert nobody.availability_view is None


async def test_subscription_delivers_a_notification(
    client: GraphServiceClient, receiver: tuple[Receiver, str]
) -> None:
    inbox, url = receiver
    expiry = datetime(2026, 3, 4, tzinfo=UTC)
    subscription = await client.subscriptions.post(
        Subscription(
            change_type="created,updated,deleted",
            notification_url=url,
            resource="/users/alex@contoso.test/events",
            expiration_date_time=expiry,
            client_state="sdk-state",
        )
    )
    assert subscription is not None
    assert subscription.id
    created = await client.users.by_user_id("alex@contoso.test").events.post(
        Event(subject="Notify me", start=_when(6, 14), end=_when(6, 15))
    )
    assert created is not None
    for _ in range(200):
        if any(n["resourceData"]["id"] == created.id for n in inbox.notifications):
            break
        await asyncio.sleep(0.02)
    notification = next(n for n in inbox.notifications if n["resourceData"]["id"] == created.id)
    assert notification["subscriptionId"] == subscription.id
    assert notification["clientState"] == "sdk-state"
    assert notification["changeType"] == "created"
    await client.subscriptions.by_subscription_id(subscription.id).delete()
