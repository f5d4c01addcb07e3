"""Bearer tokens and mailbox checks, answered in Graph's own error shape."""

from __future__ import annotations

import httpx

from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.state import GraphState
from tests.emulators.graph.seeds import CONTOSO


async def test_missing_token_is_invalid_authentication_token(emulator: httpx.AsyncClient) -> None:
    response = await emulator.get("/v1.0/users/adele@contoso.test/mailboxSettings")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["innerError"]["request-id"] == response.headers["request-id"]


async def test_forged_token_is_rejected(emulator: httpx.AsyncClient) -> None:
    headers = {"Authorization": "Bearer eyJ0eXAiOiJKV1QifQ.eyJ0aWQiOiJ4In0.c2ln"}
    response = await emulator.get("/v1.0/users/adele@contoso.test/mailboxSettings", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


async def test_token_expires_on_the_emulator_clock(
    graph: httpx.AsyncClient, clock: EmulatorClock
) -> None:
    assert (await graph.get("/users/adele@contoso.test/mailboxSettings")).status_code == 200
    clock.advance(3600)
    response = await graph.get("/users/adele@contoso.test/mailboxSettings")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_unknown_user_and_mailbox_without_exchange(graph: httpx.AsyncClient) -> None:
    unknown = await graph.get("/users/nobody@contoso.test/mailboxSettings")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "ErrorInvalidUser")
    onprem = await graph.get("/users/onprem@contoso.test/mailboxSettings")
    assert onprem.status_code == 404
    assert onprem.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"


async def test_access_policy_denies_mailboxes_outside_it(graph: httpx.AsyncClient) -> None:
    response = await graph.get("/users/megan@contoso.test/mailboxSettings")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ErrorAccessDenied"
    assert "AccessPolicy" in response.json()["error"]["message"]


async def test_revoked_consent_denies_calendar_calls(
    graph: httpx.AsyncClient, graph_state: GraphState
) -> None:
    next(iter(graph_state.tenants[CONTOSO].apps.values())).consent = "revoked"
    response = await graph.get("/users/adele@contoso.test/mailboxSettings")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "ErrorAccessDenied")


async def test_other_tenants_mailboxes_are_invisible(graph: httpx.AsyncClient) -> None:
    response = await graph.get("/users/pat@fabrikam.test/mailboxSettings")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ErrorInvalidUser")


async def test_repeated_slashes_and_client_request_id(emulator: httpx.AsyncClient) -> None:
    response = await emulator.get(
        "/v1.0//users/adele@contoso.test/events", headers={"client-request-id": "abc-123"}
    )
    assert response.headers["client-request-id"] == "abc-123"
    assert "x-ms-ags-diagnostic" in response.headers
