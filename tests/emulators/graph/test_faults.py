"""Fault knobs and Outlook's per-mailbox throttling, as a Graph client sees them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from calhub.emulators.graph.clock import EmulatorClock
from tests.emulators.graph.seeds import ADELE, ALEX, APP_ID, APP_SECRET, CONTOSO, contoso_seed

SETTINGS = "/users/{}/mailboxSettings/timeZone"


async def set_faults(emulator: httpx.AsyncClient, **knobs: Any) -> None:
    response = await emulator.post("/_emulator/faults", json=knobs)
    assert response.status_code == 200, response.text


async def test_error_rate_one_fails_every_graph_call_only(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient
) -> None:
    await set_faults(emulator, error_rate=1)
    responses = [await graph.get(SETTINGS.format("adele@contoso.test")) for _ in range(40)]
    assert {r.status_code for r in responses} <= {500, 502, 503, 504}
    unavailable = [r for r in responses if r.status_code == 503]
    assert len(unavailable) > len(responses) / 2  # mostly 503, as Graph under load
    error = unavailable[0].json()["error"]
    assert error["code"] == "ServiceNotAvailable"
    assert error["innerError"]["request-id"] == unavailable[0].headers["request-id"]
    retry_after = {r.headers.get("retry-after") for r in unavailable}
    assert None in retry_after  # some carry no Retry-After ...
    assert retry_after - {None}  # ... and some do
    assert all(int(value) >= 1 for value in retry_after - {None})
    token = await emulator.post(
        f"/{CONTOSO}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert token.status_code == 200
    assert (await emulator.get("/_emulator/state")).status_code == 200


async def test_error_rate_between_fails_some(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient
) -> None:
    await set_faults(emulator, error_rate=0.5)
    statuses = [(await graph.get(SETTINGS.format(ADELE))).status_code for _ in range(40)]
    failed = [status for status in statuses if status != 200]
    assert set(failed) <= {500, 502, 503, 504}
    assert 5 < len(failed) < 35


async def test_throttle_rate_answers_429_with_retry_after(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient
) -> None:
    await set_faults(emulator, throttle_rate=0.5)
    responses = [await graph.get(SETTINGS.format(ADELE)) for _ in range(40)]
    throttled = [r for r in responses if r.status_code != 200]
    assert 5 < len(throttled) < 35
    assert {r.status_code for r in throttled} == {429}
    assert {r.json()["error"]["code"] for r in throttled} == {"TooManyRequests"}
    assert all(1 <= int(r.headers["retry-after"]) <= 3 for r in throttled)


async def test_latency_delays_graph_calls(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient
) -> None:
    await set_faults(emulator, latency_ms=[300, 300])
    started = time.monotonic()
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200
    assert time.monotonic() - started >= 0.3
    # The control API is never delayed; the margin is wide so a busy machine cannot fail it.
    started = time.monotonic()
    await emulator.get("/_emulator/state")
    assert time.monotonic() - started < 0.3


async def test_too_many_requests_in_flight_for_one_mailbox(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient
) -> None:
    await set_faults(emulator, mailbox_concurrency=2, latency_ms=[100, 100])
    adele = [SETTINGS.format(key) for key in ("adele@contoso.test", ADELE, "ADELE@contoso.test")]
    responses = await asyncio.gather(
        *(graph.get(path) for path in [*adele, *adele]), graph.get(SETTINGS.format(ALEX))
    )
    for_adele, for_alex = responses[:-1], responses[-1]
    assert sorted(r.status_code for r in for_adele) == [200, 200, 429, 429, 429, 429]
    throttled = next(r for r in for_adele if r.status_code == 429)
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert throttled.json()["error"]["message"] == (
        "Application is over its MailboxConcurrency limit."
    )
    assert int(throttled.headers["retry-after"]) >= 1
    assert for_alex.status_code == 200
    # Slots free up as requests finish.
    assert (await graph.get(adele[0])).status_code == 200


async def test_budget_over_ten_minutes_per_mailbox(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient, clock: EmulatorClock
) -> None:
    await set_faults(emulator, requests_per_10min=3)
    assert (await graph.get(SETTINGS.format("adele@contoso.test"))).status_code == 200
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200
    clock.advance(100)
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200

    over = await graph.get(SETTINGS.format("adele@contoso.test"))
    assert over.status_code == 429
    assert over.headers["retry-after"] == "500"
    error = over.json()["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
    inner = error["innerError"]
    assert (inner["code"], inner["status"], inner["message"]) == (
        "429",
        "429",
        "Please retry after",
    )
    assert (await graph.get(SETTINGS.format(ALEX))).status_code == 200  # other mailbox

    clock.advance(499)
    assert (await graph.get(SETTINGS.format(ADELE))).headers["retry-after"] == "1"
    clock.advance(1)  # the first two requests leave the window
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200
    again = await graph.get(SETTINGS.format(ADELE))
    assert (again.status_code, again.headers["retry-after"]) == (429, "100")


async def test_unauthenticated_calls_are_not_throttled(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient
) -> None:
    await set_faults(emulator, requests_per_10min=1)
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 429
    anonymous = await emulator.get(f"/v1.0{SETTINGS.format(ADELE)}")
    assert anonymous.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_reset_starts_budgets_afresh(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient
) -> None:
    await set_faults(emulator, requests_per_10min=1)
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 429
    assert (await emulator.post("/_emulator/reset", json=contoso_seed())).status_code == 200
    assert (await graph.get(SETTINGS.format(ADELE))).status_code == 200
