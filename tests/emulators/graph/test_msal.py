"""Microsoft's msal, unchanged, gets tokens from the emulator over TLS (client-recipes.md §2).

msal accepts only https authorities, so the emulator runs under uvicorn on a loopback port with a
certificate from ``tls.ensure_certificates``; msal's session trusts that CA and ignores the
environment (``REQUESTS_CA_BUNDLE`` would otherwise override ``verify``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes

from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import App, GraphState
from calhub.emulators.graph.tls import TlsFiles
from tests.emulators.graph.certificates import AppCertificate, make_app_certificate
from tests.emulators.graph.seeds import APP_ID, APP_SECRET, CONTOSO, contoso_seed
from tests.emulators.graph.servers import serve_in_thread

SCOPES = ["https://graph.microsoft.com/.default"]
CERT_APP = "c3a1f2e4-0000-4000-8000-00000000ce28"


@pytest.fixture(scope="module")
def app_certificate() -> AppCertificate:
    return make_app_certificate("msal test app")


@pytest.fixture(scope="module")
def origin(tls_files: TlsFiles, app_certificate: AppCertificate) -> Iterator[str]:
    """The emulator on ``https://127.0.0.1:PORT``, on real time (msal signs with real time)."""
    state = GraphState(EmulatorClock(), seed=7)
    load_seed(state, contoso_seed())
    state.tenants[CONTOSO].apps[CERT_APP] = App(CERT_APP, None, certificate_pem=app_certificate.pem)
    with serve_in_thread(
        create_app(state),
        ssl_certfile=str(tls_files.server_certificate),
        ssl_keyfile=str(tls_files.server_key),
    ) as base:
        yield base


@pytest.fixture
def session(tls_files: TlsFiles) -> Iterator[requests.Session]:
    """msal's HTTP session: trusts the emulator's CA, ignores ``REQUESTS_CA_BUNDLE``."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(tls_files.ca_certificate)
        yield session


def graph_get(origin: str, ca_file: Path, token: str, path: str) -> httpx.Response:
    context = ssl.create_default_context(cafile=str(ca_file))
    with httpx.Client(base_url=f"{origin}/v1.0", verify=context, trust_env=False) as client:
        return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_msal_client_secret_token_works_on_graph(
    origin: str, tls_files: TlsFiles, session: requests.Session
) -> None:
    client = msal.ConfidentialClientApplication(
        APP_ID,
        client_credential=APP_SECRET,
        authority=f"{origin}/{CONTOSO}",
        instance_discovery=False,
        http_client=session,
    )
    result = client.acquire_token_for_client(scopes=SCOPES)
    assert "access_token" in result, result
    assert result["token_source"] == "identity_provider"
    assert client.acquire_token_for_client(scopes=SCOPES)["token_source"] == "cache"
    response = graph_get(
        origin,
        tls_files.ca_certificate,
        result["access_token"],
        "/users/adele@contoso.test/mailboxSettings",
    )
    assert response.status_code == 200
    assert response.json()["timeZone"] == "W. Europe Standard Time"


def test_msal_sees_the_identity_platform_errors(
    origin: str, tls_files: TlsFiles, session: requests.Session
) -> None:
    client = msal.ConfidentialClientApplication(
        APP_ID,
        client_credential="wrong-secret",
        authority=f"{origin}/contoso.test",
        instance_discovery=False,
        http_client=session,
    )
    result = client.acquire_token_for_client(scopes=SCOPES)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: ")


@pytest.mark.parametrize("identified_by", ["thumbprint", "public_certificate"])
def test_msal_certificate_credential(
    origin: str,
    tls_files: TlsFiles,
    session: requests.Session,
    app_certificate: AppCertificate,
    identified_by: str,
) -> None:
    """A SHA-1 ``thumbprint`` makes msal sign RS256 with ``x5t``; a ``public_certificate``
    makes it sign PS256 with ``x5t#S256`` and ``x5c``."""
    credential = {"private_key": app_certificate.private_pem}
    if identified_by == "thumbprint":
        credential["thumbprint"] = app_certificate.certificate.fingerprint(hashes.SHA1()).hex()
    else:
        credential["public_certificate"] = app_certificate.pem
    client = msal.ConfidentialClientApplication(
        CERT_APP,
        client_credential=credential,
        authority=f"{origin}/contoso.test",
        instance_discovery=False,
        http_client=session,
    )
    result = client.acquire_token_for_client(scopes=SCOPES)
    assert "access_token" in result, result
    response = graph_get(
        origin,
        tls_files.ca_certificate,
        result["access_token"],
        "/users/alex@contoso.test/mailboxSettings/timeZone",
    )
    assert (response.status_code, response.json()["value"]) == (200, "UTC")
