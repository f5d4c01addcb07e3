"""Convergence under faults (issue 4, "Proof"): the Graph emulator, one API/intake process and
three worker processes on one PostgreSQL; 200 mailboxes and rooms connected through the admin
consent; a storm of 5,000 Outlook-like changes with duplicated (30%), dropped (5%) and delayed
notifications, 10% 429s and 5% 5xx, one expired delta token, one removed subscription and one
worker killed with SIGKILL and restarted mid-storm. Once things settle, calhub's mirror equals
Graph for every calendar, instance by instance, and no calendar was ever worked on by two jobs
at once (checked in Procrastinate's own job events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from calhub.bootstrap import bootstrap
from tests.scenarios.cluster import (
    app_graph,
    connect,
    control_settings,
    running_cluster,
)
from tests.scenarios.convergence import (
    calm,
    differences_after_settling,
    overlapping_jobs,
    wait_for_first_sync,
)
from tests.scenarios.storm import GraphCalendars, Storm, call

TENANT = "0c5b1f3e-4d2a-4b7c-9e8f-7a6b5c4d3e2f"
APP_ID, APP_SECRET = "3f1e2d3c-b4a5-4697-8879-6a5b4c3d2e1f", "storm-secret"
USERS, ROOMS = 150, 50
CHANGES = 5_000
SETTLE_S = 300


def _seed() -> dict[str, Any]:
    users = [
        {
            "id": f"5e0a0000-0000-4000-8000-{n:012d}",
            "userPrincipalName": f"user{n:03d}@storm.test",
            "displayName": f"User {n}",
        }
        for n in range(USERS)
    ]
    rooms = [
        {
            "id": f"5e0b0000-0000-4000-8000-{n:012d}",
            "emailAddress": f"room{n:02d}@storm.test",
            "displayName": f"Room {n}",
            "capacity": 8,
        }
        for n in range(ROOMS)
    ]
    return {
        "tenants": [
            {
                "id": TENANT,
                "domain": "storm.test",
                "apps": [{"client_id": APP_ID, "client_secret": APP_SECRET, "consent": "granted"}],
                "access_policy": None,
                "users": users,
                "rooms": rooms,
                "events": [],
            }
        ]
    }


def _mailboxes() -> list[str]:
    return [f"user{n:03d}@storm.test" for n in range(USERS)] + [
        f"room{n:02d}@storm.test" for n in range(ROOMS)
    ]


@pytest.mark.slow
async def test_mirror_converges_after_a_storm_with_faults_and_a_killed_worker(
    tmp_path: Path, fresh_database_url: str
) -> None:
    with running_cluster(tmp_path, fresh_database_url, _seed(), workers=3) as cluster:
        settings = control_settings(cluster, fresh_database_url, tmp_path)
        async with bootstrap(settings) as runtime:
            tenant_id = await connect(runtime, cluster, APP_ID, APP_SECRET, "storm.test")
            calendars = await wait_for_first_sync(runtime, tenant_id, USERS + ROOMS)
            graph = await app_graph(cluster, TENANT, APP_ID, APP_SECRET)
            control = httpx.AsyncClient(
                base_url=f"{cluster.emulator_origin}/_emulator/", verify=cluster.tls()
            )
            faults = {
                "duplicate_notifications": 0.3,
                "drop_notifications": 0.05,
                "notification_delay_ms": [0, 3000],
                "throttle_rate": 0.10,
                "error_rate": 0.05,
            }
            assert (await control.post("faults", json=faults)).status_code == 200
            subscriptions = await call(graph, "GET", "subscriptions")
            removed_subscription = subscriptions.json()["value"][0]["id"]
            start = runtime.clock.now()
            provider = GraphCalendars(graph, start)
            storm = Storm(provider, _mailboxes(), start=start)

            async def mid_storm(done: int) -> None:
                if done == CHANGES // 4:
                    cluster.kill("worker0")  # mid-job, mid-transaction: nothing may be lost
                    cluster.start("worker0-restarted", "worker")
                elif done == CHANGES // 2:
                    expired = await control.post("mailboxes/user007@storm.test/expire-delta")
                    assert expired.status_code in (200, 204), expired.text
                    gone = await control.post(f"subscriptions/{removed_subscription}/remove")
                    assert gone.status_code in (200, 204), gone.text

            await storm.run(CHANGES, concurrency=8, on_progress=mid_storm)
            assert (await control.post("faults", json=calm(faults))).status_code == 200

            differing = await differences_after_settling(runtime, provider, calendars, SETTLE_S)
            overlaps = await overlapping_jobs(runtime)
            await graph.aclose()
            await control.aclose()

        assert sum(storm.applied.values()) == CHANGES
        assert differing == {}, f"mirror differs from Graph for {len(differing)} calendars"
        assert overlaps == []
        assert "Traceback" not in cluster.log("api")
