"""Watch-channel messages over real sockets (google.md §4.3, §4.4).

The emulator runs in-process; its deliveries go to a uvicorn receiver on a loopback port
(``receiver.py``), each test on its own path. Changes are made through the Calendar API, as a
client would make them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from calhub.emulators.google.channels.delivery import DeliveryPolicy
from calhub.emulators.google.state import GoogleState
from tests.emulators.google.receiver import Delivery, Hook, Receiver, new_hook, serving
from tests.emulators.google.seeds import ADA, BEN

EVENTS = "/calendar/v3/calendars/{}/events"
WATCH = EVENTS + "/watch"
GOOGLE_HEADERS = {
    "x-goog-channel-id",
    "x-goog-channel-token",
    "x-goog-channel-expiration",
    "x-goog-resource-id",
    "x-goog-resource-uri",
    "x-goog-resource-state",
    "x-goog-message-number",
}


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[tuple[Receiver, str]]:
    with serving() as served:
        yield served


@pytest.fixture
async def hook(
    receiver_server: tuple[Receiver, str], google_state: GoogleState
) -> AsyncIterator[Hook]:
    google_state.channels.policy = DeliveryPolicy(
        answer_timeout=2.0, first_retry_delay=0.05, max_attempts=3
    )
    yield new_hook(*receiver_server)
    await google_state.channels.aclose()


async def open_channel(
    google: httpx.AsyncClient, hook: Hook, calendar: str = "primary", **fields: Any
) -> dict[str, Any]:
    body = {"id": "chan-1", "type": "web_hook", "address": hook.url, **fields}
    response = await google.post(WATCH.format(calendar), json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


async def insert(google: httpx.AsyncClient, calendar: str = "primary", **fields: Any) -> str:
    event = {
        "summary": "Standup",
        "start": {"dateTime": "2026-03-03T09:00:00Z"},
        "end": {"dateTime": "2026-03-03T09:15:00Z"},
        **fields,
    }
    response = await google.post(EVENTS.format(calendar), json=event)
    assert response.status_code == 200, response.text
    event_id: str = response.json()["id"]
    return event_id


def states(deliveries: list[Delivery]) -> list[str]:
    return [message.state for message in deliveries]


async def settle(google_state: GoogleState) -> None:
    await asyncio.wait_for(google_state.channels.drain(), 10)


async def test_the_first_message_is_sync_with_googles_headers_and_no_body(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    created = await open_channel(google, hook, token="target=calhub")
    [sync] = await hook.wait_for(1)
    assert sync.method == "POST"
    assert sync.body == b""
    assert sync.headers["content-length"] == "0"
    assert sync.headers["user-agent"].startswith("APIs-Google")
    assert {name for name in sync.headers if name.startswith("x-goog-")} == GOOGLE_HEADERS
    assert sync.headers["x-goog-channel-id"] == "chan-1"
    assert sync.headers["x-goog-channel-token"] == "target=calhub"
    assert sync.headers["x-goog-resource-id"] == created["resourceId"]
    assert sync.headers["x-goog-resource-uri"] == created["resourceUri"]
    assert sync.state == "sync"
    assert sync.number == 1
    expiration = parsedate_to_datetime(sync.headers["x-goog-channel-expiration"])
    assert int(expiration.timestamp()) * 1000 == int(created["expiration"]) // 1000 * 1000
    assert sync.headers["x-goog-channel-expiration"].endswith(" GMT")


async def test_without_a_token_there_is_no_token_header(
    google: httpx.AsyncClient, hook: Hook
) -> None:
    await open_channel(google, hook)
    [sync] = await hook.wait_for(1)
    assert "x-goog-channel-token" not in sync.headers


async def test_insert_patch_and_delete_each_send_exists(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    await open_channel(google, hook, token="t")
    await hook.wait_for(1)
    event_id = await insert(google)
    path = EVENTS.format("primary") + f"/{event_id}"
    assert (await google.patch(path, json={"summary": "Daily"})).status_code == 200
    assert (await google.delete(path)).status_code == 204
    sync, *changes = await hook.wait_for(4)
    assert [message.state for message in changes] == ["exists"] * 3
    numbers = [message.number for message in (sync, *changes)]
    assert numbers == sorted(set(numbers))
    assert all(message.body == b"" for message in changes)
    assert all(message.headers["x-goog-channel-token"] == "t" for message in changes)
    await settle(google_state)
    assert len(hook.deliveries) == 4


async def test_only_channels_on_the_changed_calendar_hear_of_it(
    google: httpx.AsyncClient,
    google_state: GoogleState,
    hook: Hook,
    receiver_server: tuple[Receiver, str],
) -> None:
    other = new_hook(*receiver_server)
    await open_channel(google, hook, ADA)
    await open_channel(google, other, BEN, id="chan-ben")
    await insert(google, ADA)
    await settle(google_state)
    assert states(hook.deliveries) == ["sync", "exists"]
    assert states(other.deliveries) == ["sync"]


async def test_two_channels_on_one_calendar_both_hear(
    google: httpx.AsyncClient,
    google_state: GoogleState,
    hook: Hook,
    receiver_server: tuple[Receiver, str],
) -> None:
    other = new_hook(*receiver_server)
    first = await open_channel(google, hook)
    second = await open_channel(google, other, ADA, id="chan-2")
    await insert(google)
    await settle(google_state)
    assert first["resourceId"] == second["resourceId"]
    for receiving in (hook, other):
        assert states(receiving.deliveries) == ["sync", "exists"]


async def test_stop_stops_the_messages(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    created = await open_channel(google, hook)
    await settle(google_state)
    body = {"id": created["id"], "resourceId": created["resourceId"]}
    assert (await google.post("/calendar/v3/channels/stop", json=body)).status_code == 204
    await insert(google)
    await settle(google_state)
    assert states(hook.deliveries) == ["sync"]


async def test_an_expired_channel_gets_nothing(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    await open_channel(google, hook, params={"ttl": "600"})
    await settle(google_state)
    google_state.clock.advance(600)
    await insert(google)
    await settle(google_state)
    assert states(hook.deliveries) == ["sync"]


async def test_a_message_due_after_expiry_is_not_sent(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    google_state.faults.notification_delay_ms = (200, 200)
    await open_channel(google, hook, params={"ttl": "60"})
    await insert(google)
    await hook.wait_for(1)
    google_state.clock.advance(60)
    await settle(google_state)
    assert states(hook.deliveries) == ["sync"]


async def test_server_errors_are_retried_until_accepted(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    await open_channel(google, hook)
    await settle(google_state)
    hook.answer(503, 500)
    await insert(google)
    await settle(google_state)
    exists = [message for message in hook.deliveries if message.state == "exists"]
    assert [message.answered for message in exists] == [503, 500, 200]
    assert len({message.number for message in exists}) == 1
    [channel] = google_state.channels.summary()["channels"]
    assert channel["messages"]["retried"] == 2
    assert channel["messages"]["delivered"] == 2


async def test_retries_give_up_after_the_last_attempt(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    await open_channel(google, hook)
    await settle(google_state)
    hook.answer(504, 502, 503, 503)
    await insert(google)
    await settle(google_state)
    exists = [message for message in hook.deliveries if message.state == "exists"]
    assert [message.answered for message in exists] == [504, 502, 503]  # max_attempts = 3
    [channel] = google_state.channels.summary()["channels"]
    assert channel["messages"]["failed"] == 1


@pytest.mark.parametrize("status", [404, 400, 410, 301])
async def test_other_answers_fail_without_retry(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook, status: int
) -> None:
    await open_channel(google, hook)
    await settle(google_state)
    hook.answer(status)
    await insert(google)
    await insert(google)
    await settle(google_state)
    answered = [message.answered for message in hook.deliveries]
    assert answered == [200, status, 200]  # the next change is still delivered


@pytest.mark.parametrize("status", [201, 202, 204])
async def test_every_documented_success_is_success(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook, status: int
) -> None:
    hook.answer(status)
    await open_channel(google, hook)
    await settle(google_state)
    [sync] = hook.deliveries
    assert sync.answered == status
    [channel] = google_state.channels.summary()["channels"]
    assert channel["messages"]["delivered"] == 1
    assert channel["messages"]["retried"] == 0


async def test_an_unreachable_receiver_is_retried_then_given_up(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    closed_port = "http://127.0.0.1:9/hook"  # discard: nothing listens
    body = {"id": "nowhere", "type": "web_hook", "address": closed_port}
    assert (await google.post(WATCH.format("primary"), json=body)).status_code == 200
    await settle(google_state)
    [channel] = google_state.channels.summary()["channels"]
    assert channel["messages"]["retried"] == 2
    assert channel["messages"]["failed"] == 1
    assert channel["messages"]["lastError"]


async def test_dropped_notifications_never_arrive(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    google_state.faults.drop_notifications = 1.0
    await open_channel(google, hook)
    await insert(google)
    await insert(google)
    await settle(google_state)
    assert states(hook.deliveries) == ["sync"]
    [channel] = google_state.channels.summary()["channels"]
    assert channel["messages"]["dropped"] == 2


async def test_duplicated_notifications_arrive_twice_with_one_number(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    google_state.faults.duplicate_notifications = 1.0
    await open_channel(google, hook)
    await insert(google)
    await settle(google_state)
    sync, first, second = hook.deliveries
    assert sync.state == "sync"
    assert (first.state, second.state) == ("exists", "exists")
    assert first.number == second.number > 1


async def test_delay_holds_notifications_back(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    await open_channel(google, hook)
    await hook.wait_for(1)
    google_state.faults.notification_delay_ms = (300, 300)
    started = asyncio.get_running_loop().time()
    await insert(google)
    await hook.wait_for(2)
    assert asyncio.get_running_loop().time() - started >= 0.3


async def test_faults_set_through_the_control_api_apply(
    google: httpx.AsyncClient, emulator: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    response = await emulator.post("/_emulator/faults", json={"drop_notifications": 1.0})
    assert response.status_code == 200, response.text
    await open_channel(google, hook)
    await insert(google)
    await settle(google_state)
    assert states(hook.deliveries) == ["sync"]


async def test_reset_forgets_channels(
    google: httpx.AsyncClient, google_state: GoogleState, hook: Hook
) -> None:
    await open_channel(google, hook)
    await settle(google_state)
    google_state.channels.reset()
    assert google_state.channels.summary() == {"channels": []}
    await insert(google)
    await settle(google_state)
    assert states(hook.deliveries) == ["sync"]
