"""10,000 mailboxes, each with a subscription: changes reach only their own (issue 3, Proof)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx

from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.state import App, GraphState, Mailbox, Tenant
from calhub.emulators.graph.subscriptions.validation import read_creation
from tests.emulators.graph.notification_receiver import publish, quick_policy, settle

MAILBOXES = 10_000


def echo(request: httpx.Request) -> httpx.Response:
    """A receiver that passes every handshake and accepts every notification."""
    token = request.url.params.get("validationToken")
    return httpx.Response(200, text=token) if token is not None else httpx.Response(202)


async def test_ten_thousand_subscribed_mailboxes() -> None:
    state = GraphState(EmulatorClock(datetime(2026, 3, 2, 8, tzinfo=UTC), frozen=True), seed=7)
    tenant = Tenant(id=str(uuid.uuid4()), domain="large.test")
    app = App("load-test-app", "secret")
    tenant.apps[app.client_id] = app
    state.tenants[tenant.id] = tenant
    for number in range(MAILBOXES):
        mailbox_id = str(uuid.UUID(int=number + 1))
        tenant.add_mailbox(
            Mailbox(mailbox_id, f"user{number}@large.test", f"User {number}", tenant.id)
        )
    received: list[str] = []

    def receive(request: httpx.Request) -> httpx.Response:
        if "validationToken" not in request.url.params:
            received.extend(item["subscriptionId"] for item in _items(request))
        return echo(request)

    store = state.subscriptions
    store.transport = httpx.MockTransport(receive)
    store.policy = quick_policy()
    now = state.clock.now()
    subscription_of: dict[str, str] = {}
    for mailbox in tenant.mailboxes.values():
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": "https://hooks.large.test/graph",
            "resource": f"/users/{mailbox.id}/events",
            "expirationDateTime": "2026-03-05T08:00:00Z",
            "clientState": "load",
        }
        created = await store.create(tenant, app, mailbox, read_creation(body, now))
        subscription_of[mailbox.upn] = created.id
    assert len(store.dump()) == MAILBOXES

    chosen = [f"user{number}@large.test" for number in range(0, MAILBOXES, 97)]
    for upn in chosen:
        publish(state, upn, "updated")
    await settle(state, 5)
    assert received == [subscription_of[upn] for upn in chosen]
    assert await store.tick() is True
    await store.close()


def _items(request: httpx.Request) -> list[dict[str, str]]:
    items: list[dict[str, str]] = json.loads(request.content)["value"]
    return items
