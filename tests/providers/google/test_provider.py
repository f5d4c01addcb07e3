"""``GoogleCalendarProvider`` on the emulator: discovery, sync rounds, channels, verify."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from calhub.domain.calendars import CalendarKind, RoomDetails
from calhub.domain.sync.changes import Change, ItemKind, ProviderEvent, Removal
from calhub.emulators.google.state import GoogleState
from calhub.providers.base import (
    CalendarRef,
    ChangePage,
    CursorInvalid,
    InvalidResponse,
    ProviderError,
    Window,
)
from calhub.providers.google import directory
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.provider import CAPABILITIES, GoogleCalendarProvider
from tests.emulators.google.seeds import (
    ADA,
    BEN,
    CHLOE,
    DEV,
    EMMA,
    ROOM_ATLAS,
    ROOM_BOREAS,
    ROOM_CAIRO,
    SERVICE_ACCOUNT,
)
from tests.providers.google.conftest import FROZEN_NOW, EmulatorTokens, at, insert

BEN_CALENDAR = CalendarRef(BEN)
WINDOW = Window(FROZEN_NOW - timedelta(days=1), FROZEN_NOW + timedelta(days=30))
Api = Callable[[str], httpx.AsyncClient]


async def round_of(
    provider: GoogleCalendarProvider, cursor: str | None, calendar: CalendarRef = BEN_CALENDAR
) -> tuple[dict[str, Change], list[ChangePage]]:
    pages = [page async for page in provider.changes(calendar, cursor=cursor, window=WINDOW)]
    return {c.provider_event_id: c for page in pages for c in page.changes}, pages


def test_capabilities_say_channels_are_replaced_not_renewed() -> None:
    assert CAPABILITIES.renewable_subscriptions is False
    assert CAPABILITIES.series_reported_whole is False
    assert CAPABILITIES.online_meetings == ("google_meet",)
    assert CAPABILITIES.max_subscription_lifetime == timedelta(days=7)


# --- discovery ---------------------------------------------------------------------------------


async def test_discovers_users_and_conference_rooms_with_their_buildings(
    provider: GoogleCalendarProvider, tokens: EmulatorTokens
) -> None:
    found = await provider.discover_calendars()
    users = {c.provider_calendar_id: c for c in found if c.kind is CalendarKind.USER}
    assert set(users) == {ADA, BEN, CHLOE, DEV, EMMA}
    assert users[BEN].name == "Ben Okafor"
    assert users[BEN].owner_email == BEN
    assert all(u.out_of_scope is None for u in users.values())
    rooms = {c.provider_calendar_id: c for c in found if c.kind is CalendarKind.ROOM}
    assert set(rooms) == {ROOM_ATLAS, ROOM_BOREAS, ROOM_CAIRO}  # not the projector
    assert rooms[ROOM_ATLAS].name == "Atlas"
    assert rooms[ROOM_ATLAS].room == RoomDetails(
        capacity=8, building="London Wharf", floor_label="1", bookable=True
    )
    assert rooms[ROOM_CAIRO].room is not None
    assert rooms[ROOM_CAIRO].room.building == "Berlin Hof"
    assert set(tokens.asked) == {ADA}  # the Directory is read as the admin


async def test_discovery_follows_the_directory_pages(
    provider: GoogleCalendarProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory, "PAGE", "2")
    found = await provider.discover_calendars()
    assert len([c for c in found if c.kind is CalendarKind.USER]) == 5
    assert len([c for c in found if c.kind is CalendarKind.ROOM]) == 3
    assert all(c.room is None or c.room.building for c in found)


async def test_named_mailboxes_report_the_ones_out_of_scope(
    provider: GoogleCalendarProvider, tokens: EmulatorTokens
) -> None:
    tokens.refused[CHLOE] = "no such user in the Google Workspace domain"
    found = await provider.discover_calendars(
        mailboxes=["Ben@Northwind.test", CHLOE, "ghost@northwind.test"]
    )
    users = {c.owner_email.lower(): c for c in found if c.kind is CalendarKind.USER}
    assert set(users) == {BEN, CHLOE, "ghost@northwind.test"}
    assert users[BEN].out_of_scope is None
    assert users[BEN].provider_calendar_id == BEN
    assert users[CHLOE].out_of_scope == "no such user in the Google Workspace domain"
    assert users["ghost@northwind.test"].out_of_scope == (
        "ghost@northwind.test is not a user of this Google Workspace domain"
    )
    assert len([c for c in found if c.kind is CalendarKind.ROOM]) == 3


def test_suspended_and_archived_users_are_out_of_scope() -> None:
    raw: dict[str, Any] = {"primaryEmail": "Old@northwind.test", "name": {"fullName": "Old"}}
    suspended = directory._user(raw | {"suspended": True})
    assert suspended.provider_calendar_id == "old@northwind.test"
    assert suspended.out_of_scope == "old@northwind.test is suspended in Google Workspace"
    assert "archived" in (directory._user(raw | {"archived": True}).out_of_scope or "")
    with pytest.raises(InvalidResponse, match="primaryEmail"):
        directory._user({"name": {"fullName": "Nobody"}})


# --- changes -----------------------------------------------------------------------------------


async def test_a_full_round_pages_and_ends_with_a_sync_token(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    ben = api(BEN)
    for day in (3, 4, 5):
        await insert(ben, BEN, summary=f"Day {day}", start=at(day, 9), end=at(day, 10))
    january = {"dateTime": "2026-01-05T09:00:00Z"}
    await insert(ben, BEN, summary="Outside the window", start=january, end=january)
    changes, pages = await round_of(provider, None)
    assert len(pages) == 2  # page_size 2: two, then one (plus the cursor)
    assert [p.next_page is not None for p in pages] == [True, False]
    assert pages[-1].cursor
    assert sorted(c.subject for c in changes.values() if isinstance(c, ProviderEvent)) == [
        "Day 3",
        "Day 4",
        "Day 5",
    ]


async def test_an_incremental_round_reports_what_changed(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    ben = api(BEN)
    keep = await insert(ben, BEN, summary="Keep", start=at(3, 9), end=at(3, 10))
    edit = await insert(ben, BEN, summary="Edit", start=at(4, 9), end=at(4, 10))
    drop = await insert(ben, BEN, summary="Drop", start=at(5, 9), end=at(5, 10))
    weekly = await insert(
        ben, BEN, summary="Weekly", start=at(2, 14), end=at(2, 15),
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"],
    )  # fmt: skip
    _, pages = await round_of(provider, None)
    cursor = pages[-1].cursor

    new = await insert(ben, BEN, summary="New", start=at(6, 9), end=at(6, 10))
    answer = await ben.patch(f"calendars/{BEN}/events/{edit['id']}", json={"summary": "Edited"})
    assert answer.status_code == 200
    assert (await ben.delete(f"calendars/{BEN}/events/{drop['id']}")).status_code == 204
    instance = f"{weekly['id']}_20260309T130000Z"
    assert (await ben.delete(f"calendars/{BEN}/events/{instance}")).status_code == 204

    changes, pages = await round_of(provider, cursor)
    assert pages[-1].cursor
    assert pages[-1].cursor != cursor
    assert keep["id"] not in changes
    assert isinstance(changes[new["id"]], ProviderEvent)
    edited = changes[edit["id"]]
    assert isinstance(edited, ProviderEvent)
    assert edited.subject == "Edited"
    assert changes[drop["id"]] == Removal(drop["id"])
    cancelled = changes[instance]
    assert isinstance(cancelled, ProviderEvent)
    assert cancelled.kind is ItemKind.EXCEPTION
    assert cancelled.is_cancelled
    assert cancelled.series_provider_id == weekly["id"]
    assert cancelled.time_zone == "Europe/Berlin"

    changes, pages = await round_of(provider, pages[-1].cursor)
    assert changes == {}  # nothing since


async def test_an_expired_sync_token_is_an_invalid_cursor(
    provider: GoogleCalendarProvider, control: httpx.AsyncClient
) -> None:
    _, pages = await round_of(provider, None)
    answer = await control.post(f"calendars/{BEN}/expire-sync-tokens")
    assert answer.status_code == 200
    with pytest.raises(CursorInvalid, match="fullSyncRequired"):
        await round_of(provider, pages[-1].cursor)


async def test_a_room_is_read_as_the_admin(
    provider: GoogleCalendarProvider, api: Api, tokens: EmulatorTokens
) -> None:
    room = {"email": ROOM_ATLAS, "resource": True}
    booked = await insert(
        api(BEN), BEN, summary="Planning", start=at(3, 9), end=at(3, 10), attendees=[room]
    )
    tokens.asked.clear()
    changes, _ = await round_of(provider, None, CalendarRef(ROOM_ATLAS))
    assert booked["id"] in changes
    assert set(tokens.asked) == {ADA}


async def test_a_user_calendar_is_read_as_that_user(
    provider: GoogleCalendarProvider, tokens: EmulatorTokens
) -> None:
    await round_of(provider, None, CalendarRef("Chloe@Northwind.test"))
    assert set(tokens.asked) == {CHLOE}


def page_of(*items: Any, **envelope: Any) -> httpx.MockTransport:
    body = {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": list(items)}
    return httpx.MockTransport(lambda _: httpx.Response(200, json=body | envelope))


GOOD = {
    "id": "good",
    "etag": '"1"',
    "status": "confirmed",
    "start": {"dateTime": "2026-03-03T09:00:00"},
    "end": {"dateTime": "2026-03-03T10:00:00"},
}


async def test_unreadable_items_become_problems_not_failures(
    make_client: Callable[..., GoogleClient],
) -> None:
    transport = page_of(
        GOOD,
        {"id": "no-start", "end": {"date": "2026-03-03"}},
        {"id": "wrong-types", "start": {"dateTime": 5}, "end": {"dateTime": []}},
        {"id": "bad-series", "start": {"date": "2026-03-03"}, "end": {"date": "2026-03-04"},
         "recurrence": "RRULE:FREQ=DAILY"},
        "not an object",
        {"start": {"date": "2026-03-03"}},
        nextSyncToken="next",
    )  # fmt: skip
    provider = GoogleCalendarProvider(make_client(transport=transport), admin=ADA)
    try:
        changes, pages = await round_of(provider, "cursor")
    finally:
        await provider.close()
    good = changes["good"]
    assert isinstance(good, ProviderEvent)
    assert good.time_zone == "Europe/Berlin"  # the list's zone
    assert good.start == FROZEN_NOW.replace(day=3, hour=8)
    assert list(changes) == ["good"]
    problems = pages[0].problems
    assert len(problems) == 5
    assert any("no-start" in p for p in problems)
    assert any("not an object" in p for p in problems)
    assert pages[0].cursor == "next"


@pytest.mark.parametrize(
    "envelope",
    [
        {"items": "nope", "nextSyncToken": "t"},
        {"items": [], "nextPageToken": 5},
        {"items": []},  # neither a page token nor a sync token
    ],
)
async def test_a_page_that_cannot_be_read_is_an_invalid_response(
    make_client: Callable[..., GoogleClient], envelope: dict[str, Any]
) -> None:
    provider = GoogleCalendarProvider(make_client(transport=page_of(**envelope)), admin=ADA)
    try:
        with pytest.raises(InvalidResponse):
            await round_of(provider, None)
    finally:
        await provider.close()


async def test_the_first_round_asks_for_the_window_and_later_ones_for_the_token(
    make_client: Callable[..., GoogleClient],
) -> None:
    seen: list[httpx.QueryParams] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params)
        if "pageToken" not in request.url.params:
            return httpx.Response(200, json={"items": [], "nextPageToken": "p2"})
        return httpx.Response(200, json={"items": [], "nextSyncToken": "s2"})

    provider = GoogleCalendarProvider(
        make_client(transport=httpx.MockTransport(answer)), admin=ADA, page_size=50
    )
    try:
        await round_of(provider, None)
        await round_of(provider, "s1")
    finally:
        await provider.close()
    first, second, third, fourth = (dict(p) for p in seen)
    assert first == {
        "maxResults": "50",
        "timeMin": "2026-03-01T08:00:00Z",
        "timeMax": "2026-04-01T08:00:00Z",
    }
    assert second == first | {"pageToken": "p2"}
    assert third == {"maxResults": "50", "syncToken": "s1"}
    assert fourth == third | {"pageToken": "p2"}
    assert "singleEvents" not in first


# --- channels ----------------------------------------------------------------------------------


async def test_subscribe_opens_a_channel_and_unsubscribe_stops_it(
    provider: GoogleCalendarProvider, google_state: GoogleState
) -> None:
    info = await provider.subscribe(
        BEN_CALENDAR,
        notification_url="https://hooks.calhub.test/hooks/google",
        lifecycle_url="https://hooks.calhub.test/hooks/lifecycle",
        client_state="s3cret-state",
        expires_at=FROZEN_NOW + timedelta(days=2),
    )
    channel_id, _, resource_id = info.id.partition("/")
    assert channel_id
    assert resource_id
    assert info.expires_at == FROZEN_NOW + timedelta(days=2)
    live = google_state.channels.summary()
    assert str(live).count(channel_id) >= 1

    await provider.unsubscribe(info.id)
    assert not google_state.channels.stop(SERVICE_ACCOUNT, channel_id, resource_id)
    await provider.unsubscribe(info.id)  # already stopped: nothing to do


async def test_a_room_channel_is_opened_as_the_admin(
    provider: GoogleCalendarProvider, tokens: EmulatorTokens
) -> None:
    tokens.asked.clear()
    info = await provider.subscribe(
        CalendarRef(ROOM_BOREAS),
        notification_url="https://hooks.calhub.test/hooks/google",
        lifecycle_url=None,
        client_state="state",
        expires_at=FROZEN_NOW + timedelta(hours=1),
    )
    assert info.expires_at == FROZEN_NOW + timedelta(hours=1)
    assert set(tokens.asked) == {ADA}


async def test_channels_cannot_be_renewed(provider: GoogleCalendarProvider) -> None:
    with pytest.raises(ProviderError, match="cannot be renewed"):
        await provider.renew("c/r", expires_at=FROZEN_NOW)
    with pytest.raises(ProviderError, match="cannot be renewed"):
        await provider.renew_many(["c/r"], expires_at=FROZEN_NOW)


async def test_unsubscribing_something_that_is_not_a_channel_is_refused(
    provider: GoogleCalendarProvider,
) -> None:
    with pytest.raises(ProviderError, match="not a Google channel"):
        await provider.unsubscribe("graph-subscription-id")


@pytest.mark.parametrize(
    ("channel", "message"),
    [({"id": "x"}, "resourceId"), ({"resourceId": "r", "expiration": "soon"}, "expiration")],
)
async def test_an_unreadable_watch_answer_is_an_invalid_response(
    make_client: Callable[..., GoogleClient], channel: dict[str, Any], message: str
) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=channel))
    provider = GoogleCalendarProvider(make_client(transport=transport), admin=ADA)
    try:
        with pytest.raises(InvalidResponse, match=message):
            await provider.subscribe(
                BEN_CALENDAR, notification_url="https://h.test/", lifecycle_url=None,
                client_state="s", expires_at=FROZEN_NOW + timedelta(days=1),
            )  # fmt: skip
    finally:
        await provider.close()


# --- verify ------------------------------------------------------------------------------------


async def test_verify_says_what_works_in_words(provider: GoogleCalendarProvider) -> None:
    checks = await provider.verify(BEN)
    assert [c.ok for c in checks] == [True, True, True, True]
    assert [c.permission for c in checks] == [
        "calendar, admin.directory.resource.calendar.readonly, admin.directory.user.readonly",
        "calendar",
        "admin.directory.resource.calendar.readonly",
        "admin.directory.user.readonly",
    ]
    assert checks[0].detail.startswith(f"Domain-wide delegation for {BEN}")
    assert checks[1].detail == "Can read calendars (calendar): yes"


async def test_verify_with_revoked_delegation_says_so(
    provider: GoogleCalendarProvider, control: httpx.AsyncClient
) -> None:
    answer = await control.post(
        f"service-accounts/{SERVICE_ACCOUNT}/consent", json={"state": "revoked"}
    )
    assert answer.status_code == 200
    checks = await provider.verify(BEN)
    assert not any(c.ok for c in checks)
    assert all(
        "has not granted (or has withdrawn) domain-wide delegation" in c.detail for c in checks
    )


async def test_verify_with_an_admin_who_is_not_one(client: GoogleClient) -> None:
    provider = GoogleCalendarProvider(client, admin=BEN)
    checks = await provider.verify(CHLOE)
    assert [c.ok for c in checks] == [True, True, False, False]
    assert "may not read the Directory" in checks[2].detail


async def test_verify_an_unknown_mailbox(provider: GoogleCalendarProvider) -> None:
    checks = await provider.verify("ghost@northwind.test")
    assert [c.ok for c in checks] == [False, False, True, True]
    assert "no such user" in checks[0].detail


async def test_verify_a_room_acts_as_the_admin(
    provider: GoogleCalendarProvider, tokens: EmulatorTokens
) -> None:
    checks = await provider.verify(ROOM_CAIRO)
    assert all(c.ok for c in checks)
    assert checks[0].detail.startswith(f"Domain-wide delegation for {ADA}")
    assert set(tokens.asked) == {ADA}
