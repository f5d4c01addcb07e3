"""Convergence under faults for Google Workspace (issue 7, "Connection and sync"): the Google
emulator, one API/intake process and three worker processes on one PostgreSQL; 200 users and
rooms connected through a service account with domain-wide delegation; the Microsoft scenario's
storm of 5,000 changes, played by the users in Google Calendar, with its fault mix: duplicated
(30%), dropped (5%) and delayed push messages, 10% rate-limit refusals (Google's 403 and 429)
and 5% 5xx, one expired sync token (410 ``fullSyncRequired``) and one worker killed with SIGKILL
and restarted mid-storm. Once things settle, calhub's mirror equals Google Calendar for every
calendar, instance by instance, and no calendar was worked on by two jobs at once.

A dropped push message is lost without a word (Google has no ``missed`` lifecycle event), so the
calendars whose last message was dropped converge through the safety net's checks a minute or
two after their last push (``services.calendar_sync.sync_quiet_calendars``). Google has no
lifecycle notifications either, so the Microsoft scenario's removed subscription has no
counterpart here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from calhub.bootstrap import Runtime, bootstrap
from calhub.domain.ids import TenantId
from calhub.services.google_connections import create_google_connection
from calhub.services.providers import GoogleCredentials
from calhub.services.tenants import create_tenant
from tests.emulators.google.seeds import delegated_service_account, key_file
from tests.scenarios.cluster import control_settings, running_cluster
from tests.scenarios.convergence import (
    calm,
    differences_after_settling,
    overlapping_jobs,
    wait_for_first_sync,
)
from tests.scenarios.google_calendars import GoogleCalendars
from tests.scenarios.storm import Storm

DOMAIN = "gstorm.test"
SERVICE_ACCOUNT = "calhub-storm@gstorm-test.iam.gserviceaccount.com"
ADMIN = f"user000@{DOMAIN}"
USERS, ROOMS = 150, 50
CHANGES = 5_000
SETTLE_S = 300


def _seed() -> dict[str, Any]:
    return {
        "customers": [
            {
                "id": "C0gst0rm",
                "domain": DOMAIN,
                "service_accounts": [delegated_service_account(SERVICE_ACCOUNT)],
                "users": [
                    {
                        "email": f"user{n:03d}@{DOMAIN}",
                        "name": f"User {n}",
                        "timeZone": "UTC",
                        "isAdmin": n == 0,
                    }
                    for n in range(USERS)
                ],
                "buildings": [
                    {"buildingId": "GS-1", "buildingName": "Storm House", "floorNames": ["1"]}
                ],
                "resources": [
                    {
                        "resourceId": f"room{n:02d}",
                        "resourceName": f"Room {n}",
                        "resourceCategory": "CONFERENCE_ROOM",
                        "capacity": 8,
                        "buildingId": "GS-1",
                    }
                    for n in range(ROOMS)
                ],
                "events": [],
            }
        ]
    }


def _mailboxes() -> list[str]:
    return [f"user{n:03d}@{DOMAIN}" for n in range(USERS)] + [
        f"c_room{n:02d}@resource.calendar.google.com" for n in range(ROOMS)
    ]


async def _connect(runtime: Runtime, key: dict[str, str]) -> TenantId:
    """What an admin does: give calhub the service account's key and the administrator."""
    tenant = await create_tenant(runtime.uow, runtime.clock, DOMAIN)
    outcome = await create_google_connection(
        runtime.hub, tenant.id, GoogleCredentials(key, ADMIN), domain=DOMAIN
    )
    assert outcome.delegation.granted, outcome.delegation.message
    return tenant.id


@pytest.mark.slow
async def test_google_mirror_converges_after_a_storm_with_faults_and_a_killed_worker(
    tmp_path: Path, fresh_database_url: str
) -> None:
    with running_cluster(
        tmp_path, fresh_database_url, _seed(), workers=3, emulator="google"
    ) as cluster:
        settings = control_settings(cluster, fresh_database_url, tmp_path, emulator="google")
        key = key_file(token_uri=f"{cluster.emulator_origin}/token", client_email=SERVICE_ACCOUNT)
        async with bootstrap(settings) as runtime:
            tenant_id = await _connect(runtime, key)
            calendars = await wait_for_first_sync(runtime, tenant_id, USERS + ROOMS)
            start = runtime.clock.now()
            google = GoogleCalendars(cluster.emulator_origin, key, ADMIN, start, cluster.tls())
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
            storm = Storm(google, _mailboxes(), start=start)

            async def mid_storm(done: int) -> None:
                if done == CHANGES // 4:
                    cluster.kill("worker0")  # mid-job, mid-transaction: nothing may be lost
                    cluster.start("worker0-restarted", "worker")
                elif done == CHANGES // 2:
                    expired = await control.post(f"calendars/user007@{DOMAIN}/expire-sync-tokens")
                    assert expired.status_code in (200, 204), expired.text

            await storm.run(CHANGES, concurrency=8, on_progress=mid_storm)
            assert (await control.post("faults", json=calm(faults))).status_code == 200

            differing = await differences_after_settling(runtime, google, calendars, SETTLE_S)
            overlaps = await overlapping_jobs(runtime)
            await google.aclose()
            await control.aclose()

        assert sum(storm.applied.values()) == CHANGES
        assert differing == {}, f"mirror differs from Google for {len(differing)} calendars"
        assert overlaps == []
        assert "Traceback" not in cluster.log("api")
