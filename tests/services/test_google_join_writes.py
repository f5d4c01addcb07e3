"""Join write-back for Google Workspace, end to end on the live Google emulator and PostgreSQL:
Ben types a keyword into an event's location in Google Calendar, a sync queues the write, a
drain carries it out, and the event ends up with exactly one join block in its description; a
keyword mapped to Google Meet gets the event a Meet conference first (``conferenceData`` create
request), whose link the block then carries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.domain.calendars import Calendar
from calhub.domain.joinlinks.backends import WebexPersonalRoom
from calhub.domain.joinlinks.keywords import DEFAULT_KEYWORDS, KeywordRule
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.emulators.google.access import mint_access_token
from calhub.providers.google.auth import CALENDAR_SCOPES
from calhub.providers.google.edits import GOOGLE_MEET, JOIN_MARKER_PROPERTY
from calhub.services import google_connections
from calhub.services.calendar_sync import sync_calendar_job
from calhub.services.context import HubContext
from calhub.services.discovery import discover_calendars
from calhub.services.join_writes import drain_join_writes
from calhub.services.tenants import create_tenant
from tests.emulators.google.seeds import BEN, NORTHWIND, SERVICE_ACCOUNT
from tests.services.google_world import LiveGoogle, northwind_credentials

BLOCK = "joinsvc:processed"


class GoogleInvites:
    """Ben's calendar as he edits it in Google Calendar, and calhub syncing and draining it."""

    def __init__(self, hub: HubContext, calendar: Calendar, http: httpx.AsyncClient) -> None:
        self.hub, self.calendar, self.http = hub, calendar, http

    async def settings(self, settings: JoinSettings) -> None:
        async with self.hub.uow() as uow:
            await uow.join_settings.put(self.calendar.tenant_id, settings, self.hub.clock.now())
            await uow.commit()

    async def create(self, location: str) -> str:
        start = self.hub.clock.now().replace(microsecond=0) + timedelta(days=1)
        answer = await self.http.post(
            f"calendars/{BEN}/events",
            json={
                "summary": "Budget sync",
                "location": location,
                "description": "Agenda: budget",
                "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            },
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["id"])

    async def read(self, event_id: str) -> dict[str, Any]:
        answer = await self.http.get(f"calendars/{BEN}/events/{event_id}")
        assert answer.status_code == 200, answer.text
        event: dict[str, Any] = answer.json()
        return event

    async def sync_and_drain(self) -> int:
        result = await sync_calendar_job(self.hub, self.calendar.tenant_id, self.calendar.id)
        assert result.outcome is not None, result
        await drain_join_writes(self.hub)
        return result.outcome.join_writes

    async def mirrored_join(self, event_id: str) -> Any:
        async with self.hub.uow() as uow:
            event = await uow.events.get_by_provider_id(
                self.calendar.tenant_id, self.calendar.id, event_id
            )
        assert event is not None
        return event.join


@pytest.fixture
async def invites(google_hub: HubContext, live_google: LiveGoogle) -> AsyncIterator[GoogleInvites]:
    tenant_id = (await create_tenant(google_hub.uow, google_hub.clock, "Northwind")).id
    outcome = await google_connections.create_google_connection(
        google_hub, tenant_id, northwind_credentials()
    )
    await discover_calendars(google_hub, tenant_id, outcome.connection.id)
    async with google_hub.uow() as uow:
        found = await uow.calendars.list(tenant_id, connection_id=outcome.connection.id)
    ben = next(c for c in found if c.provider_calendar_id == BEN)
    token = mint_access_token(live_google.state, NORTHWIND, SERVICE_ACCOUNT, BEN, CALENDAR_SCOPES)
    async with httpx.AsyncClient(
        base_url=f"{live_google.origin}/calendar/v3/",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        invites = GoogleInvites(google_hub, ben, http)
        await invites.sync_and_drain()  # the seeded calendar, before the test's own edits
        yield invites


async def test_a_keyword_for_google_meet_gets_a_meet_conference_and_one_block(
    invites: GoogleInvites,
) -> None:
    keywords = DEFAULT_KEYWORDS.with_rule(KeywordRule("gmeet", GOOGLE_MEET, GOOGLE_MEET))
    await invites.settings(JoinSettings(keywords=keywords))
    event_id = await invites.create("@gmeet")

    assert await invites.sync_and_drain() == 1  # asks Google for the conference
    await invites.sync_and_drain()  # the event now has it: the block is written
    await invites.sync_and_drain()  # and a third pass changes nothing

    event = await invites.read(event_id)
    meet_link = event["hangoutLink"]
    assert event["conferenceData"]["conferenceSolution"]["key"]["type"] == "hangoutsMeet"
    assert event["description"].count(BLOCK) == 1
    assert meet_link in event["description"]
    assert event["description"].startswith("Agenda: budget")  # Ben's own words are kept
    assert JOIN_MARKER_PROPERTY in event["extendedProperties"]["private"]
    join = await invites.mirrored_join(event_id)
    assert join is not None
    assert (join.provider, join.keyword, join.join_url) == (GOOGLE_MEET, "@gmeet", meet_link)


async def test_a_webex_keyword_on_a_google_event_gets_the_personal_room_once(
    invites: GoogleInvites,
) -> None:
    await invites.settings(JoinSettings(webex_personal_room=WebexPersonalRoom(site="northwind")))
    event_id = await invites.create("@webex")

    await invites.sync_and_drain()
    await invites.sync_and_drain()

    event = await invites.read(event_id)
    assert event["description"].count(BLOCK) == 1
    assert "https://northwind.webex.com/meet/ben" in event["description"]
    assert "hangoutLink" not in event
