"""One Button To Push end to end (issue 6, "Proof"): the Graph emulator, ``calhub serve`` and two
``calhub worker`` processes on one PostgreSQL, and ``calhub device simulate`` connected like the
room's device. An organizer types ``@webex`` into Location and invites the room; calhub writes the
join block, the room's device feed shows the meeting with its join details, and the simulated
device gets the join prompt at start − 5 minutes. Moving the meeting before then moves the
prompt; cancelling it after the prompt withdraws it.

The emulator's clock runs at real time here (offset 0), so "start − 5 minutes" is a moment a
few dozen seconds ahead on both sides.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from calhub.bootstrap import Runtime, bootstrap
from calhub.domain.devices import DeviceKind
from calhub.domain.ids import TenantId
from calhub.domain.joinlinks.backends import WebexPersonalRoom
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.services.devices import register_device
from tests.scenarios.cluster import Cluster, app_graph, connect, control_settings, running_cluster
from tests.scenarios.storm import call
from tests.scenarios.test_convergence import APP_ID, APP_SECRET, TENANT
from tests.scenarios.test_join_writeback import _wait_for

ORGANIZER = "organizer@storm.test"
ROOM = "boardroom@storm.test"
LEAD = timedelta(minutes=5)
PROMPT_TOLERANCE_S = 2.0  # the prompt's arrival at the device, against start − lead


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
                        "displayName": "Olga Organizer",
                    }
                ],
                "rooms": [
                    {
                        "id": "5e0a0000-0000-4000-8000-000000000101",
                        "emailAddress": ROOM,
                        "displayName": "Boardroom",
                        "capacity": 10,
                    }
                ],
                "events": [],
            }
        ]
    }


class SimulatedDevice:
    """``calhub device simulate --json`` in its own process; its lines, as they arrive."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[tuple[float, dict[str, Any]]] = []

    @classmethod
    async def start(cls, cluster: Cluster, device_id: str, token: str) -> SimulatedDevice:
        env = cluster.env | {"CALHUB_DEVICE_TOKEN": token}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "calhub",
            "device",
            "simulate",
            "--device",
            device_id,
            "--api",
            cluster.api_base,
            "--json",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return cls(process)

    async def next(
        self, kind: str, timeout_s: float, where: Any = None
    ) -> tuple[float, dict[str, Any]]:
        """The next line of ``kind`` (and matching ``where``), with the wall time it arrived."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"the device printed no {kind!r} in {timeout_s} s: {self.lines[-5:]}"
            try:
                raw = await asyncio.wait_for(self.process.stdout.readline(), left)
            except TimeoutError:
                raise AssertionError(f"no {kind!r} in {timeout_s} s: {self.lines[-5:]}") from None
            assert raw, "the simulated device exited"
            line = json.loads(raw)
            arrived = time.time()
            self.lines.append((arrived, line))
            if line.get("kind") == kind and (where is None or where(line)):
                return arrived, line

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


def _event_body(start: datetime) -> dict[str, Any]:
    end = start + timedelta(minutes=30)
    return {
        "subject": "Quarterly review",
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "location": {"displayName": "@webex"},
        "body": {"contentType": "html", "content": "<p>Numbers</p>"},
        "attendees": [{"emailAddress": {"address": ROOM, "name": "Boardroom"}, "type": "resource"}],
    }


def _joinable(line: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in line["bookings"] if b["DialInfo"]["ConnectMode"] == "OBTP"]


async def _configure(runtime: Runtime, tenant_id: TenantId) -> None:
    async with runtime.uow() as uow:
        settings = JoinSettings(webex_personal_room=WebexPersonalRoom(site="storm"))
        await uow.join_settings.put(tenant_id, settings, runtime.clock.now())
        await uow.commit()


@pytest.mark.slow
async def test_a_room_device_gets_moves_and_loses_the_join_prompt(
    tmp_path: Path, fresh_database_url: str
) -> None:
    with running_cluster(tmp_path, fresh_database_url, _seed(), workers=2) as cluster:
        async with bootstrap(control_settings(cluster, fresh_database_url, tmp_path)) as runtime:
            tenant_id = await connect(runtime, cluster, APP_ID, APP_SECRET, "storm.test")
            await _configure(runtime, tenant_id)
            await _wait_for(
                runtime,
                "SELECT count(*) FROM calendars WHERE kind = 'room' AND last_synced_at IS NOT NULL",
                "the room's first sync",
                120,
            )
            issued = await register_device(
                runtime.hub, tenant_id, kind=DeviceKind.ROOM, calendar=ROOM, name="Boardroom codec"
            )
            device = await SimulatedDevice.start(cluster, str(issued.device.id), issued.token)
            graph = await app_graph(cluster, TENANT, APP_ID, APP_SECRET)
            try:
                await device.next("bookings", 30)
                start = datetime.now(UTC).replace(microsecond=0) + LEAD + timedelta(seconds=30)
                created = await call(
                    graph, "POST", f"users/{ORGANIZER}/events", json=_event_body(start)
                )
                assert created.status_code == 201, created.text
                event_id = created.json()["id"]

                _, feed = await device.next("bookings", 25, where=lambda line: _joinable(line))
                (booking,) = _joinable(feed)
                assert booking["Title"] == "Quarterly review"
                assert booking["MeetingPlatform"] == "Webex"
                assert booking["Time"]["StartTime"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
                assert booking["Time"]["StartTimeBuffer"] == 300
                numbers = [call_["Number"] for call_ in booking["DialInfo"]["Calls"]["Call"]]
                assert any("storm.webex.com" in number for number in numbers), numbers

                moved = start + timedelta(seconds=30)
                patched = await call(
                    graph,
                    "PATCH",
                    f"users/{ORGANIZER}/events/{event_id}",
                    json={key: _event_body(moved)[key] for key in ("start", "end")},
                )
                assert patched.status_code == 200, patched.text
                arrived, prompt = await device.next("prompt", 90)
                fire_at = (moved - LEAD).timestamp()
                assert abs(arrived - fire_at) <= PROMPT_TOLERANCE_S, (arrived - fire_at, prompt)
                assert datetime.fromisoformat(prompt["start"]) == moved
                assert prompt["booking_id"] == booking["Id"]  # the booking moved, same Id
                assert prompt["platform"] == "Webex"
                prompts_before = [line for _, line in device.lines if line.get("kind") == "prompt"]
                assert len(prompts_before) == 1, "the prompt for the first start time still fired"

                deleted = await call(graph, "DELETE", f"users/{ORGANIZER}/events/{event_id}")
                assert deleted.status_code == 204, deleted.text
                _, withdrawn = await device.next("withdrawn", 30)
                assert withdrawn["booking_id"] == booking["Id"]
                # The feed is read again on meeting.cancelled, committed with the withdrawal.
                emptied = [
                    line
                    for _, line in device.lines
                    if line.get("kind") == "bookings" and line["after"] == "meeting.cancelled"
                ]
                if not emptied:
                    emptied = [(await device.next("bookings", 30))[1]]
                assert emptied[-1]["bookings"] == []
            finally:
                await device.stop()
                await graph.aclose()
        assert "Traceback" not in cluster.log("api")
        assert all("Traceback" not in cluster.log(f"worker{n}") for n in range(2))
