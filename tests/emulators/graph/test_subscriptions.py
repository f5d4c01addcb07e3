"""Creating and managing subscriptions: handshake, fields, limits, isolation (graph.md §4.1-4.6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.events.ids import calendar_id
from calhub.emulators.graph.state import App, GraphState
from calhub.emulators.graph.subscriptions.validation import read_creation
from tests.emulators.graph.conftest import BASE_URL, token_for
from tests.emulators.graph.notification_receiver import (
    HOOK,
    LIFECYCLE,
    HandshakeMode,
    Receiver,
    attach,
    subscription_body,
)
from tests.emulators.graph.seeds import ADELE, APP_ID, CONTOSO, FABRIKAM

SUBSCRIPTION_FIELDS = {
    "@odata.context", "id", "resource", "applicationId", "changeType", "clientState",
    "notificationUrl", "notificationQueryOptions", "lifecycleNotificationUrl",
    "expirationDateTime", "creatorId", "includeResourceData", "latestSupportedTlsVersion",
    "encryptionCertificate", "encryptionCertificateId", "notificationUrlAppId",
}  # fmt: skip


@pytest.fixture
async def receiver(graph_state: GraphState) -> AsyncIterator[Receiver]:
    yield attach(graph_state)
    await graph_state.subscriptions.close()


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


async def test_create_validates_the_endpoint_and_returns_every_field(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    response = await graph.post("/subscriptions", json=subscription_body())
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == SUBSCRIPTION_FIELDS
    assert body["@odata.context"].endswith("$metadata#subscriptions/$entity")
    app = graph_state.tenants[CONTOSO].apps[APP_ID]
    assert (body["applicationId"], body["creatorId"]) == (APP_ID, app.service_principal_id)
    assert body["resource"] == "/users/adele@contoso.test/events"
    assert body["changeType"] == "created,updated,deleted"
    assert body["clientState"] == "secretClientValue"
    assert body["expirationDateTime"] == "2026-03-04T08:00:00Z"
    assert body["latestSupportedTlsVersion"] == "v1_2"
    assert body["lifecycleNotificationUrl"] is None
    [handshake] = receiver.handshakes
    assert str(handshake.copy_remove_param("validationToken")) == HOOK
    assert " " not in handshake.query.decode()  # the token travels URL-encoded
    assert handshake.params["validationToken"].startswith("Validation: ")
    assert receiver.handshake_content_types == ["text/plain; charset=utf-8"]


async def test_lifecycle_url_is_validated_too(graph: httpx.AsyncClient, receiver: Receiver) -> None:
    body = subscription_body(lifecycleNotificationUrl=LIFECYCLE)
    response = await graph.post("/subscriptions", json=body)
    assert response.status_code == 201
    assert response.json()["lifecycleNotificationUrl"] == LIFECYCLE
    assert [url.path for url in receiver.handshakes] == ["/graph", "/lifecycle"]


@pytest.mark.parametrize(
    ("mode", "code", "message"),
    [
        (
            "forbidden",
            "ValidationError",
            "Subscription validation request failed. HTTP status code is 'Forbidden'. "
            "Notification endpoint must respond with 200 OK to validation request.",
        ),
        (
            "encoded",
            "ValidationError",
            "Subscription validation request failed. "
            "Response must exactly match validationToken query parameter.",
        ),
        ("slow", "InvalidRequest", "Subscription validation request timed out."),
    ],
)
async def test_failed_handshake_creates_nothing(
    graph: httpx.AsyncClient,
    graph_state: GraphState,
    receiver: Receiver,
    mode: HandshakeMode,
    code: str,
    message: str,
) -> None:
    receiver.handshake = mode
    graph_state.subscriptions.policy.validation_timeout = 0.05
    response = await graph.post("/subscriptions", json=subscription_body())
    assert error_of(response) == (400, code, message)
    assert (await graph.get("/subscriptions")).json()["value"] == []


async def test_failed_lifecycle_handshake_creates_nothing(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/lifecycle":
            return httpx.Response(404)
        return httpx.Response(200, text=request.url.params["validationToken"])

    graph_state.subscriptions.transport = httpx.MockTransport(answer)
    body = subscription_body(lifecycleNotificationUrl=LIFECYCLE)
    status, code, message = error_of(await graph.post("/subscriptions", json=body))
    assert (status, code) == (400, "ValidationError")
    assert "HTTP status code is 'NotFound'" in message
    assert (await graph.get("/subscriptions")).json()["value"] == []


async def test_unreachable_endpoint_is_a_validation_error(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    graph_state.subscriptions.transport = None  # the real network, to a closed loopback port
    body = subscription_body(notificationUrl="http://127.0.0.1:9/graph")
    status, code, message = error_of(await graph.post("/subscriptions", json=body))
    assert (status, code) == (400, "ValidationError")
    assert message.startswith("Subscription validation request failed.")


@pytest.mark.parametrize(
    ("url", "code", "fragment"),
    [
        ("https://hooks.contoso.com/graph", "ValidationError", "only loopback"),
        ("https://10.0.0.8/graph", "ValidationError", "only loopback"),
        ("http://hooks.contoso.test/graph", "InvalidRequest", "scheme='http' is not supported"),
        ("ftp://127.0.0.1/graph", "InvalidRequest", "Invalid notification url"),
        ("not a url", "InvalidRequest", "Invalid notification url"),
    ],
)
async def test_urls_the_emulator_will_not_contact(
    graph: httpx.AsyncClient, receiver: Receiver, url: str, code: str, fragment: str
) -> None:
    status, error_code, message = error_of(
        await graph.post("/subscriptions", json=subscription_body(notificationUrl=url))
    )
    assert (status, error_code) == (400, code)
    assert fragment in message
    assert receiver.handshakes == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/graph",
        "http://localhost/graph",
        "http://[::1]:8080/graph",
        "https://receiver.example/graph",
        "https://api.localhost/graph?tenant=contoso",
    ],
)
async def test_loopback_and_test_hosts_are_contacted(
    graph: httpx.AsyncClient, receiver: Receiver, url: str
) -> None:
    response = await graph.post("/subscriptions", json=subscription_body(notificationUrl=url))
    assert response.status_code == 201, response.text
    assert response.json()["notificationUrl"] == url
    assert len(receiver.handshakes) == 1


@pytest.mark.parametrize(
    "resource",
    [
        f"/users/{ADELE}/events",
        "users/adele@contoso.test/events",
        "/Users/ADELE@contoso.test/Events",
        f"/users('{ADELE}')/events",
        "/users/adele@contoso.test/calendar/events",
        f"/users/{ADELE}/calendars/{calendar_id(ADELE)}/events",
        "/users/adele@contoso.test/events?$filter=isOrganizer eq true",
    ],
)
async def test_resource_forms_accepted(
    graph: httpx.AsyncClient, receiver: Receiver, resource: str
) -> None:
    response = await graph.post("/subscriptions", json=subscription_body(resource=resource))
    assert response.status_code == 201, response.text
    assert response.json()["resource"] == resource


@pytest.mark.parametrize(
    ("resource", "code", "fragment"),
    [
        ("/users/adele@contoso.test/events/AAMkAGI2AAA=", "InvalidRequest", "is not supported"),
        ("/users/adele@contoso.test/messages", "InvalidRequest", "is not supported"),
        ("/users/adele@contoso.test", "InvalidRequest", "is not supported"),
        ("/me/events", "BadRequest", "delegated authentication flow"),
    ],
)
async def test_resource_forms_rejected(
    graph: httpx.AsyncClient, receiver: Receiver, resource: str, code: str, fragment: str
) -> None:
    response = await graph.post("/subscriptions", json=subscription_body(resource=resource))
    status, error_code, message = error_of(response)
    assert (status, error_code) == (400, code)
    assert fragment in message
    assert receiver.handshakes == []


@pytest.mark.parametrize(
    ("mailbox", "status", "code"),
    [
        ("nobody@contoso.test", 404, "ErrorInvalidUser"),
        ("onprem@contoso.test", 404, "MailboxNotEnabledForRESTAPI"),
        ("megan@contoso.test", 403, "ErrorAccessDenied"),
        ("pat@fabrikam.test", 404, "ErrorInvalidUser"),
    ],
)
async def test_mailbox_checks(
    graph: httpx.AsyncClient, receiver: Receiver, mailbox: str, status: int, code: str
) -> None:
    body = subscription_body(resource=f"/users/{mailbox}/events")
    assert error_of(await graph.post("/subscriptions", json=body))[:2] == (status, code)


async def test_revoked_consent_denies_subscription_calls(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    created = (await graph.post("/subscriptions", json=subscription_body())).json()
    graph_state.tenants[CONTOSO].apps[APP_ID].consent = "revoked"
    for response in (
        await graph.post("/subscriptions", json=subscription_body()),
        await graph.get("/subscriptions"),
        await graph.patch(f"/subscriptions/{created['id']}", json={"notificationUrl": HOOK}),
        await graph.post(f"/subscriptions/{created['id']}/reauthorize"),
    ):
        assert error_of(response)[:2] == (403, "ErrorAccessDenied")


@pytest.mark.parametrize(
    ("expiration", "kept"),
    [
        ("2026-03-09T07:50:00Z", "2026-03-09T07:50:00Z"),  # exactly 10,070 minutes ahead
        ("2026-03-03T10:00:00+02:00", "2026-03-03T08:00:00Z"),  # offsets become UTC
        ("2026-03-03T08:00:00", "2026-03-03T08:00:00Z"),  # no offset: UTC
        ("2026-03-03T08:00:00.1234567Z", "2026-03-03T08:00:00.123456Z"),  # 7 digits, as Graph
    ],
)
async def test_lifetime_kept_or_adjusted(
    graph: httpx.AsyncClient, receiver: Receiver, expiration: str, kept: str
) -> None:
    body = subscription_body(expirationDateTime=expiration)
    response = await graph.post("/subscriptions", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["expirationDateTime"] == kept


async def test_lifetime_under_45_minutes_is_raised_to_45(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    body = subscription_body(expirationDateTime="2026-03-02T08:10:00Z")
    kept = (await graph.post("/subscriptions", json=body)).json()["expirationDateTime"]
    assert datetime.fromisoformat(kept) == graph_state.clock.now() + timedelta(minutes=45)


async def test_lifetime_over_10070_minutes_is_an_extension_error(
    graph: httpx.AsyncClient, receiver: Receiver
) -> None:
    body = subscription_body(expirationDateTime="2026-03-09T07:51:00Z")
    response = await graph.post("/subscriptions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ExtensionError"
    assert error["message"] == "Subscription expiration can only be 10070 minutes in the future."
    assert receiver.handshakes == []


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"expirationDateTime": "2026-03-02T07:59:00Z"}, "in the future"),
        ({"expirationDateTime": "tomorrow"}, "Edm.DateTimeOffset"),
        ({"expirationDateTime": None}, "expirationDateTime is a required property"),
        ({"notificationUrl": None}, "notificationUrl is a required property"),
        ({"resource": None}, "resource is a required property"),
        ({"changeType": "created,moved"}, "Invalid 'changeType'"),
        ({"changeType": ""}, "changeType"),
        ({"clientState": "x" * 129}, "128 characters"),
        ({"clientState": 5}, "clientState must be a string"),
        ({"latestSupportedTlsVersion": "v2_0"}, "latestSupportedTlsVersion"),
        ({"includeResourceData": True}, "includeResourceData"),
    ],
)
async def test_invalid_creation_bodies(
    graph: httpx.AsyncClient, receiver: Receiver, overrides: dict[str, Any], fragment: str
) -> None:
    response = await graph.post("/subscriptions", json=subscription_body(**overrides))
    status, code, message = error_of(response)
    assert (status, code) == (400, "InvalidRequest")
    assert fragment in message


async def test_client_state_of_128_characters_is_kept(
    graph: httpx.AsyncClient, receiver: Receiver
) -> None:
    response = await graph.post("/subscriptions", json=subscription_body(clientState="x" * 128))
    assert response.json()["clientState"] == "x" * 128


async def test_malformed_json_is_a_graph_error(
    graph: httpx.AsyncClient, receiver: Receiver
) -> None:
    response = await graph.post(
        "/subscriptions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "error" in response.json()


async def test_a_mailbox_holds_at_most_1000_subscriptions(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    tenant = graph_state.tenants[CONTOSO]
    app = tenant.apps[APP_ID]
    mailbox = tenant.mailbox(ADELE)
    assert mailbox is not None
    request = read_creation(subscription_body(), graph_state.clock.now())
    for _ in range(1000):
        await graph_state.subscriptions.create(tenant, app, mailbox, request)
    response = await graph.post("/subscriptions", json=subscription_body())
    status, code, message = error_of(response)
    assert (status, code) == (403, "ExtensionError")
    assert "1000" in message
    other = subscription_body(resource="/users/alex@contoso.test/events")
    assert (await graph.post("/subscriptions", json=other)).status_code == 201


async def test_subscriptions_belong_to_one_app_in_one_tenant(
    graph: httpx.AsyncClient, graph_app: FastAPI, graph_state: GraphState, receiver: Receiver
) -> None:
    mine = (await graph.post("/subscriptions", json=subscription_body())).json()
    graph_state.tenants[CONTOSO].apps["other-app"] = App("other-app", "secret")
    strangers = [
        token_for(graph_state, CONTOSO, "other-app"),
        token_for(graph_state, FABRIKAM, "fabrikam-app"),
    ]
    for token in strangers:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=graph_app),
            base_url=f"{BASE_URL}/v1.0",
            headers={"Authorization": f"Bearer {token}"},
        ) as stranger:
            assert (await stranger.get("/subscriptions")).json()["value"] == []
            for response in (
                await stranger.get(f"/subscriptions/{mine['id']}"),
                await stranger.patch(
                    f"/subscriptions/{mine['id']}", json={"notificationUrl": HOOK}
                ),
                await stranger.delete(f"/subscriptions/{mine['id']}"),
                await stranger.post(f"/subscriptions/{mine['id']}/reauthorize"),
            ):
                assert error_of(response)[:2] == (404, "ResourceNotFound")
    listed = (await graph.get("/subscriptions")).json()
    assert listed["@odata.context"].endswith("$metadata#subscriptions")
    assert [s["id"] for s in listed["value"]] == [mine["id"]]


async def test_get_patch_reauthorize_delete(graph: httpx.AsyncClient, receiver: Receiver) -> None:
    created = (await graph.post("/subscriptions", json=subscription_body())).json()
    url = f"/subscriptions/{created['id']}"
    fetched = await graph.get(url)
    assert fetched.status_code == 200
    assert fetched.json() == created

    renewed = await graph.patch(url, json={"expirationDateTime": "2026-03-08T08:00:00Z"})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] == "2026-03-08T08:00:00Z"
    assert (await graph.get(url)).json()["expirationDateTime"] == "2026-03-08T08:00:00Z"

    reauthorized = await graph.post(f"{url}/reauthorize")
    assert (reauthorized.status_code, reauthorized.content) == (204, b"")

    assert (await graph.delete(url)).status_code == 204
    for response in (
        await graph.get(url),
        await graph.delete(url),
        await graph.post(f"{url}/reauthorize"),
    ):
        assert error_of(response)[:2] == (404, "ResourceNotFound")


async def test_patch_needs_an_expiry_or_a_url(
    graph: httpx.AsyncClient, graph_state: GraphState, receiver: Receiver
) -> None:
    created = (await graph.post("/subscriptions", json=subscription_body())).json()
    url = f"/subscriptions/{created['id']}"
    assert error_of(await graph.patch(url, json={"clientState": "new"})) == (
        400,
        "InvalidRequest",
        "Subscription must contain either the 'expirationDateTime' or 'notificationUrl' "
        "property and its value.",
    )
    too_far = await graph.patch(url, json={"expirationDateTime": "2026-03-10T08:00:00Z"})
    assert error_of(too_far)[:2] == (400, "ExtensionError")
    short = await graph.patch(url, json={"expirationDateTime": "2026-03-02T08:01:00Z"})
    kept = datetime.fromisoformat(short.json()["expirationDateTime"])
    assert kept == graph_state.clock.now() + timedelta(minutes=45)


async def test_patch_to_a_new_url_validates_it(
    graph: httpx.AsyncClient, receiver: Receiver
) -> None:
    created = (await graph.post("/subscriptions", json=subscription_body())).json()
    url = f"/subscriptions/{created['id']}"
    moved = await graph.patch(url, json={"notificationUrl": "https://hooks.contoso.test/v2"})
    assert moved.json()["notificationUrl"] == "https://hooks.contoso.test/v2"
    assert [u.path for u in receiver.handshakes] == ["/graph", "/v2"]
    receiver.handshake = "forbidden"
    refused = await graph.patch(url, json={"notificationUrl": "https://hooks.contoso.test/v3"})
    assert error_of(refused)[:2] == (400, "ValidationError")
    assert (await graph.get(url)).json()["notificationUrl"] == "https://hooks.contoso.test/v2"


async def test_create_app_passes_the_notification_transport(graph_state: GraphState) -> None:
    transport = Receiver().transport()
    create_app(graph_state, notification_transport=transport)
    assert graph_state.subscriptions.transport is transport
