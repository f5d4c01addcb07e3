"""The control API under ``/_emulator``: reset, faults, consent, sync-token expiry, clock, state."""

from __future__ import annotations

import httpx
import pytest

from calhub.emulators.google.state import GoogleState
from tests.emulators.google.conftest import FROZEN_NOW
from tests.emulators.google.seeds import ADA, NORTHWIND, ROOM_ATLAS, SERVICE_ACCOUNT, northwind_seed

BUILDINGS = "/admin/directory/v1/customer/my_customer/resources/buildings"


async def test_reset_replaces_the_world_and_kills_tokens(
    emulator: httpx.AsyncClient, google: httpx.AsyncClient, google_state: GoogleState
) -> None:
    seed = northwind_seed()
    seed["customers"][0]["buildings"].pop()  # Berlin, and Cairo, the room in it
    seed["customers"][0]["resources"].pop()
    await emulator.post("/_emulator/faults", json={"error_rate": 0.5})
    response = await emulator.post("/_emulator/reset", json=seed)
    assert response.status_code == 200
    assert response.json()["customers"][0] == {
        "id": NORTHWIND,
        "domain": "northwind.test",
        "users": 5,
        "resources": 2,
    }
    assert (await emulator.get("/_emulator/faults")).json()["error_rate"] == 0.0
    assert (await google.get(BUILDINGS)).status_code == 401  # the old token died with the world
    assert list(google_state.customers[NORTHWIND].buildings) == ["LON-1"]


async def test_a_bad_seed_is_400_and_changes_nothing(
    emulator: httpx.AsyncClient, google: httpx.AsyncClient
) -> None:
    seed = northwind_seed()
    seed["customers"][0]["users"][1]["timeZone"] = "Mars/Olympus"
    response = await emulator.post("/_emulator/reset", json=seed)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["errors"][0]["reason"] == "seedInvalid"
    assert "customers[0].users[1].timeZone" in error["message"]
    assert (await google.get(BUILDINGS)).status_code == 200
    not_json = await emulator.post("/_emulator/reset", content=b"{")
    assert not_json.status_code == 400


async def test_faults_read_and_change_any_subset(emulator: httpx.AsyncClient) -> None:
    defaults = (await emulator.get("/_emulator/faults")).json()
    assert defaults == {
        "error_rate": 0.0,
        "throttle_rate": 0.0,
        "latency_ms": [0, 0],
        "duplicate_notifications": 0.0,
        "drop_notifications": 0.0,
        "notification_delay_ms": [0, 0],
        "requests_per_minute_per_user": 600,
    }
    changed = await emulator.post(
        "/_emulator/faults", json={"throttle_rate": 0.25, "latency_ms": [5, 10]}
    )
    assert changed.json() == defaults | {"throttle_rate": 0.25, "latency_ms": [5, 10]}
    assert (await emulator.get("/_emulator/faults")).json() == changed.json()


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 1.5},
        {"throttle_rate": True},
        {"latency_ms": [10, 5]},
        {"latency_ms": 3},
        {"requests_per_minute_per_user": 0},
        {"mailbox_concurrency": 4},
        [1, 2],
    ],
)
async def test_bad_fault_knobs_are_400(emulator: httpx.AsyncClient, body: object) -> None:
    response = await emulator.post("/_emulator/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["errors"][0]["reason"] == "badRequest"


async def test_consent_can_narrow_scopes(
    emulator: httpx.AsyncClient, google_state: GoogleState
) -> None:
    scope = "https://www.googleapis.com/auth/calendar"
    response = await emulator.post(
        f"/_emulator/service-accounts/{SERVICE_ACCOUNT.upper()}/consent",
        json={"state": "granted", "scopes": [scope]},
    )
    assert response.status_code == 200
    assert response.json() == {
        "customer": NORTHWIND,
        "client_email": SERVICE_ACCOUNT,
        "state": "granted",
        "scopes": [scope],
    }
    assert google_state.customers[NORTHWIND].service_accounts[SERVICE_ACCOUNT].scopes == {scope}


@pytest.mark.parametrize(
    ("email", "body", "status"),
    [
        (SERVICE_ACCOUNT, {"state": "paused"}, 400),
        (SERVICE_ACCOUNT, {"state": "granted", "scopes": "calendar"}, 400),
        (SERVICE_ACCOUNT, {"state": "granted", "client_id": "1"}, 400),
        ("nobody@x.iam.gserviceaccount.com", {"state": "revoked"}, 404),
    ],
)
async def test_bad_consent_requests(
    emulator: httpx.AsyncClient, email: str, body: dict[str, object], status: int
) -> None:
    response = await emulator.post(f"/_emulator/service-accounts/{email}/consent", json=body)
    assert response.status_code == status


async def test_expire_sync_tokens_needs_a_known_calendar(emulator: httpx.AsyncClient) -> None:
    response = await emulator.post(f"/_emulator/calendars/{ROOM_ATLAS.upper()}/expire-sync-tokens")
    assert response.status_code == 200
    assert response.json() == {"calendarId": ROOM_ATLAS, "expired": True}
    missing = await emulator.post("/_emulator/calendars/ghost@x.test/expire-sync-tokens")
    assert missing.status_code == 404


async def test_clock_advances_or_is_set(emulator: httpx.AsyncClient) -> None:
    advanced = await emulator.post("/_emulator/clock", json={"advance_seconds": 90})
    assert advanced.json() == {"now": "2026-03-02T08:01:30+00:00"}
    moved = await emulator.post("/_emulator/clock", json={"now": "2026-04-01T12:00:00+02:00"})
    assert moved.json() == {"now": "2026-04-01T10:00:00+00:00"}
    for body in ({"advance_seconds": -1}, {"now": "2026-04-01T12:00:00"}, {}, {"now": 5}):
        assert (await emulator.post("/_emulator/clock", json=body)).status_code == 400


async def test_state_dump(emulator: httpx.AsyncClient, google: httpx.AsyncClient) -> None:
    state = (await emulator.get("/_emulator/state")).json()
    assert state["now"] == FROZEN_NOW.isoformat()
    northwind = state["customers"][0]
    assert northwind["service_accounts"][0]["client_email"] == SERVICE_ACCOUNT
    assert northwind["service_accounts"][0]["state"] == "granted"
    assert northwind["users"][0]["email"] == ADA
    assert northwind["buildings"] == ["BER-1", "LON-1"]
    assert {r["resourceEmail"] for r in northwind["resources"]} >= {ROOM_ATLAS}
    assert state["access_tokens"] == 1  # the google fixture's
    assert set(state) >= {"faults", "calendar", "channels"}
