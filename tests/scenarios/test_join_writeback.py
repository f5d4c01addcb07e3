"""Join write-back survives SIGKILL (issue 5, "Write-back"): the Graph emulator, one API/intake
process and two worker processes on one PostgreSQL; an organizer creates keyword invites while
Graph answers slowly, and every worker is killed with SIGKILL while join writes are in flight
(claimed, between the decision and the write, or with the write sent but not recorded). New
workers take over; every invite ends with exactly one join block, its marker property naming it,
and every queued write finished.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from calhub.bootstrap import Runtime, bootstrap
from calhub.domain.ids import TenantId
from calhub.domain.joinlinks.backends import JitsiRooms
from calhub.domain.joinlinks.keywords import KeywordRule, KeywordTable
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.providers.msgraph.edits import JOIN_MARKER_PROPERTY
from calhub.services.jobs import defer_join_drain
from tests.scenarios.cluster import app_graph, connect, control_settings, running_cluster
from tests.scenarios.storm import call
from tests.scenarios.test_convergence import APP_ID, APP_SECRET, TENANT

ORGANIZER = "organizer@storm.test"
INVITES = 12
SETTLE_S = 180
MARKER_EXPAND = f"$expand=singleValueExtendedProperties($filter=id eq '{JOIN_MARKER_PROPERTY}')"


def _seed() -> dict[str, Any]:
    return {
        "tenants": [
            {
                "id": TENANT,
                "domain": "storm.test",
                "apps": [{"client_id": APP_ID, "client_secret": APP_SECRET, "consent": "granted"}],
                "access_policy": None,
                "users": [
                    {
                        "id": "5e0a0000-0000-4000-8000-000000000001",
                        "userPrincipalName": ORGANIZER,
                        "displayName": "Organizer",
                    }
                ],
                "rooms": [],
                "events": [],
            }
        ]
    }


async def _scalar(runtime: Runtime, sql: str) -> int:
    async with runtime.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _wait_for(runtime: Runtime, sql: str, what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while await _scalar(runtime, sql) == 0:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _invite(number: int) -> dict[str, Any]:
    return {
        "subject": f"Review {number}",
        "start": {"dateTime": f"2026-12-{number + 1:02d}T10:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"2026-12-{number + 1:02d}T11:00:00", "timeZone": "UTC"},
        "location": {"displayName": "@webex"},
        "body": {"contentType": "html", "content": f"<p>Notes {number}</p>"},
    }


async def _create_invites(graph: httpx.AsyncClient) -> list[str]:
    """All at once, so their writes are in flight together rather than one after another."""
    path = f"users/{ORGANIZER}/events"
    creates = (call(graph, "POST", path, json=_invite(number)) for number in range(INVITES))
    responses = await asyncio.gather(*creates)
    assert all(response.status_code == 201 for response in responses), responses
    return [response.json()["id"] for response in responses]


async def _blocks(graph: httpx.AsyncClient, event_id: str) -> tuple[int, str | None]:
    response = await call(graph, "GET", f"users/{ORGANIZER}/events/{event_id}?{MARKER_EXPAND}")
    event = response.json()
    markers = event.get("singleValueExtendedProperties") or [{"value": None}]
    return event["body"]["content"].count("joinsvc:processed"), markers[0]["value"]


async def _room(graph: httpx.AsyncClient, event_id: str) -> str | None:
    response = await call(graph, "GET", f"users/{ORGANIZER}/events/{event_id}")
    found = re.search(r"https://meet\.storm\.test/[a-z0-9]+", response.json()["body"]["content"])
    return None if found is None else found.group(0)


@pytest.mark.slow
async def test_join_writes_are_neither_lost_nor_doubled_when_workers_are_killed(
    tmp_path: Path, fresh_database_url: str
) -> None:
    with running_cluster(tmp_path, fresh_database_url, _seed(), workers=2) as cluster:
        async with bootstrap(control_settings(cluster, fresh_database_url, tmp_path)) as runtime:
            tenant_id = await connect(runtime, cluster, APP_ID, APP_SECRET, "storm.test")
            await _one_time_rooms(runtime, tenant_id)
            await _wait_for(
                runtime,
                "SELECT count(*) FROM calendars WHERE last_synced_at IS NOT NULL",
                "the first sync",
                120,
            )
            graph = await app_graph(cluster, TENANT, APP_ID, APP_SECRET)
            control = httpx.AsyncClient(
                base_url=f"{cluster.emulator_origin}/_emulator/", verify=cluster.tls()
            )
            slow = {"latency_ms": [300, 900]}
            assert (await control.post("faults", json=slow)).status_code == 200
            invites = await _create_invites(graph)

            # Killed as the first write is recorded: the other invites' writes are then at
            # every stage (claimed, decided, sent but not recorded), whatever the machine's speed.
            await _wait_for(
                runtime,
                "SELECT count(*) FROM join_writes WHERE state = 'done'",
                "the first join write",
                120,
            )
            cluster.kill("worker0")
            cluster.kill("worker1")
            unfinished = await _scalar(
                runtime, "SELECT count(*) FROM join_writes WHERE state = 'pending'"
            )
            assert (await control.post("faults", json={"latency_ms": [0, 0]})).status_code == 200
            cluster.start("worker2", "worker")
            cluster.start("worker3", "worker")
            await defer_join_drain(runtime.jobs)  # what the minutely sweep does

            deadline = time.monotonic() + SETTLE_S
            found = {event_id: await _blocks(graph, event_id) for event_id in invites}
            while any(count != 1 for count, _ in found.values()) and time.monotonic() < deadline:
                await asyncio.sleep(1)
                found = {event_id: await _blocks(graph, event_id) for event_id in invites}
            rooms_seen = {event_id: await _room(graph, event_id) for event_id in invites}
            await _wait_for(
                runtime,
                "SELECT CASE WHEN count(*) = 0 THEN 1 ELSE 0 END FROM join_writes "
                "WHERE state <> 'done'",
                "every join write to finish",
                SETTLE_S,
            )
            rooms_after = {event_id: await _room(graph, event_id) for event_id in invites}
            wrote = await _scalar(
                runtime,
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM join_writes "
                "WHERE outcome LIKE 'wrote%' GROUP BY event_id) AS per_event",
            )
            await graph.aclose()
            await control.aclose()

        assert wrote <= 1, "an invite was written twice"
        assert rooms_after == {event_id: rooms_seen.get(event_id) for event_id in invites}
        assert unfinished > 0, "the workers were killed only after every write was done"
        assert {event_id: count for event_id, (count, _) in found.items()} == dict.fromkeys(
            invites, 1
        )
        assert all(marker and marker.startswith("v1;@webex;") for _, marker in found.values())
        assert "Traceback" not in cluster.log("api")


async def _one_time_rooms(runtime: Runtime, tenant_id: TenantId) -> None:
    """``@webex`` makes one-time rooms here: every write would give a new room, so a doubled
    write shows as two "wrote" outcomes or a room that changed after it was written."""
    async with runtime.uow() as uow:
        settings = JoinSettings(
            keywords=KeywordTable((KeywordRule("webex", "jitsi", "jitsi"),)),
            jitsi=JitsiRooms("meet.storm.test"),
        )
        await uow.join_settings.put(tenant_id, settings, runtime.clock.now())
        await uow.commit()
