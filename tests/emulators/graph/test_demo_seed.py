"""The demo's seed: what a newcomer sees in Graph is a busy, current week with rooms booked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from calhub.emulators.graph.access import mint_token
from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.demo_seed import DEMO_APP_ID, DEMO_TENANT_ID, ROOMS, demo_seed
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState

WEDNESDAY = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)
SATURDAY = datetime(2026, 3, 14, 7, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoGraph:
    client: httpx.AsyncClient
    today: datetime  # midnight UTC of the day the demo started

    async def week(self, address: str) -> list[dict[str, object]]:
        window = {
            "startDateTime": self.today.isoformat(),
            "endDateTime": (self.today + timedelta(days=7)).isoformat(),
            "$top": "100",
        }
        response = await self.client.get(f"/users/{address}/calendarView", params=window)
        assert response.status_code == 200, response.text
        events: list[dict[str, object]] = response.json()["value"]
        return events


@pytest.fixture(params=[WEDNESDAY, SATURDAY], ids=["from-a-wednesday", "from-a-saturday"])
async def demo_graph(request: pytest.FixtureRequest) -> AsyncIterator[DemoGraph]:
    now: datetime = request.param
    state = GraphState(EmulatorClock(now, frozen=True))
    load_seed(state, demo_seed(now))
    tenant = state.tenants[DEMO_TENANT_ID]
    tenant.apps[DEMO_APP_ID].consent = "granted"  # what the demo's admin consent does
    app = create_app(state)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://graph.emu.test/v1.0",
        headers={"Authorization": f"Bearer {mint_token(state, tenant, tenant.apps[DEMO_APP_ID])}"},
    ) as client:
        yield DemoGraph(client, now.replace(hour=0, minute=0))
    await state.subscriptions.close()


async def test_ten_users_and_four_rooms(demo_graph: DemoGraph) -> None:
    users = (await demo_graph.client.get("/users")).json()["value"]
    rooms = (await demo_graph.client.get("/places/microsoft.graph.room")).json()["value"]
    assert len(users) == 10
    assert sorted(room["displayName"] for room in rooms) == sorted(r.name for r in ROOMS)


async def test_the_week_from_today_is_full_of_meetings(demo_graph: DemoGraph) -> None:
    adele = await demo_graph.week("adele@northwind.example")
    subjects = [event["subject"] for event in adele]
    assert subjects.count("Daily stand-up") == 5  # a series: one occurrence per workday
    assert {"Design review", "Budget planning", "Retrospective"} <= set(subjects)
    assert all(event["type"] in ("occurrence", "singleInstance") for event in adele)


async def test_every_room_is_booked_this_week(demo_graph: DemoGraph) -> None:
    for room in ROOMS:
        booked = await demo_graph.week(room.address)
        assert booked, f"{room.name} has no meetings this week"
    boardroom = await demo_graph.week("boardroom@northwind.example")
    assert {event["subject"] for event in boardroom} == {
        "All hands",
        "Budget planning",
        "Project kickoff",  # the @webex meeting whose join prompt the demo shows
    }
