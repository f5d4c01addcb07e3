"""``/hooks/google`` through the ASGI app on a real runtime: Google's body-less push messages
authenticated by the channel token, stored once, a sync queued (google.md §4.3, §4.4)."""

from __future__ import annotations

import httpx

from calhub.bootstrap import Runtime
from calhub.services.jobs import SYNC_CALENDAR_TASK, calendar_lock
from tests.api.test_hooks import Subscribed, assert_problem, inbox, jobs, subscribe

HOOK = "/hooks/google"


def push(subscribed: Subscribed, state: str = "exists", number: int = 5) -> dict[str, str]:
    channel_id, _, resource_id = subscribed.provider_id.partition("/")
    return {
        "X-Goog-Channel-ID": channel_id,
        "X-Goog-Resource-ID": resource_id,
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(number),
        "X-Goog-Channel-Token": subscribed.client_state,
        "X-Goog-Channel-Expiration": "Tue, 10 Mar 2026 08:00:00 GMT",
        "Content-Type": "application/json; utf-8",
    }


async def test_a_push_message_is_stored_once_and_queues_its_calendars_sync(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime, provider_id="calhub-channel-1/ret08u3rv24htgh289g")

    sync = await client.post(HOOK, headers=push(subscribed, "sync", 1))
    assert (sync.status_code, sync.content) == (200, b"")
    assert await jobs(runtime, subscribed) == []

    first = await client.post(HOOK, headers=push(subscribed))
    again = await client.post(HOOK, headers=push(subscribed))

    assert (first.status_code, first.content, again.status_code) == (200, b"", 200)
    assert await inbox(runtime, subscribed) == [("exists", "ret08u3rv24htgh289g")]
    calendar_id = subscribed.calendar.id
    assert await jobs(runtime, subscribed) == [
        (SYNC_CALENDAR_TASK, calendar_lock(calendar_id), f"sync:{calendar_id}")
    ]


async def test_a_forged_or_unknown_channel_is_401_and_a_non_push_is_400(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime, provider_id="calhub-channel-2/res-2")
    forged = push(subscribed) | {"X-Goog-Channel-Token": "guessed"}
    unknown = push(subscribed) | {"X-Goog-Channel-ID": "calhub-channel-3"}
    for headers in (forged, unknown):
        problem = assert_problem(
            await client.post(HOOK, headers=headers), 401, "notification-rejected"
        )
        assert "calhub-channel" not in problem["detail"]
    assert await inbox(runtime, subscribed) == []

    missing = {k: v for k, v in push(subscribed).items() if k != "X-Goog-Message-Number"}
    problem = assert_problem(await client.post(HOOK, headers=missing), 400, "bad-request")
    assert "X-Goog-Message-Number" in problem["detail"]
    odd = push(subscribed) | {"X-Goog-Resource-State": "deleted"}
    assert_problem(await client.post(HOOK, headers=odd), 400, "bad-request")


async def test_only_post_is_allowed_and_each_push_is_counted_under_its_route(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    subscribed = await subscribe(runtime, provider_id="calhub-channel-4/res-4")
    problem = assert_problem(await client.get(HOOK), 405, "method-not-allowed")
    assert problem["instance"] == HOOK
    assert (await client.put(HOOK, headers=push(subscribed))).headers["allow"] == "POST"
    assert await inbox(runtime, subscribed) == []

    assert (await client.post(HOOK, headers=push(subscribed, number=9))).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert 'calhub_http_requests_total{method="POST",route="/hooks/google",status="200"}' in metrics
    assert 'calhub_http_requests_total{method="GET",route="/hooks/google",status="405"}' in metrics


async def test_the_openapi_document_describes_the_push_address(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][HOOK]["post"]
    assert operation["tags"] == ["inbound webhooks"]
    assert set(operation["responses"]) == {"200", "400", "401", "405", "503"}
    required = {p["name"] for p in operation["parameters"] if p["in"] == "header" and p["required"]}
    assert required == {
        "X-Goog-Channel-ID",
        "X-Goog-Resource-ID",
        "X-Goog-Resource-State",
        "X-Goog-Message-Number",
    }
    assert "/hooks/microsoft" in document["paths"]  # the routes' own operations are all there
