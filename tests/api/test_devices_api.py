"""``/api/v1/devices`` through the ASGI app: an admin registers a room device and a user's client
by address, sees them listed without tokens, replaces a token and removes a device; the device's
own token opens nothing an API key is needed for; mistakes are 422 problems naming the field;
another tenant sees none of it."""

from __future__ import annotations

import httpx

from calhub.bootstrap import Runtime
from calhub.domain.calendars import CalendarKind
from calhub.domain.ids import TenantId
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant
from tests.api.test_errors import assert_problem
from tests.storage.factories import add_calendar

URL = "/api/v1/devices"


async def _tenant(runtime: Runtime, name: str) -> tuple[TenantId, dict[str, str]]:
    tenant = await create_tenant(runtime.uow, runtime.clock, name)
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    return tenant.id, {"Authorization": f"Bearer {issued.token}"}


async def test_a_room_device_and_a_client_are_registered_listed_and_removed(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Devices")
    room = await add_calendar(
        runtime.uow, tenant_id, "boardroom@devices.example", kind=CalendarKind.ROOM
    )
    user = await add_calendar(runtime.uow, tenant_id, "ana@devices.example")

    made = await client.post(
        URL,
        headers=auth,
        json={
            "kind": "room",
            "calendar": "Boardroom@Devices.example",
            "name": "Codec",
            "time_zone": "Europe/Berlin",
        },
    )
    assert made.status_code == 201, made.text
    codec = made.json()
    assert codec["calendar_id"] == str(room.id)
    assert codec["token"].startswith("chd_")
    laptop = (
        await client.post(
            URL,
            headers=auth,
            json={"kind": "client", "calendar": str(user.id), "name": "Ana's laptop"},
        )
    ).json()
    assert laptop["calendar_id"] == str(user.id)
    assert laptop["time_zone"] == "UTC"

    listed = (await client.get(URL, headers=auth)).json()
    assert {d["id"] for d in listed} == {codec["id"], laptop["id"]}
    assert all("token" not in d for d in listed)

    assert (await client.delete(f"{URL}/{laptop['id']}", headers=auth)).status_code == 204
    assert_problem(await client.get(f"{URL}/{laptop['id']}", headers=auth), 404, "not-found")
    assert_problem(await client.delete(f"{URL}/{laptop['id']}", headers=auth), 404, "not-found")
    assert [d["id"] for d in (await client.get(URL, headers=auth)).json()] == [codec["id"]]


async def test_a_device_token_is_not_an_api_key_and_a_new_token_replaces_the_old(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Tokens")
    await add_calendar(runtime.uow, tenant_id, "huddle@tokens.example", kind=CalendarKind.ROOM)
    codec = (
        await client.post(
            URL,
            headers=auth,
            json={"kind": "room", "calendar": "huddle@tokens.example", "name": "Huddle"},
        )
    ).json()
    as_device = {"Authorization": f"Bearer {codec['token']}"}
    assert_problem(await client.get(URL, headers=as_device), 401, "unauthorized")

    renewed = await client.post(f"{URL}/{codec['id']}/token", headers=auth)
    assert renewed.status_code == 200
    assert renewed.json()["token"] != codec["token"]
    listed = (await client.get(URL, headers=auth)).json()
    assert listed[0]["last_seen_at"] is None  # an API key's calls are not the device's


async def test_mistakes_are_422_problems_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant_id, auth = await _tenant(runtime, "Mistakes")
    await add_calendar(runtime.uow, tenant_id, "olga@mistakes.example")
    await add_calendar(runtime.uow, tenant_id, "atrium@mistakes.example", kind=CalendarKind.ROOM)
    cases = [
        ({"kind": "room", "calendar": "olga@mistakes.example", "name": "x"}, "room", "not a room"),
        (
            {"kind": "client", "calendar": "atrium@mistakes.example", "name": "x"},
            "user",
            "not a user",
        ),
        ({"kind": "room", "calendar": "nobody@mistakes.example", "name": "x"}, "room", "no room"),
        ({"kind": "room", "calendar": "atrium@mistakes.example", "name": " "}, "name", "name"),
        (
            {
                "kind": "room",
                "calendar": "atrium@mistakes.example",
                "name": "x",
                "time_zone": "Mars/Olympus",
            },
            "time_zone",
            "unknown time zone",
        ),
    ]
    for body, field, words in cases:
        problem = assert_problem(
            await client.post(URL, headers=auth, json=body), 422, "validation-failed"
        )
        assert words in str(problem["detail"]), problem
        assert problem["errors"] == [{"location": ["body", field], "message": problem["detail"]}]
    assert (await client.get(URL, headers=auth)).json() == []  # nothing half-made


async def test_another_tenant_sees_no_device(client: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant_id, auth = await _tenant(runtime, "Owner")
    await add_calendar(runtime.uow, tenant_id, "lab@owner.example", kind=CalendarKind.ROOM)
    codec = (
        await client.post(
            URL, headers=auth, json={"kind": "room", "calendar": "lab@owner.example", "name": "Lab"}
        )
    ).json()
    _, other = await _tenant(runtime, "Other")
    assert (await client.get(URL, headers=other)).json() == []
    assert_problem(await client.get(f"{URL}/{codec['id']}", headers=other), 404, "not-found")
    assert_problem(await client.delete(f"{URL}/{codec['id']}", headers=other), 404, "not-found")
    assert_problem(await client.post(f"{URL}/{codec['id']}/token", headers=other), 404, "not-found")
