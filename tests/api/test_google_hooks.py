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
