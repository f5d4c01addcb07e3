"""``MsalTokenSource`` with the real msal against the emulator's identity platform over TLS
(client-recipes.md §2), and the admin-consent URL and callback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calhub.emulators.graph.access import CALENDAR_ROLES
from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState
from calhub.emulators.graph.tls import TlsFiles
from calhub.providers.base import ConsentRevoked, CredentialsRejected
from calhub.providers.msgraph.auth import (
    ClientSecret,
    MsalTokenSource,
    admin_consent_url,
    parse_consent_callback,
)
from calhub.providers.msgraph.errors import token_roles
from tests.emulators.graph.seeds import APP_ID, APP_SECRET, CONTOSO, contoso_seed
from tests.emulators.graph.servers import serve_in_thread


@pytest.fixture(scope="module")
def identity(tls_files: TlsFiles) -> Iterator[tuple[str, GraphState]]:
    state = GraphState(EmulatorClock(), seed=7)  # real time: msal judges expiry by it
    load_seed(state, contoso_seed())
    with serve_in_thread(
        create_app(state),
        ssl_certfile=str(tls_files.server_certificate),
        ssl_keyfile=str(tls_files.server_key),
    ) as origin:
        yield origin, state


def source(origin: str, tls_files: TlsFiles, secret: str) -> MsalTokenSource:
    return MsalTokenSource(
        tenant=CONTOSO,
        client_id=APP_ID,
        credential=ClientSecret(secret),
        login_base=origin,
        ca_bundle=str(tls_files.ca_certificate),
    )


async def test_secret_gives_a_cached_token_and_invalidate_drops_it(
    identity: tuple[str, GraphState], tls_files: TlsFiles
) -> None:
    tokens = source(identity[0], tls_files, APP_SECRET)
    first = await tokens.token()
    assert set(token_roles(first)) == set(CALENDAR_ROLES)
    assert await tokens.token() == first  # msal's cache
    tokens.invalidate()
    assert await tokens.token() != first
    assert APP_SECRET not in repr(tokens)
    tokens.close()


async def test_wrong_secret_is_credentials_rejected(
    identity: tuple[str, GraphState], tls_files: TlsFiles
) -> None:
    tokens = source(identity[0], tls_files, "wrong-secret")
    with pytest.raises(CredentialsRejected, match="AADSTS7000215") as caught:
        await tokens.token()
    assert "wrong-secret" not in str(caught.value)
    tokens.close()


async def test_deleted_app_is_consent_revoked(
    identity: tuple[str, GraphState], tls_files: TlsFiles
) -> None:
    origin, state = identity
    app = state.tenants[CONTOSO].apps[APP_ID]
    app.consent = "deleted"
    try:
        tokens = source(origin, tls_files, APP_SECRET)
        with pytest.raises(ConsentRevoked, match="AADSTS7000229"):
            await tokens.token()
        tokens.close()
    finally:
        app.consent = "granted"


def test_admin_consent_url_and_callback() -> None:
    url = admin_consent_url(
        "https://login.microsoftonline.com/",
        "organizations",
        APP_ID,
        "https://calhub.example/consent/callback",
        "st&ate",
    )
    assert url == (
        "https://login.microsoftonline.com/organizations/adminconsent?"
        f"client_id={APP_ID}&state=st%26ate"
        "&redirect_uri=https%3A%2F%2Fcalhub.example%2Fconsent%2Fcallback"
    )
    granted = parse_consent_callback(f"?admin_consent=True&tenant={CONTOSO}&state=abc")
    assert (granted.granted, granted.tenant, granted.state) == (True, CONTOSO, "abc")
    denied = parse_consent_callback(
        {
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined",
            "state": "abc",
            "admin_consent": "True",
        }
    )
    assert not denied.granted
    assert (denied.error, denied.state) == ("access_denied", "abc")
    assert not parse_consent_callback("state=abc").granted
