"""The control API under ``/_emulator``: reset, faults, consent, clock and state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calhub.emulators.graph import seed
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.errors import SeedInvalid
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.seeds import APP_ID, APP_SECRET, CONTOSO, FABRIKAM, contoso_seed

NEW_TENANT = "0d3c5a1e-8f2b-4c6d-9e7a-1b2c3d4e5f60"


def small_seed() -> dict[str, Any]:
    return {
        "tenants": [
            {
                "id": NEW_TENANT,
                "domain": "new.test",
                "apps": [{"client_id": "new-app", "client_secret": "x", "consent": "pending"}],
                "users": [{"id": NEW_TENANT, "userPrincipalName": "kim@new.test"}],
            }
        ]
    }


async def tenant_ids(emulator: httpx.AsyncClient) -> list[str]:
    state = (await emulator.get("/_emulator/state")).json()
    return [tenant["id"] for tenant in state["tenants"]]


async def test_reset_replaces_the_world(emulator: httpx.AsyncClient) -> None:
    response = await emulator.post("/_emulator/reset", json=small_seed())
    assert response.status_code == 200
    assert response.json()["tenants"] == [{"id": NEW_TENANT, "domain": "new.test", "mailboxes": 1}]
    assert await tenant_ids(emulator) == [NEW_TENANT]
    token = await emulator.post(
        f"/{CONTOSO}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert token.json()["error_codes"] == [90002]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"tenants": [{"id": "not-a-guid", "domain": "x.test"}]}, "tenants[0].id must be a GUID"),
        ({"tenants": "none"}, "seed.tenants must be a JSON array"),
        (
            {"tenants": [{"id": NEW_TENANT, "domain": "x.test", "apps": [{"client_id": "a"}]}]},
            "client_secret or a certificate_pem",
        ),
    ],
)
async def test_a_bad_seed_is_refused_and_changes_nothing(
    emulator: httpx.AsyncClient, body: Any, fragment: str
) -> None:
    response = await emulator.post("/_emulator/reset", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "SeedInvalid"
    assert fragment in error["message"]
    assert await tenant_ids(emulator) == [CONTOSO, FABRIKAM]


async def test_a_seed_failing_late_changes_nothing(
    emulator: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events are seeded after the world was emptied; a bad one must not leave it empty."""

    def refuse_events(state: GraphState, tenant: Any, entries: list[Any]) -> None:
        if entries:
            raise SeedInvalid(f"tenant {tenant.id}: events[0].start is missing")

    monkeypatch.setattr(seed, "seed_events", refuse_events)
    body = small_seed()
    body["tenants"][0]["events"] = [{"mailbox": "kim@new.test", "event": {"subject": "s"}}]
    response = await emulator.post("/_emulator/reset", json=body)
    assert response.status_code == 400
    assert "events[0].start is missing" in response.json()["error"]["message"]
    assert await tenant_ids(emulator) == [CONTOSO, FABRIKAM]


async def test_reset_with_malformed_json(emulator: httpx.AsyncClient) -> None:
    response = await emulator.post(
        "/_emulator/reset", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "BadRequest")
    assert await tenant_ids(emulator) == [CONTOSO, FABRIKAM]


async def test_faults_read_and_partial_update(emulator: httpx.AsyncClient) -> None:
    defaults = (await emulator.get("/_emulator/faults")).json()
    assert defaults == {
        "error_rate": 0.0,
        "throttle_rate": 0.0,
        "latency_ms": [0, 0],
        "duplicate_notifications": 0.0,
        "drop_notifications": 0.0,
        "notification_delay_ms": [0, 0],
        "mailbox_concurrency": 4,
        "requests_per_10min": 10_000,
    }
    first = await emulator.post(
        "/_emulator/faults", json={"error_rate": 0.25, "latency_ms": [1, 5]}
    )
    assert first.status_code == 200
    second = await emulator.post("/_emulator/faults", json={"mailbox_concurrency": 2})
    assert second.json() == {
        **defaults,
        "error_rate": 0.25,
        "latency_ms": [1, 5],
        "mailbox_concurrency": 2,
    }
    assert (await emulator.get("/_emulator/state")).json()["faults"] == second.json()


@pytest.mark.parametrize(
    "body",
    [
        {"error_rate": 1.5},
        {"error_rate": -0.1},
        {"drop_notifications": "0.5"},
        {"duplicate_notifications": True},
        {"latency_ms": [5, 1]},
        {"latency_ms": [1]},
        {"latency_ms": [-1, 3]},
        {"notification_delay_ms": [0.5, 2]},
        {"mailbox_concurrency": 0},
        {"requests_per_10min": 2.5},
        {"error_rate": 0.5, "no_such_knob": 1},
        [0.5],
    ],
)
async def test_invalid_faults_are_refused_and_change_nothing(
    emulator: httpx.AsyncClient, body: Any
) -> None:
    response = await emulator.post("/_emulator/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    faults = (await emulator.get("/_emulator/faults")).json()
    assert (faults["error_rate"], faults["latency_ms"], faults["mailbox_concurrency"]) == (
        0.0,
        [0, 0],
        4,
    )


async def test_revoking_consent_denies_calendar_calls(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    response = await emulator.post(
        f"/_emulator/tenants/{CONTOSO}/consent", json={"state": "revoked"}
    )
    assert response.json() == {
        "tenant": CONTOSO,
        "apps": [{"client_id": APP_ID, "consent": "revoked"}],
    }
    denied = await graph.get("/users/adele@contoso.test/mailboxSettings")
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "ErrorAccessDenied")
    await emulator.post("/_emulator/tenants/contoso.test/consent", json={"state": "granted"})
    assert (await graph.get("/users/adele@contoso.test/mailboxSettings")).status_code == 200
    assert graph_state.tenants[FABRIKAM].apps["fabrikam-app"].consent == "granted"


async def test_deleting_one_app_fails_its_token_requests(emulator: httpx.AsyncClient) -> None:
    response = await emulator.post(
        f"/_emulator/tenants/{CONTOSO}/consent", json={"state": "deleted", "client_id": APP_ID}
    )
    assert response.status_code == 200
    token = await emulator.post(
        f"/{CONTOSO}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": APP_ID,
            "client_secret": APP_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert (token.status_code, token.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    ("tenant", "body", "status"),
    [
        (CONTOSO, {"state": "maybe"}, 400),
        (CONTOSO, {}, 400),
        ("nowhere.test", {"state": "granted"}, 404),
        (CONTOSO, {"state": "granted", "client_id": "fabrikam-app"}, 404),
    ],
)
async def test_invalid_consent_changes(
    emulator: httpx.AsyncClient, tenant: str, body: Any, status: int
) -> None:
    response = await emulator.post(f"/_emulator/tenants/{tenant}/consent", json=body)
    assert response.status_code == status
    assert response.json()["error"]["message"]


async def test_clock_advances_and_expires_tokens(
    emulator: httpx.AsyncClient, graph: httpx.AsyncClient, clock: EmulatorClock
) -> None:
    response = await emulator.post("/_emulator/clock", json={"advance_seconds": 3600})
    assert response.json() == {"now": "2026-03-02T09:00:00+00:00"}
    assert clock.now().isoformat() == "2026-03-02T09:00:00+00:00"
    expired = await graph.get("/users/adele@contoso.test/mailboxSettings")
    assert expired.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_clock_can_be_set(emulator: httpx.AsyncClient) -> None:
    response = await emulator.post("/_emulator/clock", json={"now": "2026-06-01T12:00:00+02:00"})
    assert response.json() == {"now": "2026-06-01T10:00:00+00:00"}
    assert (await emulator.get("/_emulator/state")).json()["now"] == "2026-06-01T10:00:00+00:00"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"advance_seconds": -5},
        {"advance_seconds": "60"},
        {"advance_seconds": 60, "now": "2026-06-01T12:00:00Z"},
        {"now": "2026-06-01T12:00:00"},
        {"now": "yesterday"},
    ],
)
async def test_invalid_clock_moves(emulator: httpx.AsyncClient, body: Any) -> None:
    response = await emulator.post("/_emulator/clock", json=body)
    assert response.status_code == 400
    assert (await emulator.get("/_emulator/state")).json()["now"] == "2026-03-02T08:00:00+00:00"


async def test_state_dump(emulator: httpx.AsyncClient) -> None:
    state = (await emulator.get("/_emulator/state")).json()
    contoso = state["tenants"][0]
    assert contoso["apps"] == [{"client_id": APP_ID, "consent": "granted"}]
    assert len(contoso["mailboxes"]) == len(contoso_seed()["tenants"][0]["users"]) + 4
    assert state["faults"]["mailbox_concurrency"] == 4
