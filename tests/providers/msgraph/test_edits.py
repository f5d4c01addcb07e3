"""The join write-back's edits through ``MicrosoftGraphProvider`` on the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from calhub.domain.clock import FixedClock
from calhub.domain.sync.changes import ItemKind
from calhub.providers.base import CalendarRef, EditConflict, NotFound
from calhub.providers.msgraph.client import GraphClient
from calhub.providers.msgraph.provider import MicrosoftGraphProvider
from tests.emulators.graph.fixtures import START
from tests.providers.msgraph.test_provider import at, create

ADELE = CalendarRef("adele@contoso.test")


@pytest.fixture
async def provider(client: GraphClient) -> AsyncIterator[MicrosoftGraphProvider]:
    graph = MicrosoftGraphProvider(client, clock=FixedClock(START))
    yield graph
    await graph.close()


async def test_reads_what_a_join_decision_needs(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    event_id = await create(
        emulator,
        subject="Plan",
        start=at(3, 9),
        end=at(3, 10),
        location={"displayName": "@webex"},
        body={"contentType": "text", "content": "Agenda"},
    )
    event = await provider.read_event(ADELE, event_id)
    assert (event.kind, event.is_organizer, event.is_cancelled) == (ItemKind.SINGLE, True, False)
    # Graph answers in HTML unless asked otherwise, whatever the body was written in.
    assert (event.location, event.body_format) == ("@webex", "html")
    assert "<div>Agenda</div>" in event.body
    assert event.organizer_email == "adele@contoso.test"
    assert event.join_marker is None
    assert event.change_key


async def test_writes_body_and_marker_only_over_the_change_key_read(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    event_id = await create(emulator, subject="Plan", start=at(3, 9), end=at(3, 10))
    read = await provider.read_event(ADELE, event_id)
    written = await provider.write_body(
        ADELE,
        event_id,
        body="<p>Join here</p>",
        body_format="html",
        join_marker="v1;@webex;abc",
        if_match=read.change_key,
    )
    again = await provider.read_event(ADELE, event_id)
    assert again.change_key == written != read.change_key
    assert "Join here" in again.body
    assert again.join_marker == "v1;@webex;abc"
    with pytest.raises(EditConflict):  # the key read before the write is stale now
        await provider.write_body(
            ADELE,
            event_id,
            body="<p>Other</p>",
            body_format="html",
            join_marker="v1;@webex;def",
            if_match=read.change_key,
        )
    assert "Join here" in (await provider.read_event(ADELE, event_id)).body


async def test_makes_a_teams_meeting(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    event_id = await create(emulator, subject="Plan", start=at(3, 9), end=at(3, 10))
    read = await provider.read_event(ADELE, event_id)
    assert read.online_meeting_url is None
    await provider.add_online_meeting(ADELE, event_id, backend="teams", if_match=read.change_key)
    after = await provider.read_event(ADELE, event_id)
    assert after.online_meeting_url is not None
    assert after.online_meeting_url.startswith("https://teams.microsoft.com/l/meetup-join/")


async def test_a_deleted_event_is_not_found(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    event_id = await create(emulator, subject="Plan", start=at(3, 9), end=at(3, 10))
    assert (await emulator.delete(f"/v1.0/users/adele@contoso.test/events/{event_id}")).is_success
    with pytest.raises(NotFound):
        await provider.read_event(ADELE, event_id)


async def test_reads_the_mailbox_language(
    provider: MicrosoftGraphProvider, emulator: httpx.AsyncClient
) -> None:
    response = await emulator.patch(
        "/v1.0/users/adele@contoso.test/mailboxSettings",
        json={"language": {"locale": "de-DE"}},
    )
    assert response.is_success, response.text
    assert await provider.mailbox_locale("adele@contoso.test") == "de-DE"
