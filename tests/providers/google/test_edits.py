"""Join write-back edits on Google: read with the marker, write under If-Match, make a Meet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from calhub.domain.sync.changes import ItemKind
from calhub.providers.base import CalendarRef, EditConflict, InvalidResponse, NotFound
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.provider import GoogleCalendarProvider
from tests.emulators.google.seeds import ADA, BEN, CHLOE
from tests.providers.google.conftest import at, insert

BEN_CALENDAR = CalendarRef(BEN)
Api = Callable[[str], httpx.AsyncClient]


async def meeting(api: Api, **extra: Any) -> dict[str, Any]:
    return await insert(
        api(BEN), BEN, summary="Review", description="Agenda", location="Atlas",
        start=at(3, 9), end=at(3, 10), attendees=[{"email": CHLOE}], **extra,
    )  # fmt: skip


async def test_read_event_gives_what_a_join_decision_needs(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    event = await meeting(api)
    read = await provider.read_event(BEN_CALENDAR, event["id"])
    assert read.provider_event_id == event["id"]
    assert read.kind is ItemKind.SINGLE
    assert read.is_organizer
    assert not read.is_cancelled
    assert (read.body, read.body_format, read.location) == ("Agenda", "text", "Atlas")
    assert read.change_key == event["etag"]
    assert read.organizer_email == BEN
    assert read.join_marker is None
    assert read.online_meeting_url is None


async def test_write_body_sets_the_marker_and_answers_the_new_etag(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    event = await meeting(api)
    etag = await provider.write_body(
        BEN_CALENDAR, event["id"], body="<p>Join: https://meet.example</p>", body_format="html",
        join_marker="v1:abc", if_match=event["etag"],
    )  # fmt: skip
    assert etag != event["etag"]
    read = await provider.read_event(BEN_CALENDAR, event["id"])
    assert read.change_key == etag
    assert read.join_marker == "v1:abc"
    assert read.body == "<p>Join: https://meet.example</p>"
    assert read.body_format == "html"
    # The marker is private to Ben's copy: Chloe's copy of the meeting does not carry it.
    theirs = await provider.read_event(CalendarRef(CHLOE), event["id"])
    assert theirs.join_marker is None
    assert not theirs.is_organizer


async def test_a_stale_etag_is_an_edit_conflict(provider: GoogleCalendarProvider, api: Api) -> None:
    event = await meeting(api)
    answer = await api(BEN).patch(f"calendars/{BEN}/events/{event['id']}", json={"summary": "x"})
    assert answer.status_code == 200
    with pytest.raises(EditConflict, match="conditionNotMet"):
        await provider.write_body(
            BEN_CALENDAR, event["id"], body="b", body_format="text", join_marker="m",
            if_match=event["etag"],
        )  # fmt: skip
    with pytest.raises(EditConflict):
        await provider.add_online_meeting(
            BEN_CALENDAR, event["id"], backend="google_meet", if_match=event["etag"]
        )


async def test_add_online_meeting_makes_a_meet(provider: GoogleCalendarProvider, api: Api) -> None:
    event = await meeting(api)
    etag = await provider.add_online_meeting(
        BEN_CALENDAR, event["id"], backend="google_meet", if_match=event["etag"]
    )
    read = await provider.read_event(BEN_CALENDAR, event["id"])
    assert read.change_key == etag != event["etag"]
    assert read.online_meeting_url is not None
    assert read.online_meeting_url.startswith("https://meet.google.com/")
    raw = (await api(BEN).get(f"calendars/{BEN}/events/{event['id']}")).json()
    assert raw["hangoutLink"] == read.online_meeting_url


async def test_only_meet_meetings_are_made(provider: GoogleCalendarProvider, api: Api) -> None:
    event = await meeting(api)
    with pytest.raises(ValueError, match="Google Meet meetings only"):
        await provider.add_online_meeting(
            BEN_CALENDAR, event["id"], backend="teams", if_match=event["etag"]
        )


async def test_a_deleted_or_unknown_event_is_not_found(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    event = await meeting(api)
    assert (await api(BEN).delete(f"calendars/{BEN}/events/{event['id']}")).status_code == 204
    with pytest.raises(NotFound, match="gone"):
        await provider.read_event(BEN_CALENDAR, event["id"])
    with pytest.raises(NotFound):
        await provider.read_event(BEN_CALENDAR, "nosuchevent")


async def test_the_emulator_has_no_locale_setting_so_none(
    provider: GoogleCalendarProvider,
) -> None:
    assert await provider.mailbox_locale(BEN) is None


@pytest.mark.parametrize(
    ("answer", "locale"),
    [
        ({"kind": "calendar#setting", "id": "locale", "value": "en_GB"}, "en-GB"),
        ({"kind": "calendar#setting", "id": "locale", "value": "de"}, "de"),
        ({"kind": "calendar#setting", "id": "locale", "value": ""}, None),
        ({"kind": "calendar#setting", "id": "locale"}, None),
    ],
)
async def test_the_locale_setting_as_a_locale_tag(
    make_client: Callable[..., GoogleClient], answer: dict[str, Any], locale: str | None
) -> None:
    seen: list[str] = []

    def settings(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=answer)

    provider = GoogleCalendarProvider(
        make_client(transport=httpx.MockTransport(settings)), admin=ADA
    )
    try:
        assert await provider.mailbox_locale(BEN) == locale
    finally:
        await provider.close()
    assert seen == ["/calendar/v3/users/me/settings/locale"]


async def test_a_patch_answer_without_an_etag_is_an_invalid_response(
    make_client: Callable[..., GoogleClient],
) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"id": "e"}))
    provider = GoogleCalendarProvider(make_client(transport=transport), admin=ADA)
    try:
        with pytest.raises(InvalidResponse, match="no etag"):
            await provider.write_body(
                BEN_CALENDAR, "e", body="b", body_format="text", join_marker="m", if_match='"1"'
            )
    finally:
        await provider.close()
