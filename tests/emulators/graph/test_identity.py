"""The identity platform: client-credentials tokens, OpenID metadata and admin consent."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi import FastAPI

from calhub.emulators.graph.identity import advertise_authority
from calhub.emulators.graph.state import App, GraphState
from tests.emulators.graph.certificates import AppCertificate, make_app_certificate
from tests.emulators.graph.conftest import BASE_URL
from tests.emulators.graph.fixtures import START
from tests.emulators.graph.seeds import APP_ID, APP_SECRET, CONTOSO, FABRIKAM

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CERT_APP = "c3a1f2e4-0000-4000-8000-00000000ce27"
DESCRIPTION = re.compile(
    r"^AADSTS(\d+): .+\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: \S+\r\n"
    r"Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$",
    re.DOTALL,
)


def credentials(**overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_SECRET,
        "scope": GRAPH_SCOPE,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v}


async def request_token(
    emulator: httpx.AsyncClient, tenant: str = CONTOSO, **overrides: str
) -> httpx.Response:
    return await emulator.post(f"/{tenant}/oauth2/v2.0/token", data=credentials(**overrides))


def assert_refused(response: httpx.Response, status: int, error: str, aadsts: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [aadsts]
    match = DESCRIPTION.match(body["error_description"])
    assert match is not None, body["error_description"]
    assert match.group(1) == str(aadsts)
    assert body["trace_id"] in body["error_description"]
    assert body["timestamp"] == "2026-03-02 08:00:00Z"
    assert body["error_uri"].endswith(f"?code={aadsts}")
    uuid.UUID(body["correlation_id"])


# --- client secret --------------------------------------------------------------------------


@pytest.mark.parametrize("tenant", [CONTOSO, "contoso.test", "CONTOSO.TEST"])
async def test_client_secret_yields_a_token_that_graph_accepts(
    emulator: httpx.AsyncClient, tenant: str
) -> None:
    response = await request_token(emulator, tenant)
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("no-store")
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert (body["expires_in"], body["ext_expires_in"]) == (3599, 3599)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["tid"], claims["appid"]) == (CONTOSO, APP_ID)
    assert "Calendars.ReadWrite" in claims["roles"]
    graph = await emulator.get(
        "/v1.0/users/adele@contoso.test/mailboxSettings",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert graph.status_code == 200


async def test_kiota_scope_and_extra_fields_are_accepted(emulator: httpx.AsyncClient) -> None:
    form = credentials(scope="http://127.0.0.1/.default")
    form |= {"client_info": "1", "claims": '{"access_token": {"xms_cc": {"values": ["CP1"]}}}'}
    response = await emulator.post(f"/{CONTOSO}/oauth2/v2.0/token", data=form)
    assert response.status_code == 200
    assert response.json()["access_token"]


async def test_http_basic_client_authentication(emulator: httpx.AsyncClient) -> None:
    form = credentials(client_id="", client_secret="")
    response = await emulator.post(
        f"/{CONTOSO}/oauth2/v2.0/token", data=form, auth=(APP_ID, APP_SECRET)
    )
    assert response.status_code == 200


async def test_wrong_secret_is_invalid_client(emulator: httpx.AsyncClient) -> None:
    response = await request_token(emulator, client_secret="not-the-secret")
    assert_refused(response, 401, "invalid_client", 7000215)


async def test_correlation_id_echoes_the_client_request_id(emulator: httpx.AsyncClient) -> None:
    correlation = str(uuid.uuid4())
    response = await emulator.post(
        f"/{CONTOSO}/oauth2/v2.0/token",
        data=credentials(client_secret="wrong"),
        headers={"client-request-id": correlation},
    )
    assert response.json()["correlation_id"] == correlation
    assert f"Correlation ID: {correlation}" in response.json()["error_description"]


@pytest.mark.parametrize("client_id", ["unknown-app", "fabrikam-app"])
async def test_app_not_in_the_tenant_is_unauthorized_client(
    emulator: httpx.AsyncClient, client_id: str
) -> None:
    response = await request_token(emulator, client_id=client_id)
    assert_refused(response, 400, "unauthorized_client", 700016)
    assert f"'{client_id}' was not found in the directory" in response.json()["error_description"]


async def test_deleted_service_principal_is_invalid_client(
    emulator: httpx.AsyncClient, graph_state: GraphState
) -> None:
    graph_state.tenants[CONTOSO].apps[APP_ID].consent = "deleted"
    response = await request_token(emulator)
    assert_refused(response, 401, "invalid_client", 7000229)
    assert "missing service principal" in response.json()["error_description"]


@pytest.mark.parametrize("consent", ["revoked", "pending", "denied"])
async def test_without_consent_tokens_issue_but_calendar_calls_are_denied(
    emulator: httpx.AsyncClient, graph_state: GraphState, consent: Any
) -> None:
    graph_state.tenants[CONTOSO].apps[APP_ID].consent = consent
    response = await request_token(emulator)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == []
    graph = await emulator.get(
        "/v1.0/users/adele@contoso.test/mailboxSettings",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (graph.status_code, graph.json()["error"]["code"]) == (403, "ErrorAccessDenied")


async def test_unknown_tenant(emulator: httpx.AsyncClient) -> None:
    response = await request_token(emulator, tenant="nowhere.test")
    assert_refused(response, 400, "invalid_request", 90002)
    assert "Tenant 'nowhere.test' not found" in response.json()["error_description"]


@pytest.mark.parametrize(
    "scope",
    ["Calendars.Read", "https://graph.microsoft.com/Calendars.Read", f"{GRAPH_SCOPE} x/.default"],
)
async def test_scopes_other_than_one_default_are_invalid(
    emulator: httpx.AsyncClient, scope: str
) -> None:
    assert_refused(await request_token(emulator, scope=scope), 400, "invalid_scope", 70011)


@pytest.mark.parametrize("missing", ["grant_type", "client_id", "scope"])
async def test_missing_fields_are_invalid_request(
    emulator: httpx.AsyncClient, missing: str
) -> None:
    response = await request_token(emulator, **{missing: ""})
    assert_refused(response, 400, "invalid_request", 900144)
    assert f"parameter: '{missing}'" in response.json()["error_description"]


async def test_missing_credential_and_other_grants(emulator: httpx.AsyncClient) -> None:
    no_secret = await request_token(emulator, client_secret="")
    assert_refused(no_secret, 401, "invalid_client", 7000218)
    password = await request_token(emulator, grant_type="password")
    assert_refused(password, 400, "unsupported_grant_type", 70003)


# --- certificate client assertions ----------------------------------------------------------


@pytest.fixture(scope="module")
def certificate() -> AppCertificate:
    return make_app_certificate()


@pytest.fixture
def cert_app(graph_state: GraphState, certificate: AppCertificate) -> App:
    app = App(client_id=CERT_APP, client_secret=None, certificate_pem=certificate.pem)
    graph_state.tenants[CONTOSO].apps[CERT_APP] = app
    return app


def assertion(certificate: AppCertificate, *, x5t: str | None = None, **claims: Any) -> str:
    now = int(START.timestamp())
    payload = {
        "aud": f"{BASE_URL}/{CONTOSO}/oauth2/v2.0/token",
        "iss": CERT_APP,
        "sub": CERT_APP,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    }
    payload.update(claims)
    headers = {"x5t": x5t or certificate.x5t}
    return jwt.encode(payload, certificate.key, algorithm="RS256", headers=headers)


async def present(emulator: httpx.AsyncClient, signed: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": CERT_APP,
        "scope": GRAPH_SCOPE,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    }
    form.update(extra)
    return await emulator.post(f"/{CONTOSO}/oauth2/v2.0/token", data=form)


@pytest.mark.usefixtures("cert_app")
async def test_certificate_assertion_yields_a_token(
    emulator: httpx.AsyncClient, certificate: AppCertificate
) -> None:
    response = await present(emulator, assertion(certificate))
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["appid"] == CERT_APP
    by_domain = assertion(certificate, aud="https://login.emu.test/contoso.test/oauth2/v2.0/token")
    assert (await present(emulator, by_domain)).status_code == 200


@pytest.mark.usefixtures("cert_app")
async def test_assertion_signed_with_another_key_is_refused(
    emulator: httpx.AsyncClient, certificate: AppCertificate
) -> None:
    impostor = AppCertificate(make_app_certificate().key, certificate.certificate)
    response = await present(emulator, assertion(impostor))
    assert_refused(response, 401, "invalid_client", 700027)
    unknown_thumbprint = assertion(certificate, x5t="bm90LXRoaXMtb25l")
    assert_refused(await present(emulator, unknown_thumbprint), 401, "invalid_client", 700027)


@pytest.mark.usefixtures("cert_app")
@pytest.mark.parametrize(
    ("claims", "aadsts"),
    [
        ({"iss": "someone-else"}, 700021),
        ({"aud": f"{BASE_URL}/{FABRIKAM}/oauth2/v2.0/token"}, 700023),
        ({"aud": "https://example.test/anything"}, 700023),
        ({"nbf": 1_500_000_000, "iat": 1_500_000_000, "exp": 1_500_000_600}, 700024),
    ],
)
async def test_assertion_claims_are_checked(
    emulator: httpx.AsyncClient, certificate: AppCertificate, claims: dict[str, Any], aadsts: int
) -> None:
    response = await present(emulator, assertion(certificate, **claims))
    assert_refused(response, 401, "invalid_client", aadsts)


@pytest.mark.usefixtures("cert_app")
async def test_malformed_assertion_and_missing_assertion_type(
    emulator: httpx.AsyncClient, certificate: AppCertificate
) -> None:
    assert_refused(await present(emulator, "not-a-jwt"), 401, "invalid_client", 50027)
    response = await present(emulator, assertion(certificate), client_assertion_type="")
    assert_refused(response, 400, "invalid_request", 900144)


async def test_secret_app_cannot_use_an_assertion(
    emulator: httpx.AsyncClient, certificate: AppCertificate
) -> None:
    form = credentials(client_secret="")
    form |= {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion(certificate, iss=APP_ID, sub=APP_ID),
    }
    response = await emulator.post(f"/{CONTOSO}/oauth2/v2.0/token", data=form)
    assert_refused(response, 401, "invalid_client", 700027)


# --- OpenID metadata ------------------------------------------------------------------------


async def test_openid_configuration_points_at_this_origin(emulator: httpx.AsyncClient) -> None:
    response = await emulator.get("/contoso.test/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == f"{BASE_URL}/{CONTOSO}/v2.0"
    assert body["token_endpoint"] == f"{BASE_URL}/{CONTOSO}/oauth2/v2.0/token"
    assert body["authorization_endpoint"] == f"{BASE_URL}/{CONTOSO}/oauth2/v2.0/authorize"
    assert "private_key_jwt" in body["token_endpoint_auth_methods_supported"]


async def test_openid_configuration_advertises_the_public_authority(
    emulator: httpx.AsyncClient, graph_app: FastAPI
) -> None:
    advertise_authority(graph_app, "https://login.emu.test/")
    body = (await emulator.get(f"/{CONTOSO}/v2.0/.well-known/openid-configuration")).json()
    assert body["token_endpoint"] == f"https://login.emu.test/{CONTOSO}/oauth2/v2.0/token"
    assert body["issuer"] == f"https://login.emu.test/{CONTOSO}/v2.0"


async def test_openid_configuration_of_unknown_tenant(emulator: httpx.AsyncClient) -> None:
    response = await emulator.get("/nowhere.test/v2.0/.well-known/openid-configuration")
    assert_refused(response, 400, "invalid_tenant", 90002)


# --- admin consent --------------------------------------------------------------------------


def redirect_params(response: httpx.Response, target: str) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(target)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def test_admin_consent_grants_and_redirects(
    emulator: httpx.AsyncClient, graph_state: GraphState
) -> None:
    app = graph_state.tenants[CONTOSO].apps[APP_ID]
    app.consent = "pending"
    target = "https://hub.example.test/connect/microsoft"
    response = await emulator.get(
        "/contoso.test/adminconsent",
        params={"client_id": APP_ID, "redirect_uri": target, "state": "s-123"},
    )
    params = redirect_params(response, target)
    assert params == {"admin_consent": "True", "tenant": CONTOSO, "state": "s-123"}
    assert app.consent == "granted"


async def test_admin_consent_denied(emulator: httpx.AsyncClient, graph_state: GraphState) -> None:
    app = graph_state.tenants[CONTOSO].apps[APP_ID]
    app.consent = "denied"
    target = "https://hub.example.test/cb?keep=1"
    response = await emulator.get(
        f"/{CONTOSO}/adminconsent",
        params={"client_id": APP_ID, "redirect_uri": target, "state": "s-9"},
    )
    params = redirect_params(response, "https://hub.example.test/cb?keep=1&")
    assert params["error"] == "access_denied"
    assert params["error_description"].startswith(
        "AADSTS65004: User declined to consent to access the app."
    )
    assert (params["state"], params["keep"]) == ("s-9", "1")
    assert app.consent == "denied"


async def test_admin_consent_v2_denied_still_names_the_tenant(
    emulator: httpx.AsyncClient, graph_state: GraphState
) -> None:
    graph_state.tenants[CONTOSO].apps[APP_ID].consent = "denied"
    query = {"client_id": APP_ID, "redirect_uri": "https://hub.example.test/cb", "state": "d"}
    response = await emulator.get(
        "/contoso.test/v2.0/adminconsent", params={**query, "scope": GRAPH_SCOPE}
    )
    params = redirect_params(response, "https://hub.example.test/cb")
    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS65004: ")
    assert (params["admin_consent"], params["tenant"], params["state"]) == ("True", CONTOSO, "d")


async def test_admin_consent_v2_via_common(
    emulator: httpx.AsyncClient, graph_state: GraphState
) -> None:
    graph_state.tenants[CONTOSO].apps[APP_ID].consent = "deleted"
    query = {"client_id": APP_ID, "redirect_uri": "https://hub.example.test/cb", "state": "x"}
    response = await emulator.get(
        "/organizations/v2.0/adminconsent", params={**query, "scope": GRAPH_SCOPE}
    )
    params = redirect_params(response, "https://hub.example.test/cb")
    assert params == {
        "admin_consent": "True",
        "tenant": CONTOSO,
        "scope": GRAPH_SCOPE,
        "state": "x",
    }
    assert graph_state.tenants[CONTOSO].apps[APP_ID].consent == "granted"
    without_scope = await emulator.get("/common/v2.0/adminconsent", params=query)
    assert redirect_params(without_scope, "https://hub.example.test/cb")["error"] == (
        "invalid_request"
    )


async def test_admin_consent_checks_registered_redirect_uris(
    emulator: httpx.AsyncClient, graph_state: GraphState
) -> None:
    app = graph_state.tenants[CONTOSO].apps[APP_ID]
    app.redirect_uris = ("https://hub.example.test/connect",)
    query = {"client_id": APP_ID, "state": "z"}
    elsewhere = await emulator.get(
        f"/{CONTOSO}/adminconsent", params={**query, "redirect_uri": "https://evil.test/cb"}
    )
    assert elsewhere.status_code == 400
    assert "AADSTS50011" in elsewhere.text
    suffix = await emulator.get(
        f"/{CONTOSO}/adminconsent",
        params={**query, "redirect_uri": "https://hub.example.test/connect/microsoft"},
    )
    assert redirect_params(suffix, "https://hub.example.test/connect/microsoft")["state"] == "z"
    default = await emulator.get(f"/{CONTOSO}/adminconsent", params=query)
    assert redirect_params(default, "https://hub.example.test/connect?")["tenant"] == CONTOSO


async def test_admin_consent_for_unknown_app_or_tenant_shows_an_error_page(
    emulator: httpx.AsyncClient,
) -> None:
    query = {"redirect_uri": "https://hub.example.test/cb", "state": "q"}
    unknown_app = await emulator.get(
        f"/{CONTOSO}/adminconsent", params={**query, "client_id": "nobody"}
    )
    assert unknown_app.status_code == 400
    assert "text/html" in unknown_app.headers["content-type"]
    assert "AADSTS700016" in unknown_app.text
    unknown_tenant = await emulator.get(
        "/nowhere.test/adminconsent", params={**query, "client_id": APP_ID}
    )
    assert (unknown_tenant.status_code, "AADSTS90002" in unknown_tenant.text) == (400, True)
    no_client = await emulator.get(f"/{CONTOSO}/adminconsent", params=query)
    assert (no_client.status_code, "AADSTS900144" in no_client.text) == (400, True)
