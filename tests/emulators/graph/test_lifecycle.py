"""Lifecycle notifications, expiry and the control endpoints (graph.md §4.6, §4.7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.conftest import token_for
from tests.emulators.graph.notification_receiver import (
    LIFECYCLE,
    Receiver,
    attach,
    publish,
    settle,
    subscription_body,
)
from tests.emulators.graph.seeds import ADELE, APP_ID, CONTOSO, contoso_seed


@pytest.fixture
async def receiver(graph_state: GraphState) -> AsyncIterator[Receiver]:
    yield attach(graph_state)
    await graph_state.subscriptions.close()


async def subscribe(graph: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = subscription_body(lifecycleNotificationUrl=LIFECYCLE, **overrides)
    response = await graph.post("/subscriptions", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def lifecycle_events(receiver: Receiver) -> list[str]:
    return [item["lifecycleEvent"] for item in receiver.items("/lifecycle")]


def renew_token(graph: httpx.AsyncClient, state: GraphState) -> None:
    """A fresh token after the clock moved past the old one's hour."""
    graph.headers["Authorization"] = f"Bearer {token_for(state)}"


async def tick(state: GraphState) -> None:
    await state.subscriptions.tick()
    await settle(state)


async def test_reauthorization_is_asked_for_shortly_before_expiry(
    graph: httpx.AsyncClient, graph_state: GraphState, clock: EmulatorClock, receiver: Receiver
) -> None:
    sub = await subscribe(graph)  # expires 2026-03-04T08:00Z, 48 hours ahead
    clock.advance(48 * 3600 - 16 * 60)
    await tick(graph_state)
    assert receiver.items("/lifecycle") == []
    clock.advance(2 * 60)  # 14 minutes left
    await tick(graph_state)
    assert receiver.items("/lifecycle") == [
        {
            "subscriptionId": sub["id"],
            "subscriptionExpirationDateTime": "2026-03-04T08:00:00Z",
            "tenantId": CONTOSO,
            "clientState": "secretClientValue",
            "lifecycleEvent": "reauthorizationRequired",
        }
    ]
    await tick(graph_state)
    assert lifecycle_events(receiver) == ["reauthorizationRequired"]  # once per expiry

    renew_token(graph, graph_state)
    renewed = await graph.patch(
        f"/subscriptions/{sub['id']}", json={"expirationDateTime": "2026-03-05T08:00:00Z"}
    )
    assert renewed.status_code == 200
    clock.advance(24 * 3600)
    await tick(graph_state)
    assert lifecycle_events(receiver) == ["reauthorizationRequired"] * 2


async def test_short_lifetimes_are_asked_a_tenth_before_expiry(
    graph: httpx.AsyncClient, graph_state: GraphState, clock: EmulatorClock, receiver: Receiver
) -> None:
    await subscribe(graph, expirationDateTime="2026-03-02T09:00:00Z")  # one hour
    clock.advance(53 * 60)
    await tick(graph_state)
    assert lifecycle_events(receiver) == []
    clock.advance(2 * 60)  # 5 of 60 minutes left
    await tick(graph_state)
    assert lifecycle_events(receiver) == ["reauthorizationRequired"]


async def test_the_ticker_runs_by_itself(
    graph: httpx.AsyncClient, clock: EmulatorClock, receiver: Receiver
) -> None:
    await subscribe(graph)
    clock.advance(48 * 3600 - 60)
    await receiver.wait_for_attempts(1)
    assert lifecycle_events(receiver) == ["reauthorizationRequired"]


async def test_revoked_consent_asks_every_subscription_of_the_app_once(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    first = await subscribe(graph)
    second = await subscribe(graph, resource="/users/alex@contoso.test/events")
    app = graph_state.tenants[CONTOSO].apps[APP_ID]
    app.consent = "revoked"
    await tick(graph_state)
    await tick(graph_state)
    items = receiver.items("/lifecycle")
    assert sorted(item["subscriptionId"] for item in items) == sorted([first["id"], second["id"]])
    assert {item["lifecycleEvent"] for item in items} == {"reauthorizationRequired"}
    app.consent = "granted"
    await tick(graph_state)
    app.consent = "revoked"
    await tick(graph_state)
    assert len(receiver.items("/lifecycle")) == 4


async def test_expired_subscriptions_stop_delivering_and_disappear(
    graph: httpx.AsyncClient, graph_state: GraphState, clock: EmulatorClock, receiver: Receiver
) -> None:
    sub = await subscribe(graph, expirationDateTime="2026-03-02T10:00:00Z")
    clock.advance(2 * 3600)
    publish(graph_state, "adele@contoso.test")
    await settle(graph_state)
    assert receiver.items() == []
    renew_token(graph, graph_state)
    response = await graph.get(f"/subscriptions/{sub['id']}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ResourceNotFound")
    assert (await graph.get("/subscriptions")).json()["value"] == []
    assert await graph_state.subscriptions.tick() is False
    assert graph_state.subscriptions.dump() == []


async def test_remove_sends_subscription_removed_and_deletes(
    graph: httpx.AsyncClient,
    emulator: httpx.AsyncClient,
    graph_state: GraphState,
    receiver: Receiver,
) -> None:
    sub = await subscribe(graph)
    response = await emulator.post(f"/_emulator/subscriptions/{sub['id']}/remove")
    assert response.status_code == 204
    await settle(graph_state)
    assert lifecycle_events(receiver) == ["subscriptionRemoved"]
    assert receiver.items("/lifecycle")[0]["subscriptionId"] == sub["id"]
    assert (await graph.get(f"/subscriptions/{sub['id']}")).status_code == 404
    again = await emulator.post(f"/_emulator/subscriptions/{sub['id']}/remove")
    assert (again.status_code, again.json()["error"]["code"]) == (404, "ResourceNotFound")


async def test_missed_sends_missed_and_keeps_the_subscription(
    graph: httpx.AsyncClient,
    emulator: httpx.AsyncClient,
    graph_state: GraphState,
    receiver: Receiver,
) -> None:
    sub = await subscribe(graph)
    response = await emulator.post(f"/_emulator/subscriptions/{sub['id']}/missed")
    assert response.status_code == 204
    await settle(graph_state)
    assert lifecycle_events(receiver) == ["missed"]
    assert (await graph.get(f"/subscriptions/{sub['id']}")).status_code == 200
    unknown = await emulator.post("/_emulator/subscriptions/not-a-subscription/missed")
    assert unknown.status_code == 404


async def test_state_dump_shows_delivery_statistics(
    graph: httpx.AsyncClient,
    emulator: httpx.AsyncClient,
    graph_state: GraphState,
    receiver: Receiver,
) -> None:
    sub = await subscribe(graph)
    receiver.answer("/graph", 500)
    publish(graph_state, "adele@contoso.test")
    await settle(graph_state)
    [entry] = (await emulator.get("/_emulator/state")).json()["subscriptions"]
    assert entry["id"] == sub["id"]
    assert (entry["mailboxId"], entry["tenantId"]) == (ADELE, CONTOSO)
    assert entry["notifications"] == {
        "delivered": 1,
        "retried": 1,
        "dropped": 0,
        "duplicated": 0,
        "last_status": 202,
        "last_error": None,
    }
    assert entry["lifecycleNotifications"]["delivered"] == 0


async def test_reset_forgets_subscriptions_and_pending_deliveries(
    graph: httpx.AsyncClient,
    emulator: httpx.AsyncClient,
    graph_state: GraphState,
    receiver: Receiver,
) -> None:
    await subscribe(graph)
    receiver.answer("/graph", *[500] * 1000)
    publish(graph_state, "adele@contoso.test")
    await receiver.wait_for_attempts(1)
    assert (await emulator.post("/_emulator/reset", json=contoso_seed())).status_code == 200
    await settle(graph_state)
    assert graph_state.subscriptions.dump() == []
    assert (await graph.get("/subscriptions")).json()["value"] == []


async def test_close_cancels_retries_and_the_ticker(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    await subscribe(graph)
    receiver.answer("/graph", *[500] * 1000)
    publish(graph_state, "adele@contoso.test")
    await receiver.wait_for_attempts(1)
    before = {task for task in asyncio.all_tasks() if task.get_name().startswith("graph-")}
    assert before
    await graph_state.subscriptions.close()
    assert all(task.done() for task in before)
