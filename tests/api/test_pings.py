"""A ping goes API -> queue -> worker -> database, and stays inside its tenant."""

from __future__ import annotations

import httpx

from calhub.bootstrap import Runtime
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant
from calhub.workers.tasks import run_worker


async def test_a_worker_answers_a_queued_ping(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    created = await client.post("/api/v1/pings", json={"note": "hello"}, headers=auth)
    assert created.status_code == 202, created.text
    ping = created.json()
    assert ping["state"] == "queued"
    assert ping["note"] == "hello"

    before = await client.get(f"/api/v1/pings/{ping['id']}", headers=auth)
    assert before.json()["state"] == "queued"

    # wait=False: the worker runs what is queued, then returns.
    await run_worker(runtime, concurrency=2, wait=False, install_signal_handlers=False)

    after = (await client.get(f"/api/v1/pings/{ping['id']}", headers=auth)).json()
    assert after["state"] == "answered"
    assert after["answered_at"] >= after["requested_at"]


async def test_a_ping_without_a_body_is_accepted(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post("/api/v1/pings", headers=auth)
    assert response.status_code == 202
    assert response.json()["note"] == ""


async def test_another_tenant_cannot_see_the_ping(
    client: httpx.AsyncClient, auth: dict[str, str], runtime: Runtime
) -> None:
    ping_id = (await client.post("/api/v1/pings", json={}, headers=auth)).json()["id"]
    other = await create_tenant(runtime.uow, runtime.clock, "Globex")
    other_key = (await create_api_key(runtime.uow, runtime.clock, other.id, "x")).token
    response = await client.get(
        f"/api/v1/pings/{ping_id}", headers={"Authorization": f"Bearer {other_key}"}
    )
    assert response.status_code == 404


async def test_the_key_identifies_its_tenant(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = (await client.get("/api/v1/tenant", headers=auth)).json()
    assert body["name"] == "Acme"
    assert body["api_key_name"] == "tests"
