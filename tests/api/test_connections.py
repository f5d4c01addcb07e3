"""``/api/v1/connections`` through the ASGI app: an admin connects Contoso through the live Graph
emulator, is told plainly when consent is declined, verifies with a test mailbox, scopes the
connection; secrets never come back, and another tenant's key sees nothing."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import hashes
from sqlalchemy import text

from calhub.api.app import create_app
from calhub.bootstrap import Runtime, bootstrap
from calhub.domain.ids import TenantId
from calhub.services.apikeys import create_api_key
from calhub.services.connections import CONSENT_CALLBACK_PATH
from calhub.services.tenants import create_tenant
from calhub.settings import Settings
from tests.emulators.graph.certificates import make_app_certificate
from tests.emulators.graph.seeds import APP_ID, APP_SECRET, CONTOSO
from tests.hub_fixtures import LiveGraph, connect_contoso

CONTOSO_APP = {"client_id": APP_ID, "client_secret": APP_SECRET, "tenant": "contoso.test"}


@pytest_asyncio.fixture
async def live_runtime(settings: Settings, live_graph: LiveGraph) -> AsyncIterator[Runtime]:
    """A runtime on this module's database whose Microsoft endpoints are the live emulator."""
    live = settings.model_copy(
        update={
            "graph_base_url": f"{live_graph.origin}/v1.0",
            "microsoft_login_url": live_graph.origin,
            "ca_bundle": live_graph.ca_bundle,
            "public_base_url": "https://calhub.test",
            "max_body_bytes": 65_536,
        }
    )
    async with bootstrap(live) as runtime:
        yield runtime


@pytest_asyncio.fixture
async def live_client(live_runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(live_runtime.settings, live_runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://calhub.test") as client:
            yield client


@pytest_asyncio.fixture(scope="module")
async def other_auth(runtime: Runtime) -> dict[str, str]:
    tenant = await create_tenant(runtime.uow, runtime.clock, "Globex")
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    return {"Authorization": f"Bearer {issued.token}"}


async def _tenant_id(client: httpx.AsyncClient, auth: dict[str, str]) -> TenantId:
    return TenantId(uuid.UUID((await client.get("/api/v1/tenant", headers=auth)).json()["id"]))


async def _follow_consent(live_graph: LiveGraph, consent_url: str) -> str:
    """The admin's browser at Microsoft: where it is sent back to (path and query)."""
    context = ssl.create_default_context(cafile=str(live_graph.ca_bundle))
    async with httpx.AsyncClient(verify=context, trust_env=False) as browser:
        response = await browser.get(consent_url)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["location"])
    assert (back.scheme, back.netloc, back.path) == ("https", "calhub.test", CONSENT_CALLBACK_PATH)
    return f"{back.path}?{back.query}"


async def _discovery_jobs(runtime: Runtime, connection_id: str) -> int:
    async with runtime.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'calhub.discover_calendars' AND args->>'connection_id' = :id"
            ),
            {"id": connection_id},
        )
        return int(found.scalar_one())


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}"
    return body


async def test_the_admin_connects_contoso_through_the_consent_round_trip(
    live_client: httpx.AsyncClient,
    auth: dict[str, str],
    live_graph: LiveGraph,
    live_runtime: Runtime,
) -> None:
    created = await live_client.post(
        "/api/v1/connections/microsoft", json=CONTOSO_APP, headers=auth
    )
    assert created.status_code == 201, created.text
    connection = created.json()
    assert connection["status"] == "consent_pending"
    assert connection["consent_url"].startswith(f"{live_graph.origin}/contoso.test/adminconsent?")
    assert connection["credentials"] == {
        "client_id": APP_ID,
        "type": "client_secret",
        "certificate_thumbprint": None,
    }
    assert APP_SECRET not in created.text

    callback = await _follow_consent(live_graph, connection["consent_url"])
    page = await live_client.get(callback, headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Consent granted" in page.text
    assert "<script" not in page.text
    assert "http" not in page.text.split("<body>")[1]
    shown = (await live_client.get(f"/api/v1/connections/{connection['id']}", headers=auth)).json()
    assert shown["status"] == "active"
    assert shown["microsoft_tenant_id"] == CONTOSO
    assert await _discovery_jobs(live_runtime, connection["id"]) == 1

    replayed = await live_client.get(callback, headers={"Accept": "application/json"})
    assert "already used" in _problem(replayed, 400, "consent-not-granted")["detail"]


async def test_a_declined_consent_is_shown_plainly_and_connects_nothing(
    live_client: httpx.AsyncClient, auth: dict[str, str], live_graph: LiveGraph
) -> None:
    live_graph.state.tenant(CONTOSO).apps[APP_ID].consent = "denied"  # type: ignore[union-attr]
    created = (
        await live_client.post("/api/v1/connections/microsoft", json=CONTOSO_APP, headers=auth)
    ).json()

    page = await live_client.get(await _follow_consent(live_graph, created["consent_url"]))
    assert page.status_code == 400
    assert "Not connected" in page.text
    assert "administrator declined to grant calhub access" in page.text

    again = await live_client.post(
        f"/api/v1/connections/{created['id']}/consent-link", headers=auth
    )
    assert again.status_code == 200
    as_json = await live_client.get(
        await _follow_consent(live_graph, again.json()["consent_url"]),
        headers={"Accept": "application/json"},
    )
    refusal = _problem(as_json, 400, "consent-not-granted")
    assert "declined" in refusal["detail"]
    assert refusal["connection_id"] == created["id"]
    shown = (await live_client.get(f"/api/v1/connections/{created['id']}", headers=auth)).json()
    assert (shown["status"], shown["microsoft_tenant_id"]) == ("consent_pending", None)


async def test_verify_explains_each_permission(
    live_client: httpx.AsyncClient, auth: dict[str, str], live_runtime: Runtime
) -> None:
    connection = await connect_contoso(live_runtime.hub, await _tenant_id(live_client, auth))
    url = f"/api/v1/connections/{connection.id}/verify"

    adele = await live_client.post(url, json={"mailbox": "adele@contoso.test"}, headers=auth)
    megan = await live_client.post(url, json={"mailbox": "megan@contoso.test"}, headers=auth)

    assert adele.status_code == 200, adele.text
    assert adele.json()["ok"] is True
    assert [c["ok"] for c in adele.json()["checks"]] == [True, True, True]
    assert megan.json()["ok"] is False
    calendars = megan.json()["checks"][0]
    assert calendars["permission"] == "Calendars.ReadWrite"
    assert "application access policy blocks" in calendars["detail"]


async def test_a_consent_callback_never_fails_whatever_the_query(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = (
        await client.post("/api/v1/connections/microsoft", json=CONTOSO_APP, headers=auth)
    ).json()
    state = dict(part.split("=", 1) for part in urlsplit(created["consent_url"]).query.split("&"))[
        "state"
    ]
    queries = [
        "",
        "?state=",
        "?state=abc&admin_consent=True&tenant=x",
        "?state=%ff%fe%00&error=%00",
        f"?state={'a' * 5000}",
        "?error=access_denied&error_description=AADSTS65004",
        f"?state={state}&error=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ]
    for query in queries:
        response = await client.get(f"{CONSENT_CALLBACK_PATH}{query}")
        assert response.status_code == 400, (query, response.text)
        assert "Not connected" in response.text
        assert "<script>" not in response.text
    assert "&lt;script&gt;" in response.text  # the last one: Microsoft's error, escaped


async def test_scope_errors_are_422_with_a_reason(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    url = "/api/v1/connections/microsoft"
    for scope, slug in [
        ({"kind": "mailboxes", "mailboxes": []}, "invalid-scope"),
        ({"kind": "mailboxes", "mailboxes": ["not-an-address"]}, "invalid-scope"),
        ({"kind": "group", "group_id": "g1"}, "invalid-scope"),
        ({"kind": "everyone"}, "validation-failed"),
    ]:
        _problem(
            await client.post(url, json={**CONTOSO_APP, "scope": scope}, headers=auth), 422, slug
        )

    created = (await client.post(url, json=CONTOSO_APP, headers=auth)).json()
    assert created["scope"] == {"kind": "all", "mailboxes": []}
    scoped = await client.put(
        f"/api/v1/connections/{created['id']}/scope",
        json={"kind": "mailboxes", "mailboxes": ["Adele@Contoso.test", "adele@contoso.test"]},
        headers=auth,
    )
    assert scoped.status_code == 200, scoped.text
    assert scoped.json()["scope"] == {"kind": "mailboxes", "mailboxes": ["adele@contoso.test"]}


async def test_credentials_are_checked_and_never_returned(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    url = "/api/v1/connections/microsoft"
    certificate = make_app_certificate()
    thumbprint = certificate.certificate.fingerprint(hashes.SHA1()).hex()
    secret = "never-show-this-secret-42"
    for body in [
        {"client_id": APP_ID},
        {
            "client_id": APP_ID,
            "client_secret": secret,
            "certificate": {"private_key_pem": certificate.private_pem, "thumbprint": thumbprint},
        },
        {
            "client_id": APP_ID,
            "certificate": {"private_key_pem": f"{secret}", "thumbprint": thumbprint},
        },
        {
            "client_id": APP_ID,
            "certificate": {"private_key_pem": certificate.private_pem, "thumbprint": "xyz"},
        },
        {"client_id": "bad id with spaces", "client_secret": secret},
    ]:
        refused = await client.post(url, json=body, headers=auth)
        _problem(refused, 422, "validation-failed")
        assert secret not in refused.text
        assert "PRIVATE KEY" not in refused.text

    created = await client.post(
        url, json={"client_id": APP_ID, "client_secret": secret}, headers=auth
    )
    connection_id = created.json()["id"]
    replaced = await client.put(
        f"/api/v1/connections/{connection_id}/credentials",
        json={
            "client_id": APP_ID,
            "certificate": {
                "private_key_pem": certificate.private_pem,
                "thumbprint": thumbprint.upper(),
            },
        },
        headers=auth,
    )
    assert replaced.json()["credentials"] == {
        "client_id": APP_ID,
        "type": "certificate",
        "certificate_thumbprint": thumbprint,
    }
    listed = await client.get("/api/v1/connections", headers=auth)
    shown = await client.get(f"/api/v1/connections/{connection_id}", headers=auth)
    for response in (created, replaced, listed, shown):
        assert secret not in response.text
        assert "PRIVATE KEY" not in response.text


async def test_another_tenants_key_sees_not_found(
    client: httpx.AsyncClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    created = (
        await client.post("/api/v1/connections/microsoft", json=CONTOSO_APP, headers=auth)
    ).json()
    base = f"/api/v1/connections/{created['id']}"
    for method, path, body in [
        ("GET", base, None),
        ("DELETE", base, None),
        ("PUT", f"{base}/credentials", {"client_id": APP_ID, "client_secret": "x"}),
        ("POST", f"{base}/consent-link", None),
        ("POST", f"{base}/verify", {"mailbox": "adele@contoso.test"}),
        ("PUT", f"{base}/scope", {"kind": "all"}),
        ("POST", f"{base}/discover", None),
    ]:
        response = await client.request(method, path, json=body, headers=other_auth)
        _problem(response, 404, "not-found")
    listed = (await client.get("/api/v1/connections", headers=other_auth)).json()
    assert created["id"] not in {c["id"] for c in listed["connections"]}
    _problem(await client.get("/api/v1/connections"), 401, "unauthorized")
    assert (await client.get(base, headers=auth)).status_code == 200


async def test_a_pending_connection_cannot_be_verified_or_discovered_and_can_be_deleted(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = (
        await client.post("/api/v1/connections/microsoft", json=CONTOSO_APP, headers=auth)
    ).json()
    base = f"/api/v1/connections/{created['id']}"

    verify = await client.post(
        f"{base}/verify", json={"mailbox": "adele@contoso.test"}, headers=auth
    )
    assert "needs admin consent" in _problem(verify, 409, "connection-not-ready")["detail"]
    _problem(await client.post(f"{base}/discover", headers=auth), 409, "connection-not-ready")
    for mailbox in ["../../places/x@contoso.test", "adele@contoso.test?$select=id", "adele"]:
        refused = await client.post(f"{base}/verify", json={"mailbox": mailbox}, headers=auth)
        _problem(refused, 422, "validation-failed")

    deleted = await client.delete(base, headers=auth)
    assert deleted.status_code == 204
    _problem(await client.get(base, headers=auth), 404, "not-found")
    _problem(await client.delete(base, headers=auth), 404, "not-found")


@pytest.mark.parametrize("path", ["/api/v1/connections/not-a-uuid", "/api/v1/connections/1/verify"])
async def test_a_malformed_id_is_a_client_error(
    client: httpx.AsyncClient, auth: dict[str, str], path: str
) -> None:
    response = await client.request(
        "POST" if path.endswith("verify") else "GET", path, headers=auth, json={"mailbox": "a@b.c"}
    )
    _problem(response, 422, "validation-failed")
