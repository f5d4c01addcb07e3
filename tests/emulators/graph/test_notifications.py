"""Change notifications: shape, matching, batching, retries and faults (graph.md §4.4, §4.5)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from calhub.emulators.graph.events.ids import calendar_id
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.notification_receiver import (
    HOOK,
    LIFECYCLE,
    Receiver,
    attach,
    publish,
    settle,
    subscription_body,
)
from tests.emulators.graph.seeds import ADELE, ALEX, CONTOSO

OTHER_CALENDAR = "AAMkAGI2OtherCalendar="


@pytest.fixture
async def receiver(graph_state: GraphState) -> AsyncIterator[Receiver]:
    yield attach(graph_state)
    await graph_state.subscriptions.close()


async def subscribe(graph: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await graph.post("/subscriptions", json=subscription_body(**overrides))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stats(state: GraphState, subscription_id: str) -> dict[str, Any]:
    [entry] = [s for s in state.subscriptions.dump() if s["id"] == subscription_id]
    counts: dict[str, Any] = entry["notifications"]
    return counts


async def test_a_change_arrives_in_graphs_shape(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    sub = await subscribe(graph, notificationUrl=f"{HOOK}?tenant=contoso&kind=calendar")
    publish(graph_state, "adele@contoso.test", "created", event_id="AAMkAGI2xyz=")
    await settle(graph_state)
    [post] = receiver.posts
    assert post.query == {"tenant": "contoso", "kind": "calendar"}
    assert post.content_type.startswith("application/json")
    path = f"Users/{ADELE}/Events/AAMkAGI2xyz="
    assert post.body == {
        "value": [
            {
                "subscriptionId": sub["id"],
                "subscriptionExpirationDateTime": "2026-03-04T08:00:00+00:00",
                "changeType": "created",
                "resource": path,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": path,
                    "@odata.etag": 'W/"DwAAABYAAAAZ"',
                    "id": "AAMkAGI2xyz=",
                },
                "clientState": "secretClientValue",
                "tenantId": CONTOSO,
            }
        ]
    }
    assert stats(graph_state, sub["id"])["delivered"] == 1
    assert stats(graph_state, sub["id"])["last_status"] == 202


async def test_deleted_carries_only_the_id(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    await subscribe(graph, clientState=None)
    publish(graph_state, "adele@contoso.test", "deleted", event_id="AAMkGone=")
    await settle(graph_state)
    [item] = receiver.items()
    assert item["changeType"] == "deleted"
    assert item["clientState"] is None
    assert item["resourceData"] == {
        "@odata.type": "#Microsoft.Graph.Event",
        "@odata.id": f"Users/{ADELE}/Events/AAMkGone=",
        "id": "AAMkGone=",
    }


async def test_only_subscribed_change_types_and_mailboxes(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    await subscribe(graph, changeType="created,deleted")
    publish(graph_state, "adele@contoso.test", "updated")
    publish(graph_state, "alex@contoso.test", "created")
    publish(graph_state, "adele@contoso.test", "deleted")
    await settle(graph_state)
    assert [item["changeType"] for item in receiver.items()] == ["deleted"]


@pytest.mark.parametrize(
    ("resource", "delivered_from"),
    [
        ("/users/{user}/events", {"default", "other"}),
        ("/users/{user}/calendar/events", {"default"}),
        ("/users/{user}/calendars/" + OTHER_CALENDAR + "/events", {"other"}),
        ("/users/{user}/calendars/" + calendar_id(ADELE) + "/events", {"default"}),
    ],
)
async def test_calendar_scope(
    graph: httpx.AsyncClient,
    graph_state: GraphState,
    receiver: Receiver,
    resource: str,
    delivered_from: set[str],
) -> None:
    await subscribe(graph, resource=resource.format(user=ADELE))
    publish(graph_state, "adele@contoso.test", event_id="default")
    publish(graph_state, "adele@contoso.test", event_id="other", calendar_id=OTHER_CALENDAR)
    await settle(graph_state)
    assert {item["resourceData"]["id"] for item in receiver.items()} == delivered_from


async def test_changes_queued_together_arrive_in_one_post(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    adele = await subscribe(graph)
    alex = await subscribe(graph, resource=f"/users/{ALEX}/events")
    publish(graph_state, "adele@contoso.test", "created", event_id="one")
    publish(graph_state, "adele@contoso.test", "updated", event_id="one")
    publish(graph_state, "alex@contoso.test", "created", event_id="two")
    await settle(graph_state)
    [post] = receiver.posts
    assert [(i["subscriptionId"], i["changeType"]) for i in post.body["value"]] == [
        (adele["id"], "created"),
        (adele["id"], "updated"),
        (alex["id"], "created"),
    ]


async def test_server_errors_are_retried_until_delivered(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    sub = await subscribe(graph)
    receiver.answer("/graph", 500, 503)
    publish(graph_state, "adele@contoso.test")
    await settle(graph_state)
    assert receiver.attempts == 3
    assert len(receiver.items()) == 1
    counts = stats(graph_state, sub["id"])
    assert (counts["delivered"], counts["retried"], counts["last_status"]) == (1, 2, 202)


async def test_a_slow_receiver_is_retried(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    sub = await subscribe(graph)
    receiver.stall("/graph", 1.0)  # longer than the test policy's 0.5 s answer timeout
    publish(graph_state, "adele@contoso.test")
    await settle(graph_state)
    assert receiver.attempts == 2
    assert len(receiver.items()) == 1
    counts = stats(graph_state, sub["id"])
    assert (counts["delivered"], counts["retried"], counts["last_error"]) == (1, 1, None)


async def test_retries_give_up_after_four_hours_and_report_missed(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    sub = await subscribe(graph, lifecycleNotificationUrl=LIFECYCLE)
    receiver.answer("/graph", *[500] * 1000)
    publish(graph_state, "adele@contoso.test")
    await receiver.wait_for_attempts(2)
    graph_state.clock.advance(4 * 3600)
    await settle(graph_state)
    assert receiver.items() == []
    counts = stats(graph_state, sub["id"])
    assert counts["dropped"] == 1
    assert counts["last_status"] == 500
    assert [item["lifecycleEvent"] for item in receiver.items("/lifecycle")] == ["missed"]


async def test_duplicate_fault_sends_twice(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    sub = await subscribe(graph)
    graph_state.faults.duplicate_notifications = 1.0
    publish(graph_state, "adele@contoso.test", event_id="dup")
    await settle(graph_state)
    assert [item["resourceData"]["id"] for item in receiver.items()] == ["dup", "dup"]
    counts = stats(graph_state, sub["id"])
    assert (counts["duplicated"], counts["delivered"]) == (1, 2)


async def test_drop_fault_loses_the_notification_and_reports_missed(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    with_lifecycle = await subscribe(graph, lifecycleNotificationUrl=LIFECYCLE)
    without = await subscribe(graph)
    graph_state.faults.drop_notifications = 1.0
    publish(graph_state, "adele@contoso.test")
    publish(graph_state, "adele@contoso.test", "updated")
    await settle(graph_state)
    assert receiver.items() == []
    [missed] = receiver.items("/lifecycle")  # one missed event covers both drops
    assert missed["subscriptionId"] == with_lifecycle["id"]
    assert missed["lifecycleEvent"] == "missed"
    assert stats(graph_state, with_lifecycle["id"])["dropped"] == 2
    assert stats(graph_state, without["id"])["dropped"] == 2


async def test_fault_rates_between_zero_and_one_use_the_seeded_random(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    sub = await subscribe(graph)
    graph_state.faults.drop_notifications = 0.5
    for number in range(40):
        publish(graph_state, "adele@contoso.test", event_id=f"e{number}")
    await settle(graph_state)
    counts = stats(graph_state, sub["id"])
    assert 0 < counts["dropped"] < 40
    assert counts["delivered"] == 40 - counts["dropped"] == len(receiver.items())


async def test_delay_fault_holds_notifications_back(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    await subscribe(graph)
    graph_state.faults.notification_delay_ms = (150, 200)
    published = time.monotonic()
    publish(graph_state, "adele@contoso.test")
    await settle(graph_state)
    [post] = receiver.posts
    assert post.received_at - published >= 0.15


async def test_notifications_pause_while_consent_is_revoked(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    await subscribe(graph)
    app = next(iter(graph_state.tenants[CONTOSO].apps.values()))
    app.consent = "revoked"
    publish(graph_state, "adele@contoso.test", event_id="while-revoked")
    app.consent = "granted"
    publish(graph_state, "adele@contoso.test", event_id="after")
    await settle(graph_state)
    assert [item["resourceData"]["id"] for item in receiver.items()] == ["after"]


async def test_events_api_writes_are_notified(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    sub = await subscribe(graph, resource="/users/adele@contoso.test/calendar/events")
    event = {
        "subject": "Notify me",
        "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"},
    }
    created = await graph.post("/users/adele@contoso.test/events", json=event)
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    await settle(graph_state)
    patched = await graph.patch(
        f"/users/adele@contoso.test/events/{event_id}", json={"subject": "x"}
    )
    await settle(graph_state)
    assert (await graph.delete(f"/users/adele@contoso.test/events/{event_id}")).status_code == 204
    await settle(graph_state)
    items = receiver.items()
    assert [item["changeType"] for item in items] == ["created", "updated", "deleted"]
    assert {item["resourceData"]["id"] for item in items} == {event_id}
    assert {item["subscriptionId"] for item in items} == {sub["id"]}
    assert items[0]["resourceData"]["@odata.etag"] == created.json()["@odata.etag"]
    assert items[1]["resourceData"]["@odata.etag"] == patched.json()["@odata.etag"]
    assert items[0]["resource"] == f"Users/{ADELE}/Events/{event_id}"
