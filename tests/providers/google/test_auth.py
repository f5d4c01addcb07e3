"""Service-account tokens with domain-wide delegation (``calhub.providers.google.auth``) against
the Google emulator's token endpoint on loopback: tokens per user, kept until close to expiry,
and the endpoint's refusals as the provider error tree."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import urllib3

from calhub.emulators.google.app import create_app
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from calhub.providers.base import ConsentRevoked, CredentialsRejected, MailboxOutOfScope
from calhub.providers.google.auth import ServiceAccountTokens, key_problems
from tests.emulators.google.seeds import ADA, BEN, SERVICE_ACCOUNT, key_file, northwind_seed
from tests.emulators.graph.servers import serve_in_thread


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[str, GoogleState]]:
    state = GoogleState(EmulatorClock())  # the real clock: google-auth signs with wall time
    load_seed(state, northwind_seed())
    with serve_in_thread(create_app(state)) as origin:
        yield origin, state


def tokens_for(origin: str) -> ServiceAccountTokens:
    return ServiceAccountTokens(
        key_file("https://oauth2.googleapis.com/token"), token_uri=f"{origin}/token"
    )


async def test_a_token_per_user_kept_until_it_nears_expiry(
    emulator: tuple[str, GoogleState],
) -> None:
    origin, _ = emulator
    tokens = tokens_for(origin)
    try:
        ada = await tokens.token(ADA)
        assert await tokens.token(ADA.upper()) == ada  # cached, and addresses are case-blind
        ben = await tokens.token(BEN)
        assert ben != ada
        tokens.forget(ADA)
        assert await tokens.token(ADA) != ada
    finally:
        tokens.close()
    assert SERVICE_ACCOUNT in repr(tokens)
    assert "PRIVATE" not in repr(tokens)


async def test_tokens_for_many_users_share_one_kept_alive_connection(
    emulator: tuple[str, GoogleState], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection (a TLS handshake with Google) per token would cost every cold start a
    handshake per user and worker."""
    origin, _ = emulator
    opened = 0
    connect = urllib3.connection.HTTPConnection.connect

    def counting_connect(self: urllib3.connection.HTTPConnection) -> None:
        nonlocal opened
        opened += 1
        connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counting_connect)
    tokens = tokens_for(origin)
    try:
        for user in (ADA, BEN, ADA):
            await tokens.token(user)
            tokens.forget(user)
    finally:
        tokens.close()

    assert opened == 1


async def test_an_unknown_user_is_a_mailbox_out_of_scope(emulator: tuple[str, GoogleState]) -> None:
    origin, _ = emulator
    tokens = tokens_for(origin)
    try:
        with pytest.raises(MailboxOutOfScope, match="no such user"):
            await tokens.token("ghost@northwind.test")
    finally:
        tokens.close()


async def test_revoked_delegation_is_revoked_consent(emulator: tuple[str, GoogleState]) -> None:
    origin, _ = emulator
    async with httpx.AsyncClient(base_url=origin) as control:
        answer = await control.post(
            f"/_emulator/service-accounts/{SERVICE_ACCOUNT}/consent", json={"state": "revoked"}
        )
        assert answer.status_code == 200, answer.text
        tokens = tokens_for(origin)
        try:
            with pytest.raises(ConsentRevoked, match="domain-wide delegation"):
                await tokens.token(BEN)
        finally:
            tokens.close()
            await control.post(
                f"/_emulator/service-accounts/{SERVICE_ACCOUNT}/consent", json={"state": "granted"}
            )


def test_a_key_that_is_not_a_service_account_key_is_refused_in_words() -> None:
    assert key_problems({"type": "authorized_user", "client_email": "x"}) == [
        "private_key is missing",
        "token_uri is missing",
        "type is 'authorized_user', not 'service_account'",
    ]
    with pytest.raises(CredentialsRejected, match="private_key is not a PEM private key"):
        ServiceAccountTokens(key_file("https://oauth2.googleapis.com/token") | {"private_key": "x"})
