"""``/api/v1/connections/google`` and the shared connection routes for a Google Workspace
connection, through the ASGI app on a runtime pointed at the live Google emulator: the
delegation's outcome in words, a recheck, keys checked and never returned, and the Microsoft
consent steps refused with a reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from calhub.api.app import create_app
from calhub.bootstrap import bootstrap
from calhub.providers.google.auth import CALENDAR_SCOPES
from calhub.settings import Settings
from tests.emulators.google.seeds import ADA
from tests.emulators.graph.seeds import APP_ID, APP_SECRET
from tests.services.google_world import LiveGoogle, northwind_key

NORTHWIND = {"service_account_key": northwind_key(), "admin": ADA, "domain": "northwind.test"}


@pytest_asyncio.fixture
async def google_client(
    settings: Settings, live_google: LiveGoogle
) -> AsyncIterator[httpx.AsyncClient]:
    live = settings.model_copy(update=live_google.settings() | {"max_body_bytes": 65_536})
    async with bootstrap(live) as runtime:
        app = create_app(runtime.settings, runtime)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="https://calhub.test"
            ) as client:
                yield client


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


def _no_key_in(response: httpx.Response) -> None:
    assert "PRIVATE KEY" not in response.text
    assert northwind_key()["private_key_id"] not in response.text


async def test_the_admin_connects_northwind_and_the_key_never_comes_back(
    google_client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = await google_client.post("/api/v1/connections/google", json=NORTHWIND, headers=auth)

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["provider"], body["status"], body["google_domain"]) == (
        "google",
        "active",
        "northwind.test",
    )
    assert body["delegation"]["granted"] is True
    assert body["credentials"] == {
        "client_id": northwind_key()["client_id"],
        "type": "service_account",
        "client_email": northwind_key()["client_email"],
        "admin": ADA,
    }
    shown = await google_client.get(f"/api/v1/connections/{body['id']}", headers=auth)
    listed = await google_client.get("/api/v1/connections", headers=auth)
    for response in (created, shown, listed):
        _no_key_in(response)
    consent = await google_client.post(
        f"/api/v1/connections/{body['id']}/consent-link", headers=auth
    )
    assert "Google Workspace connection" in _problem(consent, 409, "connection-not-ready")["detail"]
    microsoft_form = {"client_id": APP_ID, "client_secret": APP_SECRET}
    refused = await google_client.put(
        f"/api/v1/connections/{body['id']}/credentials", json=microsoft_form, headers=auth
    )
    _problem(refused, 409, "connection-not-ready")


async def test_a_refused_delegation_says_what_to_grant_until_a_recheck_finds_it(
    google_client: httpx.AsyncClient, auth: dict[str, str], live_google: LiveGoogle
) -> None:
    live_google.set_delegation("revoked")
    created = await google_client.post("/api/v1/connections/google", json=NORTHWIND, headers=auth)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "consent_pending"
    delegation = body["delegation"]
    assert delegation["granted"] is False
    assert delegation["client_id"] == northwind_key()["client_id"]
    assert delegation["scopes"] == list(CALENDAR_SCOPES)
    assert "Admin console" in delegation["message"]

    live_google.set_delegation("granted")
    rechecked = await google_client.post(
        f"/api/v1/connections/{body['id']}/delegation-check", headers=auth
    )
    assert rechecked.status_code == 200, rechecked.text
    assert (rechecked.json()["status"], rechecked.json()["delegation"]["granted"]) == (
        "active",
        True,
    )
    replaced = await google_client.put(
        f"/api/v1/connections/{body['id']}/credentials",
        json={"service_account_key": northwind_key(), "admin": ADA},
        headers=auth,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["delegation"]["granted"] is True
    _no_key_in(replaced)


async def test_a_bad_key_is_a_422_that_names_the_problem_and_never_echoes_the_key(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    url = "/api/v1/connections/google"
    key = northwind_key()
    for body in [
        {"service_account_key": key | {"type": "authorized_user"}, "admin": ADA},
        {"service_account_key": {k: v for k, v in key.items() if k != "private_key"}, "admin": ADA},
        {"service_account_key": key, "admin": "not-an-address"},
        {"service_account_key": "a string", "admin": ADA},
        {"service_account_key": key, "admin": ADA, "domain": "../x"},
    ]:
        refused = await client.post(url, json=body, headers=auth)
        problem = _problem(refused, 422, "validation-failed")
        _no_key_in(refused)
        assert problem["errors"]
    wrong_type = await client.post(
        url, json={"service_account_key": key | {"type": "authorized_user"}, "admin": ADA},
        headers=auth,
    )  # fmt: skip
    assert "not 'service_account'" in wrong_type.text
    microsoft = (
        await client.post(
            "/api/v1/connections/microsoft",
            json={"client_id": APP_ID, "client_secret": APP_SECRET},
            headers=auth,
        )
    ).json()
    google_form = await client.post(
        f"/api/v1/connections/{microsoft['id']}/delegation-check", headers=auth
    )
    assert "not a Google Workspace" in _problem(google_form, 409, "connection-not-ready")["detail"]
