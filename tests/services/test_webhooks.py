"""Outbound webhooks on real PostgreSQL: what a receiver gets (signed so the official Standard
Webhooks verifier accepts it), which endpoints get which event types, retries with backoff on
a frozen clock until a day has passed, automatic disabling with an event that says so, every
kind of failure recorded in words, and several workers never sending a delivery twice."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import standardwebhooks

from calhub.domain.clock import FixedClock
from calhub.domain.ids import TenantId
from calhub.services.context import HubContext
from calhub.services.jobs import DELIVER_WEBHOOKS_TASK
from calhub.services.providers import ProviderEndpoints, ProviderRegistry
from calhub.services.webhook_delivery import RETRY_WINDOW, run_webhook_delivery
from calhub.services.webhooks import (
    DeliveryState,
    EndpointState,
    WebhookDelivery,
    create_webhook,
    enable_webhook,
    get_webhook,
    list_deliveries,
)
from calhub.storage.crypto import Keyring
from calhub.storage.database import create_engine
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.hub_fixtures import RecordingJobQueue
from tests.serving import serve_in_loop
from tests.storage.factories import NOW, add_tenant

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def uow_factory(
    fresh_database_url: str, keyring: Keyring
) -> AsyncIterator[UnitOfWorkFactory]:
    """A database of this test's own: a delivery job takes every tenant's due deliveries."""
    engine = create_engine(fresh_database_url, pool_size=4)
    yield UnitOfWorkFactory(engine, keyring)
    await engine.dispose()


@pytest.fixture
async def ctx(uow_factory: UnitOfWorkFactory, clock: FixedClock) -> AsyncIterator[HubContext]:
    providers = ProviderRegistry(ProviderEndpoints(), clock)
    yield HubContext(
        uow=uow_factory,
        jobs=RecordingJobQueue(),
        clock=clock,
        providers=providers,
        public_base_url="https://calhub.test",
    )
    await providers.close()


@pytest.fixture
async def tenant_id(uow_factory: UnitOfWorkFactory) -> TenantId:
    return (await add_tenant(uow_factory)).id


@dataclass
class Receiver:
    """Answers each POST with ``answer(request)``; keeps what it was sent."""

    answer: Handler = field(default=lambda request: httpx.Response(204))
    received: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        return self.answer(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def types_to(self, host: str) -> list[str]:
        return [
            json.loads(request.content)["type"]
            for request in self.received
            if request.url.host == host
        ]


async def _event(ctx: HubContext, tenant_id: TenantId, kind: str, **payload: Any) -> int:
    async with ctx.uow() as uow:
        event_id = await uow.outbox.add(tenant_id, kind, payload, ctx.clock.now())
        await uow.commit()
    return event_id


async def _deliveries(ctx: HubContext, tenant_id: TenantId, endpoint: Any) -> list[WebhookDelivery]:
    return list((await list_deliveries(ctx, tenant_id, endpoint)).deliveries)


async def _receiver_app(scope: Any, receive: Any, send: Any) -> None:
    """A webhook receiver on a real socket: records each request, answers 200."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    RECEIVED.append((headers, body))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


RECEIVED: list[tuple[dict[str, str], bytes]] = []


async def test_a_receiver_verifies_the_signature_with_the_standard_webhooks_library(
    ctx: HubContext, tenant_id: TenantId, clock: FixedClock
) -> None:
    clock.current = datetime.now(UTC)  # the library checks the timestamp against its own clock
    RECEIVED.clear()
    async with serve_in_loop(_receiver_app) as origin:
        created = await create_webhook(ctx, tenant_id, f"{origin}/hooks?token=abc")
        event_id = await _event(
            ctx, tenant_id, "meeting.updated", device_id="d1", event_id="e1", booking_ids=["b1"]
        )
        run = await run_webhook_delivery(ctx)

    (headers, body) = RECEIVED[0]
    message = standardwebhooks.Webhook(created.secret).verify(body, headers)
    assert (run.fanned_out, run.delivered, len(RECEIVED)) == (1, 1, 1)
    assert message == {
        "type": "meeting.updated",
        "timestamp": clock.current.isoformat().replace("+00:00", "Z"),
        "data": {"device_id": "d1", "event_id": "e1", "booking_ids": ["b1"]},
    }
    assert headers["webhook-id"] == f"msg_{event_id}"
    assert headers["content-type"] == "application/json"
    assert created.secret.startswith("whsec_")
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(created.secret).verify(body.replace(b"e1", b"e2"), headers)
    (delivery,) = await _deliveries(ctx, tenant_id, created.endpoint.id)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    endpoint = await get_webhook(ctx, tenant_id, created.endpoint.id)
    assert endpoint.last_success_at == clock.current


async def test_each_endpoint_gets_the_types_it_asked_for(
    ctx: HubContext, tenant_id: TenantId, uow_factory: UnitOfWorkFactory
) -> None:
    receiver = Receiver()
    await create_webhook(ctx, tenant_id, "https://all.example/hook")
    await create_webhook(ctx, tenant_id, "https://prompts.example/hook", ["obtp.*"])
    await create_webhook(ctx, tenant_id, "https://updates.example/hook", ["meeting.updated"])
    other = (await add_tenant(uow_factory, "Other")).id
    await create_webhook(ctx, other, "https://other.example/hook")
    for kind in ("meeting.created", "meeting.updated", "connection.disabled"):
        await _event(ctx, tenant_id, kind)
    await _event(ctx, tenant_id, "obtp.join", prompt_id=10**9)  # its prompt is gone: no booking

    await run_webhook_delivery(ctx, transport=receiver.transport())
    again = await run_webhook_delivery(ctx, transport=receiver.transport())

    assert receiver.types_to("all.example") == [
        "meeting.created",
        "meeting.updated",
        "connection.disabled",
        "obtp.join",
    ]
    assert receiver.types_to("prompts.example") == ["obtp.join"]
    assert receiver.types_to("updates.example") == ["meeting.updated"]
    assert receiver.types_to("other.example") == []
    assert (again.fanned_out, again.delivered) == (0, 0)  # each event is fanned out once


def _delays(attempts: Sequence[datetime]) -> list[float]:
    return [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(attempts)]


async def _retry_until_settled(
    ctx: HubContext, clock: FixedClock, receiver: Receiver, tenant_id: TenantId, endpoint: Any
) -> list[datetime]:
    """Run delivery at each due time until the endpoint's first delivery settles; the times
    of its attempts."""
    attempts = []
    rng = random.Random(7)
    for _ in range(200):
        before = len(receiver.received)
        await run_webhook_delivery(ctx, transport=receiver.transport(), rng=rng)
        if len(receiver.received) > before:
            attempts.append(clock.now())
        delivery = (await _deliveries(ctx, tenant_id, endpoint))[-1]
        if delivery.state != DeliveryState.PENDING:
            return attempts
        clock.current = delivery.next_attempt_at
    raise AssertionError("the delivery never settled")


async def test_failures_back_off_for_a_day_then_the_endpoint_is_disabled_with_an_event(
    ctx: HubContext, tenant_id: TenantId, clock: FixedClock
) -> None:
    receiver = Receiver(
        lambda request: httpx.Response(503 if request.url.host == "down.example" else 200)
    )
    down = await create_webhook(ctx, tenant_id, "https://down.example/hook")
    await create_webhook(ctx, tenant_id, "https://watcher.example/hook")
    created_at = clock.now()
    await _event(ctx, tenant_id, "meeting.created")

    attempts = await _retry_until_settled(ctx, clock, receiver, tenant_id, down.endpoint.id)

    delays = _delays(attempts)
    for n, delay in enumerate(delays[:8]):  # 5 s doubling, the jitter taking off up to half
        assert 5 * 2**n / 2 <= delay <= 5 * 2**n
    assert max(delays) <= 3600
    assert attempts[-1] == created_at + RETRY_WINDOW  # the last try is at the 24 h limit
    (delivery,) = await _deliveries(ctx, tenant_id, down.endpoint.id)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == len(attempts)
    assert delivery.last_status == 503
    assert delivery.last_error == "gave up after 24 h: HTTP 503 Service Unavailable"
    endpoint = await get_webhook(ctx, tenant_id, down.endpoint.id)
    assert endpoint.state == EndpointState.DISABLED
    assert endpoint.disabled_reason == "every delivery attempt for 24 h failed"
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (len(attempts), created_at)
    assert receiver.types_to("watcher.example") == ["meeting.created", "webhook_endpoint.disabled"]
    disabled_body = json.loads(receiver.received[-1].content)
    assert disabled_body["data"]["endpoint_id"] == str(down.endpoint.id)
    async with ctx.uow() as uow:
        events = await uow.outbox.list_after(tenant_id, 0)
    assert [e.kind for e in events][-1] == "webhook_endpoint.disabled"

    # Nothing goes to the disabled endpoint, not even later; re-enabled, it gets new events.
    before = receiver.types_to("down.example")
    await _event(ctx, tenant_id, "meeting.updated")
    await run_webhook_delivery(ctx, transport=receiver.transport())
    assert receiver.types_to("down.example") == before
    enabled = await enable_webhook(ctx, tenant_id, down.endpoint.id)
    receiver.answer = lambda request: httpx.Response(200)
    await _event(ctx, tenant_id, "meeting.cancelled")
    await run_webhook_delivery(ctx, transport=receiver.transport())
    assert (enabled.state, enabled.consecutive_failures, enabled.disabled_reason) == (
        EndpointState.ACTIVE,
        0,
        None,
    )
    assert receiver.types_to("down.example")[len(before) :] == ["meeting.cancelled"]


async def test_a_success_resets_the_streak_and_keeps_the_endpoint_enabled(
    ctx: HubContext, tenant_id: TenantId, clock: FixedClock
) -> None:
    """The receiver refuses one event type for good but takes the others: that delivery
    fails after a day, the endpoint stays active."""

    def answer(request: httpx.Request) -> httpx.Response:
        refused = json.loads(request.content)["type"] == "presence.changed"
        return httpx.Response(409 if refused else 200)

    receiver = Receiver(answer)
    created = await create_webhook(ctx, tenant_id, "https://picky.example/hook")
    await _event(ctx, tenant_id, "presence.changed", calendar_id=str(tenant_id))
    await run_webhook_delivery(ctx, transport=receiver.transport())
    failing = await get_webhook(ctx, tenant_id, created.endpoint.id)
    clock.advance(timedelta(hours=3))
    await _event(ctx, tenant_id, "meeting.created")
    await run_webhook_delivery(ctx, transport=receiver.transport())
    reset = await get_webhook(ctx, tenant_id, created.endpoint.id)

    clock.advance(timedelta(hours=21))  # the refused one's last attempt, at its 24 h limit
    await run_webhook_delivery(ctx, transport=receiver.transport())

    assert (failing.consecutive_failures, failing.failing_since) == (1, NOW)
    assert (reset.consecutive_failures, reset.failing_since) == (0, None)
    assert reset.last_success_at == NOW + timedelta(hours=3)
    delivered, refused = sorted(
        await _deliveries(ctx, tenant_id, created.endpoint.id), key=lambda d: d.event_type or ""
    )
    assert (delivered.state, refused.state) == (DeliveryState.DELIVERED, DeliveryState.FAILED)
    assert refused.last_error == "gave up after 24 h: HTTP 409 Conflict"
    endpoint = await get_webhook(ctx, tenant_id, created.endpoint.id)
    assert endpoint.state == EndpointState.ACTIVE


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _raise(error: Exception) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        raise error

    return answer


PERSONAL = "olga.petrova@example.com"


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (
            lambda r: httpx.Response(302, headers={"location": "/x"}),
            302,
            "HTTP 302 Found: redirects are not followed",
        ),
        (lambda r: httpx.Response(410, text=PERSONAL), 410, "HTTP 410 Gone"),
        (lambda r: httpx.Response(500, text=PERSONAL), 500, "HTTP 500 Internal Server Error"),
        (lambda r: httpx.Response(599), 599, "HTTP 599"),
        (_raise(httpx.ReadTimeout("slow")), None, "no answer within 10 s"),
        (
            _raise(httpx.RemoteProtocolError(PERSONAL)),
            None,
            "the request failed (RemoteProtocolError)",
        ),
    ],
)
async def test_every_failure_is_an_attempt_with_a_reason_in_words(
    ctx: HubContext, tenant_id: TenantId, answer: Handler, status: int | None, error: str
) -> None:
    created = await create_webhook(ctx, tenant_id, "https://failing.example/hook")
    await _event(ctx, tenant_id, "meeting.created")

    run = await run_webhook_delivery(ctx, transport=Receiver(answer).transport())

    (delivery,) = await _deliveries(ctx, tenant_id, created.endpoint.id)
    assert (run.retrying, delivery.state, delivery.attempts) == (1, DeliveryState.PENDING, 1)
    assert (delivery.last_status, delivery.last_error) == (status, error)
    endpoint = await get_webhook(ctx, tenant_id, created.endpoint.id)
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (1, NOW)
    jobs = ctx.jobs
    assert isinstance(jobs, RecordingJobQueue)
    assert [name for name, _ in jobs.take()] == [DELIVER_WEBHOOKS_TASK]  # the retry, in 5 s


@pytest.mark.parametrize(
    ("url", "error"),
    [
        (lambda origin: f"http://127.0.0.1:{_closed_port()}/hook", "could not connect"),
        (lambda origin: origin.replace("http://", "https://"), "TLS handshake failed"),
    ],
)
async def test_network_failures_on_real_sockets_are_recorded(
    ctx: HubContext, tenant_id: TenantId, url: Callable[[str], str], error: str
) -> None:
    async with serve_in_loop(_receiver_app) as origin:
        created = await create_webhook(ctx, tenant_id, url(origin))
        await _event(ctx, tenant_id, "meeting.created")
        await run_webhook_delivery(ctx)

    (delivery,) = await _deliveries(ctx, tenant_id, created.endpoint.id)
    assert delivery.state == DeliveryState.PENDING
    assert delivery.last_status is None
    assert delivery.last_error is not None
    assert delivery.last_error.startswith(error)


async def test_a_retry_after_longer_than_the_backoff_is_honoured(
    ctx: HubContext, tenant_id: TenantId
) -> None:
    created = await create_webhook(ctx, tenant_id, "https://busy.example/hook")
    await _event(ctx, tenant_id, "meeting.created")
    busy = Receiver(lambda r: httpx.Response(429, headers={"retry-after": "120"}))

    await run_webhook_delivery(ctx, transport=busy.transport())

    (delivery,) = await _deliveries(ctx, tenant_id, created.endpoint.id)
    assert delivery.next_attempt_at == NOW + timedelta(seconds=120)
    assert delivery.last_error == "HTTP 429 Too Many Requests"


async def test_two_workers_at_once_send_every_event_exactly_once(
    ctx: HubContext, tenant_id: TenantId
) -> None:
    received: list[str] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        received.append(request.headers["webhook-id"])
        return httpx.Response(200)

    await create_webhook(ctx, tenant_id, "https://one.example/hook")
    await create_webhook(ctx, tenant_id, "https://two.example/hook")
    async with ctx.uow() as uow:
        ids = await uow.outbox.add_many(tenant_id, [("meeting.created", {}, None)] * 60, NOW)
        await uow.commit()

    runs = await asyncio.gather(
        *(run_webhook_delivery(ctx, transport=httpx.MockTransport(slow)) for _ in range(2))
    )

    assert sum(run.delivered for run in runs) == 120
    assert sorted(received) == sorted([f"msg_{event_id}" for event_id in ids] * 2)
