"""``/api/v1/webhooks`` through the ASGI app: an admin adds an endpoint and sees its signing
secret once, lists endpoints without secrets, reads an endpoint's deliveries with why they
failed, re-enables a disabled endpoint and removes one; another tenant sees none of it; unusable
URLs and types are 422 problems naming the field; device tokens are refused."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.bootstrap import Runtime
from calhub.domain.ids import TenantId, WebhookEndpointId
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant
from calhub.storage.repositories.webhooks import AttemptRecord, DeliveryState
from tests.api.test_errors import assert_problem
from tests.storage.factories import NOW

URL = "/api/v1/webhooks"


async def _tenant(runtime: Runtime, name: str) -> tuple[TenantId, dict[str, str]]:
    tenant = await create_tenant(runtime.uow, runtime.clock, name)
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    return tenant.id, {"Authorization": f"Bearer {issued.token}"}


async def _add(client: httpx.AsyncClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(URL, json=body, headers=auth)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_endpoint_is_added_with_a_secret_shown_once(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, auth = await _tenant(runtime, "Initech")

    created = await _add(
        client, auth, url="https://hooks.example/calhub?token=t0k", event_types=["obtp.*"]
    )
    listed = (await client.get(URL, headers=auth)).json()
    one = await client.get(f"{URL}/{created['id']}", headers=auth)

    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert created == {
        "id": created["id"],
        "url": "https://hooks.example/calhub?token=t0k",
        "event_types": ["obtp.*"],
        "state": "active",
        "consecutive_failures": 0,
        "failing_since": None,
        "last_success_at": None,
        "disabled_at": None,
        "disabled_reason": None,
        "created_at": created["created_at"],
        "updated_at": created["created_at"],
    }
    assert listed == {"webhooks": [created]}
    assert one.json() == created
    assert secret not in one.text
    assert secret not in str(listed)


async def test_deliveries_say_how_each_went_and_enable_brings_a_disabled_one_back(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Hooli")
    created = await _add(client, auth, url="https://down.example/hook")
    endpoint_id = WebhookEndpointId(uuid.UUID(created["id"]))
    async with runtime.uow() as uow:
        events = await uow.outbox.add_many(
            tenant_id, [("meeting.created", {}, None), ("obtp.join", {}, None)], NOW
        )
        await uow.webhooks.add_deliveries([(tenant_id, endpoint_id, e) for e in events], NOW)
        delivered, failing = await uow.webhooks.list_deliveries(tenant_id, endpoint_id, limit=2)
        retry_at = NOW + timedelta(seconds=5)
        await uow.webhooks.record_attempts(
            [
                AttemptRecord(
                    failing.id, DeliveryState.PENDING, 503, "HTTP 503 Service Unavailable", retry_at
                ),
                AttemptRecord(delivered.id, DeliveryState.DELIVERED, 204, None, NOW),
            ],
            NOW,
        )
        await uow.webhooks.disable_if_failing_since(
            tenant_id, endpoint_id, NOW, "every delivery attempt for 24 h failed", NOW
        )
        await uow.commit()

    page = (await client.get(f"{URL}/{endpoint_id}/deliveries", headers=auth)).json()
    pending = (
        await client.get(f"{URL}/{endpoint_id}/deliveries?state=pending", headers=auth)
    ).json()
    first = (await client.get(f"{URL}/{endpoint_id}/deliveries?limit=1", headers=auth)).json()
    disabled = (await client.get(f"{URL}/{endpoint_id}", headers=auth)).json()
    enabled = await client.post(f"{URL}/{endpoint_id}/enable", headers=auth)

    assert [d["id"] for d in page["deliveries"]] == [delivered.id, failing.id]
    assert page["deliveries"][1] == {
        "id": failing.id,
        "event_id": events[0],
        "event_type": "meeting.created",
        "state": "pending",
        "attempts": 1,
        "last_status": 503,
        "last_error": "HTTP 503 Service Unavailable",
        "last_attempt_at": "2026-01-05T09:00:00Z",
        "next_attempt_at": "2026-01-05T09:00:05Z",
        "created_at": "2026-01-05T09:00:00Z",
    }
    assert page["deliveries"][0]["next_attempt_at"] is None  # delivered: nothing more to do
    assert [d["id"] for d in pending["deliveries"]] == [failing.id]
    assert (first["next"], len(first["deliveries"])) == (delivered.id, 1)
    assert (disabled["state"], disabled["disabled_reason"]) == (
        "disabled",
        "every delivery attempt for 24 h failed",
    )
    assert enabled.status_code == 200
    assert (enabled.json()["state"], enabled.json()["disabled_reason"]) == ("active", None)


async def test_remove_and_another_tenant_sees_nothing(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, auth = await _tenant(runtime, "Globex")
    _, other = await _tenant(runtime, "Umbrella")
    created = await _add(client, auth, url="http://10.0.0.5:8080/hook")
    path = f"{URL}/{created['id']}"

    assert (await client.get(URL, headers=other)).json() == {"webhooks": []}
    for method, suffix in [
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/enable"),
        ("GET", "/deliveries"),
    ]:
        response = await client.request(method, path + suffix, headers=other)
        assert_problem(response, 404, "not-found")
    removed = await client.delete(path, headers=auth)
    assert removed.status_code == 204
    assert_problem(await client.get(path, headers=auth), 404, "not-found")
    assert_problem(await client.delete(path, headers=auth), 404, "not-found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://files.example/hook"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "https://ok.example", "event_types": ["Meeting.Created"]}, "event_types"),
        ({"url": "https://ok.example", "event_types": ["meeting.*.x"]}, "event_types"),
        ({"url": "https://ok.example", "event_types": ["*"]}, "event_types"),
    ],
)
async def test_unusable_urls_and_types_are_422_naming_the_field(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post(URL, json=body, headers=auth)

    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"] == [{"location": ["body", field], "message": problem["detail"]}]


async def test_bad_ids_and_missing_fields_are_problems(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert_problem(await client.get(f"{URL}/not-a-uuid", headers=auth), 422, "validation-failed")
    assert_problem(await client.post(URL, json={}, headers=auth), 422, "validation-failed")
    missing = f"{URL}/{uuid.uuid4()}/deliveries"
    assert_problem(await client.get(missing, headers=auth), 404, "not-found")
    bad_state = f"{URL}/{uuid.uuid4()}/deliveries?state=lost"
    assert_problem(await client.get(bad_state, headers=auth), 422, "validation-failed")


async def test_without_a_tenant_key_it_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(URL), 401, "unauthorized")
    device = {"Authorization": "Bearer chd_a-device-token-cannot-manage-webhooks"}
    assert_problem(await client.get(URL, headers=device), 401, "unauthorized")
