"""``GET /api/v1/join-writes`` through the ASGI app: an admin sees the tenant's join-block writes
newest first with the reason a write failed, filters them by state and pages through them; another
tenant's key sees none of them; bad query values are 422 problems naming the parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.bootstrap import Runtime
from calhub.domain.ids import CalendarId, EventId, TenantId, new_id
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant
from calhub.storage.repositories.join_writes import JoinWriteState
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.api.test_errors import assert_problem
from tests.storage.factories import NOW, add_calendar

URL = "/api/v1/join-writes"
NOT_CONFIGURED = (
    "@webex asks for webex_personal_room meetings: the backend is not configured in the "
    "tenant's join settings"
)


@dataclass(frozen=True)
class Outbox:
    """A tenant whose outbox holds, oldest first: written, failed, retrying, failed, pending."""

    auth: dict[str, str]
    ids: list[int]
    calendar_id: str
    event_ids: list[str]


async def _queue(
    uow_factory: UnitOfWorkFactory, tenant_id: TenantId, calendar_id: CalendarId
) -> tuple[int, EventId]:
    event_id = EventId(new_id(NOW))
    async with uow_factory() as uow:
        assert await uow.join_writes.add(tenant_id, calendar_id, [(event_id, "AAMk-1")], NOW) == 1
        (write,) = await uow.join_writes.for_event(tenant_id, event_id)
        await uow.commit()
    return write.id, event_id


async def _tenant_with_writes(runtime: Runtime, name: str) -> Outbox:
    tenant = await create_tenant(runtime.uow, runtime.clock, name)
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    calendar = await add_calendar(runtime.uow, tenant.id, owner=f"olga@{name.lower()}.example")
    queued = [await _queue(runtime.uow, tenant.id, calendar.id) for _ in range(5)]
    ids = [write_id for write_id, _ in queued]
    later = NOW + timedelta(minutes=1)
    async with runtime.uow() as uow:
        writes = uow.join_writes
        await writes.finish(ids[0], JoinWriteState.DONE, "wrote the @webex block", later)
        await writes.finish(ids[1], JoinWriteState.FAILED, NOT_CONFIGURED, later)
        await writes.retry_later(
            ids[2], "throttled by the provider", later + timedelta(seconds=30), later
        )
        await writes.finish(
            ids[3], JoinWriteState.FAILED, "the connection is consent_revoked", later
        )
        await uow.commit()
    return Outbox(
        auth={"Authorization": f"Bearer {issued.token}"},
        ids=ids,
        calendar_id=str(calendar.id),
        event_ids=[str(event_id) for _, event_id in queued],
    )


@pytest.fixture(scope="module")
async def outbox(runtime: Runtime) -> Outbox:
    return await _tenant_with_writes(runtime, "Initech")


async def _get(client: httpx.AsyncClient, auth: dict[str, str], **query: Any) -> dict[str, Any]:
    response = await client.get(URL, params=query, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_admin_sees_every_write_newest_first_with_why_it_failed(
    client: httpx.AsyncClient, outbox: Outbox
) -> None:
    body = await _get(client, outbox.auth)

    assert [w["id"] for w in body["writes"]] == outbox.ids[::-1]
    assert body["next"] is None
    by_id = {w["id"]: w for w in body["writes"]}
    failed = by_id[outbox.ids[1]]
    assert failed == {
        "id": outbox.ids[1],
        "calendar_id": outbox.calendar_id,
        "event_id": outbox.event_ids[1],
        "state": "failed",
        "attempts": 1,
        "outcome": NOT_CONFIGURED,
        "created_at": "2026-01-05T09:00:00Z",
        "updated_at": "2026-01-05T09:01:00Z",
        "not_before": "2026-01-05T09:00:00Z",
    }
    retrying = by_id[outbox.ids[2]]
    assert (retrying["state"], retrying["attempts"]) == ("pending", 1)
    assert retrying["not_before"] == "2026-01-05T09:01:30Z"
    untried = by_id[outbox.ids[4]]
    assert (untried["state"], untried["attempts"], untried["outcome"]) == ("pending", 0, None)


async def test_nothing_personal_or_provider_internal_is_shown(
    client: httpx.AsyncClient, outbox: Outbox
) -> None:
    response = await client.get(URL, headers=outbox.auth)

    assert "olga@" not in response.text
    assert "AAMk" not in response.text  # the provider's event id stays inside


@pytest.mark.parametrize(
    ("state", "positions"), [("failed", [3, 1]), ("pending", [4, 2]), ("done", [0])]
)
async def test_filter_by_state(
    client: httpx.AsyncClient, outbox: Outbox, state: str, positions: list[int]
) -> None:
    body = await _get(client, outbox.auth, state=state)

    assert [w["id"] for w in body["writes"]] == [outbox.ids[p] for p in positions]
    assert {w["state"] for w in body["writes"]} == {state}


async def test_pages_follow_next_until_it_is_null(
    client: httpx.AsyncClient, outbox: Outbox
) -> None:
    first = await _get(client, outbox.auth, limit=2)
    second = await _get(client, outbox.auth, limit=2, after=first["next"])
    last = await _get(client, outbox.auth, limit=2, after=second["next"])

    pages = [[w["id"] for w in page["writes"]] for page in (first, second, last)]
    assert pages == [outbox.ids[4:2:-1], outbox.ids[2:0:-1], outbox.ids[:1]]
    assert (first["next"], second["next"], last["next"]) == (outbox.ids[3], outbox.ids[1], None)
    beyond_every_id = await _get(client, outbox.auth, after=2**64)
    assert [w["id"] for w in beyond_every_id["writes"]] == outbox.ids[::-1]
    exactly = await _get(client, outbox.auth, limit=5)
    assert len(exactly["writes"]) == 5
    assert exactly["next"] is None  # a full last page does not promise another


async def test_paging_within_a_state(client: httpx.AsyncClient, outbox: Outbox) -> None:
    first = await _get(client, outbox.auth, state="failed", limit=1)
    second = await _get(client, outbox.auth, state="failed", limit=1, after=first["next"])

    assert [w["id"] for w in first["writes"]] == [outbox.ids[3]]
    assert [w["id"] for w in second["writes"]] == [outbox.ids[1]]
    assert second["next"] is None


async def test_another_tenants_key_sees_none_of_them(
    client: httpx.AsyncClient, runtime: Runtime, outbox: Outbox
) -> None:
    other = await _tenant_with_writes(runtime, "Umbrella")

    mine = await _get(client, outbox.auth)
    theirs = await _get(client, other.auth)
    after_mine = await _get(client, other.auth, after=outbox.ids[-1] + 1)

    assert {w["id"] for w in mine["writes"]} == set(outbox.ids)
    assert {w["id"] for w in theirs["writes"]} == set(other.ids)
    assert {w["id"] for w in after_mine["writes"]}.isdisjoint(outbox.ids)


async def test_a_tenant_without_writes_gets_an_empty_list(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert await _get(client, auth, state="failed") == {"writes": [], "next": None}


async def test_without_a_key_it_is_401(client: httpx.AsyncClient, outbox: Outbox) -> None:
    assert_problem(await client.get(URL), 401, "unauthorized")
    wrong = {"Authorization": "Bearer chk_0190b9c2a1f07000800000000000000a_wrong"}
    assert_problem(await client.get(URL, headers=wrong), 401, "unauthorized")


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"state": "bogus"}, "state"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"after": 0}, "after"),
    ],
)
async def test_bad_query_values_are_422_naming_the_parameter(
    client: httpx.AsyncClient, auth: dict[str, str], query: dict[str, Any], parameter: str
) -> None:
    body = assert_problem(
        await client.get(URL, params=query, headers=auth), 422, "validation-failed"
    )

    errors = body["errors"]
    assert isinstance(errors, list)
    (error,) = errors
    assert error["location"] == ["query", parameter]
    assert error["message"]


async def test_the_openapi_document_describes_the_list(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][URL]["get"]

    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == {"state", "after", "limit"}
    assert parameters["limit"]["schema"]["maximum"] == 500
    schemas = spec["components"]["schemas"]
    assert set(schemas["JoinWriteList"]["properties"]) == {"writes", "next"}
    assert set(schemas["JoinWriteState"]["enum"]) == {"pending", "done", "failed"}
    assert {"401", "422"} <= set(operation["responses"])
