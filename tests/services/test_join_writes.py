"""Join write-back end to end on the Graph emulator and PostgreSQL: a sync queues the write, a
drain carries it out, and the invite in Outlook ends up with exactly one join block."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calhub.domain.calendars import Calendar
from calhub.domain.ids import TenantId
from calhub.domain.joinlinks.backends import JitsiRooms, WebexPersonalRoom
from calhub.domain.joinlinks.keywords import DEFAULT_KEYWORDS, KeywordRule
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.providers.msgraph.edits import JOIN_MARKER_PROPERTY
from calhub.providers.msgraph.provider import MicrosoftGraphProvider
from calhub.services.calendar_sync import sync_calendar_job
from calhub.services.context import HubContext
from calhub.services.discovery import discover_calendars
from calhub.services.jobs import DRAIN_JOIN_WRITES_TASK
from calhub.services.join_writes import drain_join_writes
from calhub.storage.repositories.join_writes import JoinWriteState
from calhub.storage.unit_of_work import UnitOfWorkFactory
from tests.emulators.graph.seeds import ADELE
from tests.hub_fixtures import RecordingJobQueue, connect_contoso
from tests.storage.factories import add_tenant

MAILBOX = "/v1.0/users/adele@contoso.test"
PERSONAL_ROOMS = JoinSettings(webex_personal_room=WebexPersonalRoom(site="contoso"))
MARKER_EXPAND = f"$expand=singleValueExtendedProperties($filter=id eq '{JOIN_MARKER_PROPERTY}')"


class Invites:
    """Adele's calendar as she edits it in Outlook, and calhub syncing and draining it."""

    def __init__(self, hub: HubContext, outlook: httpx.AsyncClient, tenant_id: TenantId) -> None:
        self.hub, self.outlook, self.tenant_id = hub, outlook, tenant_id
        self.calendar: Calendar | None = None

    async def settings(self, settings: JoinSettings) -> None:
        async with self.hub.uow() as uow:
            await uow.join_settings.put(self.tenant_id, settings, self.hub.clock.now())
            await uow.commit()

    async def create(self, location: str, body: str = "<p>Agenda: budget</p>", **more: Any) -> str:
        response = await self.outlook.post(
            f"{MAILBOX}/events",
            json={
                "subject": "Budget sync",
                "start": {"dateTime": "2026-03-03T10:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2026-03-03T11:00:00", "timeZone": "UTC"},
                "location": {"displayName": location},
                "body": {"contentType": "html", "content": body},
                **more,
            },
        )
        assert response.status_code == 201, response.text
        event_id: str = response.json()["id"]
        return event_id

    async def edit(self, event_id: str, **patch: Any) -> None:
        response = await self.outlook.patch(f"{MAILBOX}/events/{event_id}", json=patch)
        assert response.is_success, response.text

    async def read(self, event_id: str) -> dict[str, Any]:
        response = await self.outlook.get(f"{MAILBOX}/events/{event_id}?{MARKER_EXPAND}")
        assert response.is_success, response.text
        event: dict[str, Any] = response.json()
        return event

    async def body(self, event_id: str) -> str:
        content: str = (await self.read(event_id))["body"]["content"]
        return content

    async def sync(self) -> int:
        assert self.calendar is not None
        result = await sync_calendar_job(self.hub, self.tenant_id, self.calendar.id)
        assert result.outcome is not None, result
        return result.outcome.join_writes

    async def drain(self) -> int:
        return await drain_join_writes(self.hub)

    async def sync_and_drain(self) -> int:
        queued = await self.sync()
        await self.drain()
        return queued

    async def writes(self, event_id: str) -> list[Any]:
        assert self.calendar is not None
        async with self.hub.uow() as uow:
            event = await uow.events.get_by_provider_id(self.tenant_id, self.calendar.id, event_id)
            assert event is not None
            return await uow.join_writes.for_event(self.tenant_id, event.id)

    async def mirrored(self, event_id: str) -> Any:
        assert self.calendar is not None
        async with self.hub.uow() as uow:
            return await uow.events.get_by_provider_id(self.tenant_id, self.calendar.id, event_id)


@pytest.fixture
async def invites(
    hub: HubContext, uow_factory: UnitOfWorkFactory, outlook: httpx.AsyncClient
) -> Invites:
    tenant = await add_tenant(uow_factory)
    connection = await connect_contoso(hub, tenant.id)
    await discover_calendars(hub, tenant.id, connection.id)
    async with hub.uow() as uow:
        found = await uow.calendars.list(tenant.id, connection_id=connection.id)
    invites = Invites(hub, outlook, tenant.id)
    invites.calendar = next(c for c in found if c.provider_calendar_id == ADELE)
    await invites.sync()  # the seeded calendar, before the test's own edits
    await invites.drain()
    return invites


def blocks_in(body: str) -> int:
    return body.count("joinsvc:processed")


async def test_a_keyword_invite_gets_one_block_and_the_join_is_stored(invites: Invites) -> None:
    await invites.settings(PERSONAL_ROOMS)
    event_id = await invites.create("@webex")

    assert await invites.sync() == 1
    assert isinstance(invites.hub.jobs, RecordingJobQueue)
    assert DRAIN_JOIN_WRITES_TASK in [name for name, _ in invites.hub.jobs.take()]
    assert await invites.drain() == 1

    event = await invites.read(event_id)
    body = event["body"]["content"]
    assert blocks_in(body) == 1
    assert "https://contoso.webex.com/meet/adele" in body
    assert "Agenda: budget" in body  # the organizer's text is kept
    assert event["location"]["displayName"] == "@webex"  # Location is left as typed
    [marker] = event["singleValueExtendedProperties"]
    assert marker["value"].startswith("v1;@webex;")
    [write] = await invites.writes(event_id)
    assert write.state is JoinWriteState.DONE
    assert write.written_change_key == event["changeKey"]

    # calhub's own edit comes back through the sync: recognised, not acted on.
    assert await invites.sync() == 0
    mirrored = await invites.mirrored(event_id)
    assert mirrored.join is not None
    assert mirrored.join.join_url == "https://contoso.webex.com/meet/adele"
    assert mirrored.join.keyword == "@webex"


async def test_reruns_and_reschedules_keep_exactly_one_block(invites: Invites) -> None:
    await invites.settings(PERSONAL_ROOMS)
    event_id = await invites.create("@webex")
    await invites.sync_and_drain()
    written = await invites.read(event_id)

    async with invites.hub.uow() as uow:  # a decision replayed, as after a crash
        mirrored = await invites.mirrored(event_id)
        assert invites.calendar is not None
        await uow.join_writes.add(
            invites.tenant_id,
            invites.calendar.id,
            [(mirrored.id, event_id)],
            invites.hub.clock.now(),
        )
        await uow.commit()
    await invites.drain()
    assert (await invites.read(event_id))["changeKey"] == written["changeKey"]  # no second write

    await invites.edit(
        event_id,
        start={"dateTime": "2026-03-04T14:00:00", "timeZone": "UTC"},
        end={"dateTime": "2026-03-04T15:00:00", "timeZone": "UTC"},
    )
    assert await invites.sync_and_drain() == 0
    assert blocks_in(await invites.body(event_id)) == 1


async def test_removing_the_keyword_removes_the_block(invites: Invites) -> None:
    await invites.settings(PERSONAL_ROOMS)
    event_id = await invites.create("@webex")
    await invites.sync_and_drain()

    await invites.edit(event_id, location={"displayName": "Room 4"})
    assert await invites.sync_and_drain() == 1

    body = await invites.body(event_id)
    assert blocks_in(body) == 0
    assert "webex.com" not in body
    assert "Agenda: budget" in body
    assert await invites.sync() == 0  # calhub's removal, synced back
    assert (await invites.mirrored(event_id)).join is None


async def test_a_changed_keyword_replaces_the_block(invites: Invites) -> None:
    await invites.settings(
        JoinSettings(
            keywords=DEFAULT_KEYWORDS.with_rule(KeywordRule("jitsi", "jitsi", "jitsi")),
            webex_personal_room=WebexPersonalRoom(site="contoso"),
            jitsi=JitsiRooms("meet.contoso.test"),
        )
    )
    event_id = await invites.create("@webex")
    await invites.sync_and_drain()

    await invites.edit(event_id, location={"displayName": "@jitsi"})
    await invites.sync_and_drain()

    body = await invites.body(event_id)
    assert blocks_in(body) == 1
    assert "https://meet.contoso.test/" in body
    assert "webex.com" not in body


async def test_a_concurrent_edit_is_read_again_and_kept(
    invites: Invites, monkeypatch: pytest.MonkeyPatch
) -> None:
    await invites.settings(PERSONAL_ROOMS)
    event_id = await invites.create("@webex")
    await invites.sync()
    real_write = MicrosoftGraphProvider.write_body
    interfered: list[bool] = []

    async def write_after_the_organizer(self: MicrosoftGraphProvider, *args: Any, **kw: Any) -> str:
        if not interfered:  # Adele edits the invite between calhub's read and its write
            interfered.append(True)
            await invites.edit(event_id, subject="Budget sync (moved agenda)")
        return await real_write(self, *args, **kw)

    monkeypatch.setattr(MicrosoftGraphProvider, "write_body", write_after_the_organizer)
    await invites.drain()

    event = await invites.read(event_id)
    assert event["subject"] == "Budget sync (moved agenda)"
    assert blocks_in(event["body"]["content"]) == 1
    [write] = await invites.writes(event_id)
    assert write.state is JoinWriteState.DONE


async def test_a_keyword_on_one_occurrence_is_ignored(invites: Invites) -> None:
    await invites.settings(PERSONAL_ROOMS)
    series_id = await invites.create(
        "Room 4",
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-03-03", "numberOfOccurrences": 3},
        },
    )
    await invites.sync_and_drain()
    instances = await invites.outlook.get(
        f"{MAILBOX}/events/{series_id}/instances"
        "?startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-03-10T00:00:00Z"
    )
    second = instances.json()["value"][1]["id"]
    await invites.edit(second, location={"displayName": "@webex"})

    assert await invites.sync_and_drain() == 0
    assert blocks_in(await invites.body(second)) == 0
    exception = await invites.mirrored(second)
    assert exception.join is None


async def test_an_unconfigured_backend_fails_the_write_and_leaves_the_invite(
    invites: Invites,
) -> None:
    event_id = await invites.create("@webex")  # no Webex site configured
    before = await invites.body(event_id)
    await invites.sync_and_drain()

    assert await invites.body(event_id) == before
    [write] = await invites.writes(event_id)
    assert write.state is JoinWriteState.FAILED
    assert write.outcome is not None
    assert "not configured" in write.outcome


async def test_the_block_speaks_the_organizers_language(invites: Invites) -> None:
    await invites.settings(PERSONAL_ROOMS)
    response = await invites.outlook.patch(
        f"{MAILBOX}/mailboxSettings", json={"language": {"locale": "de-DE"}}
    )
    assert response.is_success
    event_id = await invites.create("@webex")
    await invites.sync_and_drain()

    body = await invites.body(event_id)
    assert "Am Meeting teilnehmen" in body
    assert "Join the meeting" not in body


async def test_teams_keyword_makes_a_teams_meeting(invites: Invites) -> None:
    await invites.settings(
        JoinSettings(keywords=DEFAULT_KEYWORDS.with_rule(KeywordRule("teams", "teams", "teams")))
    )
    event_id = await invites.create("@teams")
    await invites.sync_and_drain()

    event = await invites.read(event_id)
    join_url = event["onlineMeeting"]["joinUrl"]
    assert event["isOnlineMeeting"] is True
    assert blocks_in(event["body"]["content"]) == 1
    await invites.sync()
    mirrored = await invites.mirrored(event_id)
    assert mirrored.join is not None
    assert (mirrored.join.provider, mirrored.join.keyword) == ("teams", "@teams")
    assert mirrored.join.join_url is not None  # canonical form: context keys lower-cased
    assert mirrored.join.join_url.lower() == join_url.lower()
