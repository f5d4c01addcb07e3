"""``/hooks/microsoft`` and ``/hooks/microsoft/lifecycle`` through the ASGI app on a real
runtime: handshake, clientState, idempotent storage, queued jobs (graph.md §4.3-§4.7)."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select, text

from calhub.api.app import create_app
from calhub.bootstrap import Runtime
from calhub.domain.calendars import Calendar, Secret, Subscription, SubscriptionStatus
from calhub.domain.ids import SubscriptionId, new_id
from calhub.emulators.graph.state import GraphState
from calhub.services.jobs import (
    ENSURE_SUBSCRIPTION_TASK,
    RENEW_SUBSCRIPTION_TASK,
    SYNC_CALENDAR_TASK,
    calendar_lock,
)
from calhub.settings import Settings
from calhub.storage.tables import notification_inbox
from tests.emulators.graph.conftest import token_for
from tests.emulators.graph.notification_receiver import publish, quick_policy, settle
from tests.storage.factories import NOW, add_calendar, add_tenant

HOOK = "/hooks/microsoft"
LIFECYCLE = "/hooks/microsoft/lifecycle"
EVENT = "AAMkAGI2xyz="


@dataclass(frozen=True, slots=True)
class Subscribed:
    calendar: Calendar
    subscription: Subscription

    @property
    def provider_id(self) -> str:
        return self.subscription.provider_subscription_id

    @property
    def client_state(self) -> str:
        return self.subscription.client_state.reveal()


async def subscribe(
    runtime: Runtime, provider_id: str | None = None, client_state: str | None = None
) -> Subscribed:
    """A calendar with a stored Graph subscription (by default a random id and clientState)."""
    tenant = await add_tenant(runtime.uow)
    calendar = await add_calendar(runtime.uow, tenant.id)
    subscription = Subscription(
        id=SubscriptionId(new_id(NOW)),
        tenant_id=tenant.id,
        calendar_id=calendar.id,
        provider_subscription_id=provider_id or str(new_id(NOW)),
        client_state=Secret(client_state or secrets.token_urlsafe(32)),
        expires_at=NOW + timedelta(days=3),
        created_at=NOW,
    )
    async with runtime.uow() as uow:
        await uow.subscriptions.replace(subscription)
        await uow.commit()
    return Subscribed(calendar, subscription)


def change(subscribed: Subscribed, change_type: str = "updated", **overrides: Any) -> Any:
    path = f"Users/{subscribed.calendar.provider_calendar_id}/Events/{EVENT}"
    item = {
        "subscriptionId": subscribed.provider_id,
        "subscriptionExpirationDateTime": "2026-03-04T08:00:00+00:00",
        "changeType": change_type,
        "resource": path,
        "resourceData": {"@odata.id": path, "@odata.etag": 'W/"DwAAABYAAAAZ"', "id": EVENT},
        "clientState": subscribed.client_state,
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
    }
    return item | overrides


def lifecycle(subscribed: Subscribed, event: str) -> dict[str, Any]:
    return {
        "subscriptionId": subscribed.provider_id,
        "subscriptionExpirationDateTime": "2026-03-04T08:00:00Z",
        "clientState": subscribed.client_state,
        "lifecycleEvent": event,
    }


def body(*items: Any) -> bytes:
    return json.dumps({"value": list(items)}).encode()


async def inbox(runtime: Runtime, subscribed: Subscribed) -> list[tuple[str, str]]:
    query = select(notification_inbox.c.change_type, notification_inbox.c.resource_id).where(
        notification_inbox.c.calendar_id == subscribed.calendar.id
    )
    async with runtime.engine.connect() as conn:
        return [(row.change_type, row.resource_id) for row in await conn.execute(query)]


async def jobs(runtime: Runtime, subscribed: Subscribed) -> list[tuple[str, str | None, str]]:
    """(task, lock, queueing lock) of the jobs queued for the subscription's calendar."""
    query = text(
        "SELECT task_name, lock, queueing_lock FROM procrastinate_jobs "
        "WHERE args->>'calendar_id' = :calendar OR args->>'subscription_id' = :subscription "
        "ORDER BY id"
    )
    async with runtime.engine.connect() as conn:
        rows = await conn.execute(
            query,
            {
                "calendar": str(subscribed.calendar.id),
                "subscription": str(subscribed.subscription.id),
            },
        )
        return [(row.task_name, row.lock, row.queueing_lock) for row in rows]


async def status_of(runtime: Runtime, subscribed: Subscribed) -> SubscriptionStatus:
    async with runtime.uow() as uow:
        stored = await uow.subscriptions.get(
            subscribed.calendar.tenant_id, subscribed.subscription.id
        )
    assert stored is not None
    return stored.status


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{slug}"
    return problem


@pytest.mark.parametrize("path", [HOOK, LIFECYCLE])
async def test_the_validation_handshake_echoes_the_decoded_token(
    client: httpx.AsyncClient, path: str
) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    response = await client.post(
        path,
        params={"validationToken": token},
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == token


async def test_a_change_is_stored_and_its_calendar_sync_queued_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime)
    first = await client.post(HOOK, content=body(change(subscribed)))
    assert (first.status_code, first.content) == (202, b"")
    assert await inbox(runtime, subscribed) == [("updated", EVENT)]
    calendar_id = subscribed.calendar.id
    queued_sync = (SYNC_CALENDAR_TASK, calendar_lock(calendar_id), f"sync:{calendar_id}")
    assert await jobs(runtime, subscribed) == [queued_sync]
    async with runtime.uow() as uow:
        sync_status = await uow.sync_status.get(subscribed.calendar.tenant_id, calendar_id)
    assert sync_status is not None
    assert sync_status.last_notification_at is not None

    again = await client.post(HOOK, content=body(change(subscribed)))  # Graph delivers twice
    assert again.status_code == 202
    assert await inbox(runtime, subscribed) == [("updated", EVENT)]

    edited = change(subscribed, resourceData={"id": EVENT, "@odata.etag": 'W/"newer"'})
    storm = body(*[edited] * 5, change(subscribed, "deleted", resourceData={"id": "gone="}))
    assert (await client.post(HOOK, content=storm)).status_code == 202
    assert sorted(await inbox(runtime, subscribed)) == [
        ("deleted", "gone="),
        ("updated", EVENT),
        ("updated", EVENT),
    ]
    assert await jobs(runtime, subscribed) == [queued_sync]  # the waiting job reads them all


async def test_a_wrong_client_state_is_401_and_stores_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime)
    forged = change(subscribed, clientState="guessed")
    missing = change(subscribed, clientState=None)
    response = await client.post(HOOK, content=body(forged, missing))
    problem = assert_problem(response, 401, "notification-rejected")
    assert subscribed.provider_id not in json.dumps(problem)
    assert await inbox(runtime, subscribed) == []
    assert await jobs(runtime, subscribed) == []


async def test_only_authentic_items_of_a_mixed_post_are_stored(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime)
    other = await subscribe(runtime)
    items = [
        change(subscribed),
        change(other, clientState=subscribed.client_state),  # another subscription's secret
        change(subscribed, subscriptionId="00000000-0000-0000-0000-00000000dead"),
        {"subscriptionId": subscribed.provider_id},  # unreadable: skipped
    ]
    assert (await client.post(HOOK, content=body(*items))).status_code == 202
    assert await inbox(runtime, subscribed) == [("updated", EVENT)]
    assert await inbox(runtime, other) == []
    assert await jobs(runtime, other) == []


async def test_an_unknown_subscription_is_accepted_and_ignored(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    stranger = await subscribe(runtime)
    async with runtime.uow() as uow:
        await uow.subscriptions.delete(stranger.calendar.tenant_id, stranger.subscription.id)
        await uow.commit()
    response = await client.post(HOOK, content=body(change(stranger)))
    assert response.status_code == 202  # Graph would otherwise retry it for four hours
    assert await inbox(runtime, stranger) == []
    assert await jobs(runtime, stranger) == []


@pytest.mark.parametrize(
    ("content", "slug"),
    [
        (b'{"value": [', "malformed-json"),
        (b"\xff\xfe", "malformed-json"),
        (b"[]", "bad-request"),
        (b'{"value": "everything"}', "bad-request"),
        (b"", "malformed-json"),
    ],
)
async def test_a_body_that_is_not_graphs_wrapper_is_400(
    client: httpx.AsyncClient, content: bytes, slug: str
) -> None:
    assert_problem(await client.post(HOOK, content=content), 400, slug)
    assert_problem(await client.post(LIFECYCLE, content=content), 400, slug)


async def test_an_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post(HOOK, content=b" " * 5000), 413, "payload-too-large")


async def test_reauthorization_required_queues_a_renewal(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime)
    event = body(lifecycle(subscribed, "reauthorizationRequired"))
    assert (await client.post(LIFECYCLE, content=event)).status_code == 202
    assert (await client.post(LIFECYCLE, content=event)).status_code == 202
    renewal = (RENEW_SUBSCRIPTION_TASK, None, f"renew:{subscribed.subscription.id}")
    assert await jobs(runtime, subscribed) == [renewal]
    assert await status_of(runtime, subscribed) is SubscriptionStatus.REAUTHORIZATION_REQUIRED


async def test_subscription_removed_marks_it_and_queues_a_new_one(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime)
    removed = body(lifecycle(subscribed, "subscriptionRemoved"), change(subscribed))
    assert (await client.post(LIFECYCLE, content=removed)).status_code == 202
    calendar_id = subscribed.calendar.id
    assert await jobs(runtime, subscribed) == [
        (ENSURE_SUBSCRIPTION_TASK, calendar_lock(calendar_id), f"subscribe:{calendar_id}")
    ]  # recreating resyncs the calendar: no separate sync
    assert await status_of(runtime, subscribed) is SubscriptionStatus.REMOVED
    assert await inbox(runtime, subscribed) == [("updated", EVENT)]


async def test_missed_queues_a_sync(client: httpx.AsyncClient, runtime: Runtime) -> None:
    subscribed = await subscribe(runtime)
    missed = body(lifecycle(subscribed, "missed"))
    assert (await client.post(LIFECYCLE, content=missed)).status_code == 202
    calendar_id = subscribed.calendar.id
    assert await jobs(runtime, subscribed) == [
        (SYNC_CALENDAR_TASK, calendar_lock(calendar_id), f"sync:{calendar_id}")
    ]
    assert await status_of(runtime, subscribed) is SubscriptionStatus.ACTIVE


async def test_a_forged_lifecycle_event_does_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime)
    forged = lifecycle(subscribed, "subscriptionRemoved") | {"clientState": "guessed"}
    assert_problem(await client.post(LIFECYCLE, content=body(forged)), 401, "notification-rejected")
    assert await jobs(runtime, subscribed) == []
    assert await status_of(runtime, subscribed) is SubscriptionStatus.ACTIVE


async def test_the_hooks_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (HOOK, LIFECYCLE):
        operation = paths[path]["post"]
        assert operation["summary"].startswith("Receive Microsoft Graph")
        assert {"200", "202", "400", "401"} <= set(operation["responses"])
        assert "security" not in operation


@pytest_asyncio.fixture
async def calhub_app(settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        yield app


async def test_the_emulators_deliveries_reach_the_inbox(
    calhub_app: FastAPI, graph_app: FastAPI, graph_state: GraphState, runtime: Runtime
) -> None:
    graph_state.subscriptions.transport = httpx.ASGITransport(app=calhub_app)
    graph_state.subscriptions.policy = quick_policy()
    client_state = secrets.token_urlsafe(32)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=graph_app),
        base_url="http://graph.emu.test/v1.0",
        headers={"Authorization": f"Bearer {token_for(graph_state)}"},
    ) as graph:
        created = await graph.post(
            "/subscriptions",
            json={
                "changeType": "created,updated,deleted",
                "notificationUrl": f"https://calhub.test{HOOK}",
                "lifecycleNotificationUrl": f"https://calhub.test{LIFECYCLE}",
                "resource": "/users/adele@contoso.test/events",
                "expirationDateTime": "2026-03-04T08:00:00Z",
                "clientState": client_state,
            },
        )
    assert created.status_code == 201, created.text  # both handshakes answered by calhub
    subscribed = await subscribe(runtime, created.json()["id"], client_state)

    publish(graph_state, "adele@contoso.test", "created", event_id=EVENT)
    publish(graph_state, "adele@contoso.test", "created", event_id=EVENT)  # a duplicate
    await settle(graph_state)

    assert await inbox(runtime, subscribed) == [("created", EVENT)]
    [(task, _, _)] = await jobs(runtime, subscribed)
    assert task == SYNC_CALENDAR_TASK
    [entry] = [s for s in graph_state.subscriptions.dump() if s["id"] == subscribed.provider_id]
    assert entry["notifications"]["last_status"] == 202
