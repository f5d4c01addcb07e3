"""``events.watch`` and ``channels.stop``: what the API answers (google.md §4.1, §4.2, §4.5).

Delivery itself is in ``test_channels_delivery.py``. The addresses here are on ``*.test`` hosts
the emulator would POST to; nothing listens there, and these tests never wait for a delivery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.emulators.google.state import GoogleState
from tests.emulators.google.conftest import FROZEN_NOW, token_for
from tests.emulators.google.seeds import (
    ADA,
    BEN,
    CALENDAR,
    CALENDAR_READONLY,
    FABRIKAM,
    FABRIKAM_ACCOUNT,
    FRANK,
    FREEBUSY,
    ROOM_ATLAS,
)

HOOK = "https://hooks.northwind.test/google"
WATCH = "/calendar/v3/calendars/{}/events/watch"
STOP = "/calendar/v3/channels/stop"
NOW_MS = int(FROZEN_NOW.timestamp() * 1000)
WEEK_MS = 7 * 24 * 3600 * 1000


@pytest.fixture(autouse=True)
async def close_channels(google_state: GoogleState) -> AsyncIterator[None]:
    """The in-process app has no lifespan: stop its delivery task after each test."""
    yield
    await google_state.channels.aclose()


def channel(**fields: Any) -> dict[str, Any]:
    return {"id": "chan-1", "type": "web_hook", "address": HOOK, **fields}


async def watch(
    google: httpx.AsyncClient, calendar: str = "primary", **fields: Any
) -> httpx.Response:
    return await google.post(WATCH.format(calendar), json=channel(**fields))


def reason(response: httpx.Response) -> str:
    errors: list[dict[str, str]] = response.json()["error"]["errors"]
    return errors[0]["reason"]


async def test_watch_answers_the_channel_with_resource_and_expiration(
    google: httpx.AsyncClient,
) -> None:
    response = await watch(google, token="target=calhub")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "kind": "api#channel",
        "id": "chan-1",
        "resourceId": body["resourceId"],
        "resourceUri": "http://google.emu.test/calendar/v3/calendars/primary/events?alt=json",
        "token": "target=calhub",
        "expiration": str(NOW_MS + WEEK_MS),
    }
    assert len(body["resourceId"]) == 27


async def test_resource_id_names_the_calendar_not_the_channel(google: httpx.AsyncClient) -> None:
    first = (await watch(google, id="a")).json()
    by_address = (await watch(google, ADA, id="b")).json()
    other_user = (await watch(google, BEN, id="c")).json()
    room = (await watch(google, ROOM_ATLAS, id="d")).json()
    assert first["resourceId"] == by_address["resourceId"]
    assert by_address["resourceUri"].endswith(f"/calendars/{ADA}/events?alt=json")
    assert len({first["resourceId"], other_user["resourceId"], room["resourceId"]}) == 3


async def test_ttl_and_expiration_shorten_the_lifetime(google: httpx.AsyncClient) -> None:
    by_ttl = (await watch(google, id="ttl", params={"ttl": "3600"})).json()
    by_expiry = (await watch(google, id="exp", expiration=NOW_MS + 60_000)).json()
    both = await watch(google, id="both", expiration=str(NOW_MS + 90_000), params={"ttl": "60"})
    assert by_ttl["expiration"] == str(NOW_MS + 3_600_000)
    assert by_expiry["expiration"] == str(NOW_MS + 60_000)
    assert both.json()["expiration"] == str(NOW_MS + 60_000)


async def test_lifetime_is_capped_at_the_maximum(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    long = (await watch(google, id="long", params={"ttl": str(30 * 24 * 3600)})).json()
    assert long["expiration"] == str(NOW_MS + WEEK_MS)
    google_state.channels.max_lifetime = timedelta(days=1)
    capped = (await watch(google, id="capped", expiration=NOW_MS + WEEK_MS)).json()
    assert capped["expiration"] == str(NOW_MS + 24 * 3600 * 1000)


async def test_a_live_channel_id_cannot_be_reused(google: httpx.AsyncClient) -> None:
    assert (await watch(google)).status_code == 200
    again = await watch(google, BEN)
    assert again.status_code == 400
    assert reason(again) == "channelIdNotUnique"


async def test_an_expired_channel_id_can_be_reused(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    assert (await watch(google, params={"ttl": "60"})).status_code == 200
    google_state.clock.advance(61)
    assert (await watch(google)).status_code == 200


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"id": None}, "required"),
        ({"id": "x" * 65}, "channelIdInvalid"),
        ({"id": "has space"}, "channelIdInvalid"),
        ({"type": "email"}, "invalid"),
        ({"address": None}, "required"),
        ({"address": "http://hooks.northwind.test/google"}, "push.webhookUrlNotHttps"),
        ({"address": "ftp://127.0.0.1/google"}, "push.webhookUrlNotHttps"),
        ({"address": "https://calhub.example.com/google"}, "push.webhookUrlUnauthorized"),
        ({"address": "not a url"}, "invalid"),
        ({"token": "t" * 257}, "invalid"),
        ({"expiration": NOW_MS - 1}, "invalid"),
        ({"expiration": "soon"}, "invalid"),
        ({"params": {"ttl": "a week"}}, "invalid"),
    ],
)
async def test_bad_channels_are_refused(
    google: httpx.AsyncClient, fields: dict[str, Any], expected: str
) -> None:
    response = await google.post(
        WATCH.format("primary"),
        json={k: v for k, v in channel(**fields).items() if v is not None},
    )
    assert response.status_code == 400, response.text
    assert reason(response) == expected


@pytest.mark.parametrize(
    "address",
    ["http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook",
     "https://hooks.calhub.localhost/hook", "https://hooks.example/hook"],
)  # fmt: skip
async def test_loopback_and_test_hosts_are_accepted(
    google: httpx.AsyncClient, address: str
) -> None:
    response = await watch(google, address=address, type="webhook")
    assert response.status_code == 200, response.text


async def test_a_body_that_is_not_json_is_a_parse_error(google: httpx.AsyncClient) -> None:
    response = await google.post(WATCH.format("primary"), content=b"{id: 1")
    assert response.status_code == 400
    assert reason(response) == "parseError"


@pytest.mark.parametrize("calendar", ["nobody@northwind.test", FRANK])
async def test_unknown_or_foreign_calendars_are_not_found(
    google: httpx.AsyncClient, calendar: str
) -> None:
    response = await watch(google, calendar)
    assert response.status_code == 404
    assert reason(response) == "notFound"


async def test_watch_needs_an_events_list_scope(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    only_freebusy = {"Authorization": f"Bearer {token_for(google_state, scopes=[FREEBUSY])}"}
    refused = await google.post(WATCH.format("primary"), json=channel(), headers=only_freebusy)
    assert refused.status_code == 403
    assert reason(refused) == "insufficientPermissions"
    readonly = {"Authorization": f"Bearer {token_for(google_state, scopes=[CALENDAR_READONLY])}"}
    allowed = await google.post(WATCH.format("primary"), json=channel(), headers=readonly)
    assert allowed.status_code == 200


async def test_stop_forgets_the_channel(google: httpx.AsyncClient) -> None:
    created = (await watch(google)).json()
    stopped = await google.post(STOP, json={"id": "chan-1", "resourceId": created["resourceId"]})
    assert stopped.status_code == 204
    assert stopped.content == b""
    again = await google.post(STOP, json={"id": "chan-1", "resourceId": created["resourceId"]})
    assert again.status_code == 404
    assert reason(again) == "notFound"
    assert (await watch(google)).status_code == 200


async def test_stop_accepts_the_whole_channel_back(google: httpx.AsyncClient) -> None:
    created = (await watch(google, token="t")).json()
    assert (await google.post(STOP, json=created)).status_code == 204


async def test_stop_with_a_wrong_resource_id_is_not_found(google: httpx.AsyncClient) -> None:
    await watch(google)
    other = (await watch(google, BEN, id="chan-2")).json()
    response = await google.post(STOP, json={"id": "chan-1", "resourceId": other["resourceId"]})
    assert response.status_code == 404
    assert "chan-1" in response.json()["error"]["message"]


async def test_stop_of_an_expired_channel_is_not_found(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    created = (await watch(google, params={"ttl": "60"})).json()
    google_state.clock.advance(60)
    response = await google.post(STOP, json={"id": "chan-1", "resourceId": created["resourceId"]})
    assert response.status_code == 404


async def test_any_user_of_the_service_account_may_stop_its_channel(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    created = (await watch(google)).json()
    as_ben = {"Authorization": f"Bearer {token_for(google_state, BEN, [CALENDAR])}"}
    body = {"id": "chan-1", "resourceId": created["resourceId"]}
    assert (await google.post(STOP, json=body, headers=as_ben)).status_code == 204


async def test_stop_needs_both_fields(google: httpx.AsyncClient) -> None:
    response = await google.post(STOP, json={"id": "chan-1"})
    assert response.status_code == 400
    assert reason(response) == "required"


async def test_stop_needs_a_calendar_scope_other_than_freebusy(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    created = (await watch(google)).json()
    only_freebusy = {"Authorization": f"Bearer {token_for(google_state, scopes=[FREEBUSY])}"}
    body = {"id": "chan-1", "resourceId": created["resourceId"]}
    response = await google.post(STOP, json=body, headers=only_freebusy)
    assert response.status_code == 403


async def test_the_control_api_lists_live_channels(
    google: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    created = (await watch(google, token="t")).json()
    state = (await emulator.get("/_emulator/state")).json()
    [listed] = state["channels"]["channels"]
    assert listed["id"] == created["id"]
    assert listed["calendarId"] == ADA
    assert listed["address"] == HOOK


async def test_another_service_account_cannot_stop_the_channel(
    google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    created = (await watch(google)).json()
    fabrikam = token_for(
        google_state, FRANK, [CALENDAR], customer_id=FABRIKAM, client_email=FABRIKAM_ACCOUNT
    )
    body = {"id": "chan-1", "resourceId": created["resourceId"]}
    response = await google.post(STOP, json=body, headers={"Authorization": f"Bearer {fabrikam}"})
    assert response.status_code == 404
