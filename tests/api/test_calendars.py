"""``/api/v1/calendars`` and ``/metrics`` through the ASGI app: an admin sees each calendar's sync
status (last notification, last sync, lag, errors, out of scope), asks for a sync now, and the
same status is exported as Prometheus gauges."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import text

from calhub.bootstrap import Runtime
from calhub.domain.calendars import Calendar, CalendarKind, RoomDetails
from calhub.domain.ids import CalendarId, ConnectionId, TenantId, new_id
from calhub.services.apikeys import create_api_key
from calhub.services.connections import create_microsoft_connection
from calhub.services.tenants import create_tenant
from tests.emulators.graph.seeds import CONTOSO
from tests.hub_fixtures import contoso_credentials


@dataclass(frozen=True)
class Mirror:
    tenant_id: TenantId
    active: ConnectionId
    pending: ConnectionId
    adele: CalendarId
    megan: CalendarId
    room: CalendarId
    stranded: CalendarId  # on the connection still waiting for consent


async def _connection(runtime: Runtime, tenant_id: TenantId, *, consented: bool) -> ConnectionId:
    connection = await create_microsoft_connection(runtime.hub, tenant_id, contoso_credentials())
    if consented:
        async with runtime.uow() as uow:
            await uow.connections.record_consent(
                tenant_id, connection.id, CONTOSO, runtime.clock.now()
            )
            await uow.commit()
    return connection.id


def _calendar(
    runtime: Runtime,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    owner: str,
    kind: CalendarKind = CalendarKind.USER,
) -> Calendar:
    now = runtime.clock.now()
    return Calendar(
        id=CalendarId(new_id(now)),
        tenant_id=tenant_id,
        connection_id=connection_id,
        provider_calendar_id=f"id-{owner}",
        kind=kind,
        owner_email=owner,
        name=f"Calendar of {owner}",
        created_at=now,
        updated_at=now,
        room=RoomDetails(capacity=12, building="Building 1", floor_number=1)
        if kind is CalendarKind.ROOM
        else None,
    )


@pytest_asyncio.fixture(scope="module")
async def mirror(runtime: Runtime, client: httpx.AsyncClient, api_key: str) -> Mirror:
    """Contoso's calendars in the key's tenant, in the states a sync leaves them in."""
    tenant = await client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {api_key}"})
    tenant_id = TenantId(uuid.UUID(tenant.json()["id"]))
    active = await _connection(runtime, tenant_id, consented=True)
    pending = await _connection(runtime, tenant_id, consented=False)
    adele = _calendar(runtime, tenant_id, active, "adele@contoso.test")
    megan = _calendar(runtime, tenant_id, active, "megan@contoso.test")
    room = _calendar(runtime, tenant_id, active, "cf100@contoso.test", CalendarKind.ROOM)
    stranded = _calendar(runtime, tenant_id, pending, "alex@contoso.test")
    now = runtime.clock.now()
    async with runtime.uow() as uow:
        for calendar in (adele, megan, room, stranded):
            await uow.calendars.add(calendar)
        await uow.sync_status.record_notifications([(tenant_id, adele.id)], now)
        await uow.sync_status.record_sync(
            tenant_id,
            adele.id,
            now,
            cursor="d1",
            full=True,
            change_seen_at=now - timedelta(seconds=42),
        )
        await uow.sync_status.record_failure(tenant_id, room.id, "Graph answered 503", now)
        await uow.sync_status.record_failure(tenant_id, room.id, "Graph answered 503", now)
        await uow.calendars.mark_out_of_scope(
            tenant_id, megan.id, "the tenant's application access policy blocks it", now
        )
        await uow.commit()
    return Mirror(tenant_id, active, pending, adele.id, megan.id, room.id, stranded.id)


async def _jobs_for(runtime: Runtime, calendar_id: CalendarId) -> int:
    async with runtime.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE task_name = 'calhub.sync_calendar' AND args->>'calendar_id' = :id"
            ),
            {"id": str(calendar_id)},
        )
        return int(found.scalar_one())


async def test_calendars_show_their_sync_status(
    client: httpx.AsyncClient, auth: dict[str, str], mirror: Mirror
) -> None:
    response = await client.get("/api/v1/calendars", headers=auth)
    assert response.status_code == 200, response.text
    by_id = {item["id"]: item for item in response.json()["calendars"]}
    assert set(by_id) == {
        str(c) for c in (mirror.adele, mirror.megan, mirror.room, mirror.stranded)
    }

    adele = by_id[str(mirror.adele)]
    assert (adele["email"], adele["kind"], adele["room"]) == ("adele@contoso.test", "user", None)
    assert adele["sync"]["lag_seconds"] == 42.0
    assert adele["sync"]["last_synced_at"] is not None
    assert adele["sync"]["last_full_sync_at"] == adele["sync"]["last_synced_at"]
    assert adele["sync"]["last_notification_at"] is not None
    assert adele["sync"]["consecutive_failures"] == 0
    room = by_id[str(mirror.room)]
    assert room["room"]["capacity"] == 12
    assert (room["sync"]["consecutive_failures"], room["sync"]["last_error"]) == (
        2,
        "Graph answered 503",
    )
    megan = by_id[str(mirror.megan)]["sync"]
    assert "access policy" in megan["out_of_scope_reason"]
    assert "sync_cursor" not in adele
    assert "provider_calendar_id" not in adele


async def test_calendars_filter_by_connection_and_kind(
    client: httpx.AsyncClient, auth: dict[str, str], mirror: Mirror
) -> None:
    async def ids(**params: Any) -> set[str]:
        response = await client.get("/api/v1/calendars", params=params, headers=auth)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["calendars"]}

    assert await ids(kind="room") == {str(mirror.room)}
    assert await ids(connection_id=str(mirror.pending)) == {str(mirror.stranded)}
    assert await ids(connection_id=str(mirror.active), kind="user") == {
        str(mirror.adele),
        str(mirror.megan),
    }
    refused = await client.get("/api/v1/calendars", params={"kind": "desk"}, headers=auth)
    assert refused.status_code == 422


async def test_one_calendar_and_a_sync_on_request(
    client: httpx.AsyncClient, auth: dict[str, str], mirror: Mirror, runtime: Runtime
) -> None:
    one = await client.get(f"/api/v1/calendars/{mirror.adele}", headers=auth)
    assert one.json()["name"] == "Calendar of adele@contoso.test"

    first = await client.post(f"/api/v1/calendars/{mirror.adele}/sync", headers=auth)
    second = await client.post(f"/api/v1/calendars/{mirror.adele}/sync", headers=auth)

    assert first.status_code == 202, first.text
    assert (first.json()["queued"], second.json()["queued"]) == (True, False)
    assert await _jobs_for(runtime, mirror.adele) == 1
    stranded = await client.post(f"/api/v1/calendars/{mirror.stranded}/sync", headers=auth)
    assert stranded.status_code == 409
    assert stranded.json()["type"] == "/problems/connection-not-ready"
    assert await _jobs_for(runtime, mirror.stranded) == 0


async def test_another_tenant_sees_none_of_them(
    client: httpx.AsyncClient, mirror: Mirror, runtime: Runtime
) -> None:
    tenant = await create_tenant(runtime.uow, runtime.clock, "Initech")
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    other = {"Authorization": f"Bearer {issued.token}"}

    assert (await client.get("/api/v1/calendars", headers=other)).json() == {"calendars": []}
    for method, path in [
        ("GET", f"/api/v1/calendars/{mirror.adele}"),
        ("POST", f"/api/v1/calendars/{mirror.adele}/sync"),
    ]:
        response = await client.request(method, path, headers=other)
        assert response.status_code == 404
        assert response.json()["type"] == "/problems/not-found"


async def test_metrics_export_each_calendars_sync_status(
    client: httpx.AsyncClient, mirror: Mirror
) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    metrics = response.text

    def sample(name: str, calendar: CalendarId) -> float | None:
        labels = (
            f'calendar="{calendar}",connection="{mirror.active}",kind="(user|room)",'
            f'tenant="{mirror.tenant_id}"'
        )
        found = re.search(rf"^{name}\{{{labels}\}} (\S+)$", metrics, re.MULTILINE)
        return None if found is None else float(found.group(2))

    assert sample("calhub_calendar_sync_lag_seconds", mirror.adele) == 42.0
    assert (sample("calhub_calendar_last_sync_timestamp_seconds", mirror.adele) or 0) > 1.7e9
    assert sample("calhub_calendar_last_notification_timestamp_seconds", mirror.adele)
    assert sample("calhub_calendar_consecutive_sync_failures", mirror.room) == 2.0
    assert sample("calhub_calendar_out_of_scope", mirror.megan) == 1.0
    assert sample("calhub_calendar_sync_lag_seconds", mirror.room) is None  # never synced
    active = re.search(r'^calhub_connections\{status="active"\} (\S+)$', metrics, re.MULTILINE)
    assert active is not None
    assert float(active.group(1)) >= 1
    assert "contoso.test" not in metrics  # ids only, no addresses
