"""Fault injection and the per-user quota, in Google's shapes (google.md §9)."""

from __future__ import annotations

from collections import Counter

import httpx

from calhub.emulators.google.state import GoogleState
from tests.emulators.google.conftest import token_for
from tests.emulators.google.seeds import BEN

BUILDINGS = "/admin/directory/v1/customer/my_customer/resources/buildings"


async def test_the_per_user_quota_is_a_sliding_minute(
    google: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post("/_emulator/faults", json={"requests_per_minute_per_user": 3})
    for _ in range(3):
        assert (await google.get(BUILDINGS)).status_code == 200
        await emulator.post("/_emulator/clock", json={"advance_seconds": 10})
    refused = await google.get(BUILDINGS)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["status"] == "PERMISSION_DENIED"
    assert error["errors"][0]["domain"] == "usageLimits"
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    assert "'Queries per minute per user'" in error["message"]
    # 31 s later the first request (at +0 s) has left the window: one more fits.
    await emulator.post("/_emulator/clock", json={"advance_seconds": 31})
    assert (await google.get(BUILDINGS)).status_code == 200
    assert (await google.get(BUILDINGS)).status_code == 403


async def test_the_quota_is_per_user_and_unauthenticated_calls_do_not_count(
    google: httpx.AsyncClient, emulator: httpx.AsyncClient, google_state: GoogleState
) -> None:
    await emulator.post("/_emulator/faults", json={"requests_per_minute_per_user": 1})
    assert (await google.get(BUILDINGS)).status_code == 200
    assert (await google.get(BUILDINGS)).status_code == 403
    for _ in range(3):
        assert (await emulator.get(BUILDINGS)).status_code == 401
    ben = {"Authorization": f"Bearer {token_for(google_state, BEN)}"}
    assert (await google.get(BUILDINGS, headers=ben)).status_code == 403  # not an admin: counted
    assert (await google.get(BUILDINGS, headers=ben)).status_code == 403
    assert "Quota exceeded" in (await google.get(BUILDINGS, headers=ben)).json()["error"]["message"]


async def test_random_throttling_answers_403_and_429_rate_limit_exceeded(
    google: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post("/_emulator/faults", json={"throttle_rate": 1.0})
    statuses: Counter[int] = Counter()
    for _ in range(20):
        response = await google.get(BUILDINGS)
        statuses[response.status_code] += 1
        item = response.json()["error"]["errors"][0]
        assert (item["domain"], item["reason"], item["message"]) == (
            "usageLimits",
            "rateLimitExceeded",
            "Rate Limit Exceeded",
        )
        expected = {403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED"}[response.status_code]
        assert response.json()["error"]["status"] == expected
    assert set(statuses) == {403, 429}


async def test_random_errors_are_backend_errors(
    google: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post("/_emulator/faults", json={"error_rate": 1.0})
    statuses = set()
    for _ in range(20):
        response = await google.get(BUILDINGS)
        statuses.add(response.status_code)
        assert response.json()["error"]["errors"][0]["reason"] == "backendError"
    assert statuses == {500, 503}


async def test_faults_spare_the_token_endpoint_and_the_control_api(
    emulator: httpx.AsyncClient,
) -> None:
    await emulator.post("/_emulator/faults", json={"error_rate": 1.0, "throttle_rate": 1.0})
    assert (await emulator.get("/_emulator/state")).status_code == 200
    token = await emulator.post("/token", data={"grant_type": "password"})
    assert token.json()["error"] == "unsupported_grant_type"


async def test_faults_off_again_lets_calls_through(
    google: httpx.AsyncClient, emulator: httpx.AsyncClient
) -> None:
    await emulator.post("/_emulator/faults", json={"error_rate": 1.0, "latency_ms": [1, 2]})
    assert (await google.get(BUILDINGS)).status_code >= 500
    await emulator.post("/_emulator/faults", json={"error_rate": 0.0})
    assert (await google.get(BUILDINGS)).status_code == 200
