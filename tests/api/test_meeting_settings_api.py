"""``/api/v1/meeting-settings`` through the ASGI app: an admin reads the default lead time, sets
the tenant's and a room's, and reads back what was stored; mistakes (a lead outside 0-60, an
unknown field, a room id that names no room calendar) are 422 problems naming the field and
store nothing; another tenant's key never sees them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calhub.bootstrap import Runtime
from calhub.domain.calendars import CalendarKind
from calhub.domain.ids import TenantId
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant
from tests.api.test_errors import assert_problem
from tests.storage.factories import add_calendar

URL = "/api/v1/meeting-settings"


async def _tenant(runtime: Runtime, name: str) -> tuple[TenantId, dict[str, str]]:
    tenant = await create_tenant(runtime.uow, runtime.clock, name)
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    return tenant.id, {"Authorization": f"Bearer {issued.token}"}


async def test_the_lead_times_are_set_and_read_back(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Initech")
    response = await client.get(URL, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == {"lead_minutes": 5, "rooms": {}}
    room = await add_calendar(runtime.uow, tenant_id, "room1@initech.test", kind=CalendarKind.ROOM)
    document = {"lead_minutes": 3, "rooms": {str(room.id): {"lead_minutes": 0}}}
    response = await client.put(URL, json=document, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json() == document
    assert (await client.get(URL, headers=auth)).json() == document
    _, other = await _tenant(runtime, "Globex")
    assert (await client.get(URL, headers=other)).json() == {"lead_minutes": 5, "rooms": {}}
    response = await client.put(URL, json={}, headers=auth)  # everything left out: defaults
    assert response.json() == {"lead_minutes": 5, "rooms": {}}


@pytest.mark.parametrize(
    ("document", "location"),
    [
        ({"lead_minutes": 61}, ["body", "lead_minutes"]),
        ({"lead_minutes": "5"}, ["body", "lead_minutes"]),
        ({"lead_minutes": 5, "lead": 3}, ["body", "lead"]),
        ({"rooms": {"not-a-uuid": {"lead_minutes": 1}}}, ["body", "rooms", "not-a-uuid"]),
    ],
)
async def test_a_wrong_field_is_a_422_naming_it(
    client: httpx.AsyncClient, runtime: Runtime, document: dict[str, Any], location: list[str]
) -> None:
    _, auth = await _tenant(runtime, "Umbrella")
    body = assert_problem(
        await client.put(URL, json=document, headers=auth), 422, "validation-failed"
    )
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [error["location"] for error in errors] == [location], errors
    assert (await client.get(URL, headers=auth)).json()["lead_minutes"] == 5


async def test_a_room_id_must_name_a_room_calendar_of_the_tenant(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Hooli")
    user = await add_calendar(runtime.uow, tenant_id, "ana@hooli.test")
    other_tenant, _ = await _tenant(runtime, "Pied Piper")
    foreign = await add_calendar(
        runtime.uow, other_tenant, "room@piper.test", kind=CalendarKind.ROOM
    )
    for calendar_id in (user.id, foreign.id):
        document = {"rooms": {str(calendar_id): {"lead_minutes": 1}}}
        body = assert_problem(
            await client.put(URL, json=document, headers=auth), 422, "validation-failed"
        )
        errors = body["errors"]
        assert isinstance(errors, list)
        assert errors[0]["location"] == ["body", "rooms", str(calendar_id)]
        assert "no room calendar" in errors[0]["message"]
    assert (await client.get(URL, headers=auth)).json()["rooms"] == {}


async def test_without_a_key_it_is_a_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(URL), 401, "unauthorized")
