"""``POST /token``: the JWT-bearer grant for delegated service accounts (google.md §8.2), and
what the access tokens it issues let through."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import google.auth.transport.requests
import httpx
import jwt
import pytest
import requests
from fastapi import FastAPI
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account

from calhub.emulators.google.app import create_app
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from tests.emulators.google.conftest import BASE_URL, FROZEN_NOW
from tests.emulators.google.seeds import (
    ADA,
    BEN,
    CALENDAR,
    CALENDAR_READONLY,
    FRANK,
    RESOURCES_READONLY,
    SERVICE_ACCOUNT,
    key_file,
    northwind_seed,
    other_private_key,
    private_key_pem,
)
from tests.emulators.graph.servers import serve_in_thread

TOKEN_URL = f"{BASE_URL}/token"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
USERS_LIST = "/admin/directory/v1/users?customer=my_customer"


def assertion(**overrides: Any) -> str:
    """A JWT as google-auth signs it, issued now on the frozen clock; ``None`` drops a claim."""
    issued = int(FROZEN_NOW.timestamp())
    claims: dict[str, Any] = {
        "iss": SERVICE_ACCOUNT,
        "scope": f"{CALENDAR} {RESOURCES_READONLY}",
        "aud": GOOGLE_TOKEN_URL,
        "iat": issued,
        "exp": issued + 3600,
        "sub": ADA,
    }
    key = overrides.pop("key", None)
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key or private_key_pem(), algorithm="RS256", headers={"kid": "0123"})


async def grant(client: httpx.AsyncClient, signed: str, **form: str) -> httpx.Response:
    fields = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": signed}
    return await client.post("/token", data={**fields, **form})


async def test_a_valid_assertion_gets_a_bearer_token_for_an_hour(
    emulator: httpx.AsyncClient,
) -> None:
    response = await grant(emulator, assertion())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    assert body["expires_in"] == 3599
    assert body["token_type"] == "Bearer"
    listed = await emulator.get(
        USERS_LIST, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    # the token carries the directory scope it asked for, but not the user scope
    assert listed.status_code == 403
    assert listed.json()["error"]["errors"][0]["reason"] == "insufficientPermissions"
    buildings = await emulator.get(
        "/admin/directory/v1/customer/my_customer/resources/buildings",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert buildings.status_code == 200


async def test_the_audience_may_be_the_emulators_own_token_url(
    emulator: httpx.AsyncClient,
) -> None:
    assert (await grant(emulator, assertion(aud=TOKEN_URL))).status_code == 200
    refused = await grant(emulator, assertion(aud="https://elsewhere.test/token"))
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("claims", "status", "error", "description"),
    [
        ({"key": private_key_pem(other_private_key())}, 400, "invalid_grant",
         "Invalid JWT Signature."),
        ({"iss": "nobody@elsewhere.iam.gserviceaccount.com"}, 400, "invalid_grant",
         "Invalid grant: account not found"),
        ({"sub": "ghost@northwind.test"}, 400, "invalid_grant", "Invalid email or User ID"),
        ({"sub": FRANK}, 401, "unauthorized_client", "Unauthorized client or scope in request."),
        ({"scope": "https://www.googleapis.com/auth/gmail.readonly"}, 401,
         "unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
         "method, or client not authorized for any of the scopes requested."),
        ({"scope": ""}, 400, "invalid_scope", "Invalid OAuth scope or ID token audience "
         "provided."),
        ({"sub": None}, 400, "invalid_request", None),
    ],
    ids=["foreign-key", "unknown-issuer", "unknown-user", "other-domain", "scope-not-granted",
         "empty-scope", "no-subject"],
)  # fmt: skip
async def test_refusals_answer_in_oauths_error_shape(
    emulator: httpx.AsyncClient,
    claims: dict[str, Any],
    status: int,
    error: str,
    description: str | None,
) -> None:
    response = await grant(emulator, assertion(**claims))
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description


@pytest.mark.parametrize(
    "times",
    [
        {"exp": int(FROZEN_NOW.timestamp()) - 1, "iat": int(FROZEN_NOW.timestamp()) - 3601},
        {"exp": int(FROZEN_NOW.timestamp()) + 7200},  # longer than an hour
        {"iat": int(FROZEN_NOW.timestamp()) + 600, "exp": int(FROZEN_NOW.timestamp()) + 900},
        {"exp": int(FROZEN_NOW.timestamp()) - 10},  # before iat and already past
    ],
    ids=["expired", "too-long", "from-the-future", "exp-before-iat"],
)
async def test_assertions_must_be_short_lived_and_current(
    emulator: httpx.AsyncClient, times: dict[str, int]
) -> None:
    response = await grant(emulator, assertion(**times))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert response.json()["error_description"].startswith(
        "Invalid JWT: Token must be a short-lived token (60 minutes)"
    )


async def test_wrong_grant_type_and_missing_or_garbled_assertion(
    emulator: httpx.AsyncClient,
) -> None:
    wrong = await grant(emulator, assertion(), grant_type="refresh_token")
    assert (wrong.status_code, wrong.json()["error"]) == (400, "unsupported_grant_type")
    missing = await emulator.post(
        "/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}
    )
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    garbled = await grant(emulator, "not-a-jwt")
    assert (garbled.status_code, garbled.json()["error"]) == (400, "invalid_grant")


async def test_revoked_delegation_refuses_new_tokens_and_kills_issued_ones(
    emulator: httpx.AsyncClient,
) -> None:
    token = (await grant(emulator, assertion())).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    buildings = "/admin/directory/v1/customer/my_customer/resources/buildings"
    assert (await emulator.get(buildings, headers=headers)).status_code == 200
    revoked = await emulator.post(
        f"/_emulator/service-accounts/{SERVICE_ACCOUNT}/consent", json={"state": "revoked"}
    )
    assert revoked.status_code == 200
    refused = await grant(emulator, assertion())
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "unauthorized_client",
        "error_description": "Unauthorized client or scope in request.",
    }
    after = await emulator.get(buildings, headers=headers)
    assert after.status_code == 401
    assert after.json() == {
        "error": {
            "code": 401,
            "message": "Invalid Credentials",
            "errors": [
                {
                    "domain": "global",
                    "reason": "authError",
                    "message": "Invalid Credentials",
                    "locationType": "header",
                    "location": "Authorization",
                }
            ],
            "status": "UNAUTHENTICATED",
        }
    }
    regranted = await emulator.post(
        f"/_emulator/service-accounts/{SERVICE_ACCOUNT}/consent", json={"state": "granted"}
    )
    assert regranted.status_code == 200
    assert (await grant(emulator, assertion())).status_code == 200


async def test_access_tokens_expire_after_an_hour_of_emulator_time(
    emulator: httpx.AsyncClient,
) -> None:
    token = (await grant(emulator, assertion())).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    buildings = "/admin/directory/v1/customer/my_customer/resources/buildings"
    await emulator.post("/_emulator/clock", json={"advance_seconds": 3598})
    assert (await emulator.get(buildings, headers=headers)).status_code == 200
    await emulator.post("/_emulator/clock", json={"advance_seconds": 1})
    expired = await emulator.get(buildings, headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"]["errors"][0]["reason"] == "authError"


async def test_calls_without_a_credential_are_401(emulator: httpx.AsyncClient) -> None:
    response = await emulator.get("/admin/directory/v1/customer/my_customer/resources/buildings")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["location"] == "Authorization"
    assert response.headers["www-authenticate"].startswith("Bearer")
    garbage = await emulator.get(
        "/admin/directory/v1/customer/my_customer/resources/buildings",
        headers={"Authorization": "Bearer ya29.made-up"},
    )
    assert garbage.status_code == 401
    assert garbage.json()["error"]["message"] == "Invalid Credentials"


# --- google-auth's own service-account credentials, over a real loopback socket ----------------


@pytest.fixture
def live_app() -> FastAPI:
    """Northwind on the real clock: google-auth signs ``iat``/``exp`` with the wall time."""
    state = GoogleState(EmulatorClock())
    load_seed(state, northwind_seed())
    return create_app(state)


def credentials(
    scopes: list[str], subject: str = ADA, token_url: str = TOKEN_URL
) -> service_account.Credentials:
    info = key_file(token_url)
    base = service_account.Credentials.from_service_account_info(info, scopes=scopes)
    return base.with_subject(subject)


def test_google_auth_service_account_credentials_refresh_against_the_emulator(
    live_app: FastAPI,
) -> None:
    with serve_in_thread(live_app) as origin, requests.Session() as session:
        creds = credentials([CALENDAR_READONLY, RESOURCES_READONLY], token_url=f"{origin}/token")
        creds.refresh(google.auth.transport.requests.Request(session))
        assert creds.valid
        assert creds.token is not None
        assert creds.expiry is not None
        lifetime = creds.expiry.replace(tzinfo=UTC) - datetime.now(UTC)
        assert 3500 < lifetime.total_seconds() <= 3600
        response = session.get(
            f"{origin}/admin/directory/v1/customer/my_customer/resources/calendars",
            headers={"Authorization": f"Bearer {creds.token}"},
        )
        assert response.status_code == 200
        assert [r["resourceName"] for r in response.json()["items"]] == [
            "Atlas",
            "Boreas",
            "Cairo",
        ]


def test_google_auth_reports_the_emulators_refusals_as_refresh_errors(
    live_app: FastAPI,
) -> None:
    with serve_in_thread(live_app) as origin, requests.Session() as session:
        request = google.auth.transport.requests.Request(session)
        ghost = credentials([CALENDAR], "ghost@northwind.test", f"{origin}/token")
        with pytest.raises(RefreshError, match="invalid_grant: Invalid email or User ID"):
            ghost.refresh(request)
        drive = credentials(["https://www.googleapis.com/auth/drive"], BEN, f"{origin}/token")
        with pytest.raises(RefreshError, match="unauthorized_client"):
            drive.refresh(request)


def test_the_assertion_google_auth_signs_has_the_claims_the_emulator_checks() -> None:
    """Pin the claims we rely on, so a google-auth change shows up here first."""
    creds = credentials([CALENDAR])
    signed = creds._make_authorization_grant_assertion()
    claims = jwt.decode(signed, options={"verify_signature": False})
    assert set(claims) == {"iat", "exp", "iss", "aud", "scope", "sub"}
    assert claims["aud"] == GOOGLE_TOKEN_URL
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 60
    assert claims["sub"] == ADA
