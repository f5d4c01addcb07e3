"""Out of office on Google: ``outOfOffice`` events as a scheduled automatic-replies window."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from calhub.domain.presence import AutomaticReplies, ReplyStatus
from calhub.providers.base import CalendarRef, InvalidResponse
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.presence import replies_from
from calhub.providers.google.provider import GoogleCalendarProvider
from tests.emulators.google.seeds import ADA, BEN
from tests.providers.google.conftest import FROZEN_NOW, EmulatorTokens, at, insert

BEN_CALENDAR = CalendarRef(BEN)
Api = Callable[[str], httpx.AsyncClient]


async def away(api: Api, start: dict[str, str], end: dict[str, str]) -> str:
    event = await insert(
        api(BEN), BEN, summary="Away", eventType="outOfOffice", start=start, end=end,
        outOfOfficeProperties={"autoDeclineMode": "declineAllConflictingInvitations"},
    )  # fmt: skip
    event_id: str = event["id"]
    return event_id


def berlin(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC) - timedelta(hours=1)  # CET in March


async def test_no_out_of_office_events_is_disabled(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    await insert(api(BEN), BEN, summary="Work", start=at(3, 9), end=at(3, 10))
    assert await provider.automatic_replies(BEN_CALENDAR) == AutomaticReplies(ReplyStatus.DISABLED)


async def test_the_next_absence_is_the_scheduled_window(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    await away(api, at(10, 9), at(12, 18))
    await away(api, at(5, 9), at(6, 18))
    replies = await provider.automatic_replies(BEN_CALENDAR)
    assert replies == AutomaticReplies(ReplyStatus.SCHEDULED, berlin(5, 9), berlin(6, 18))


async def test_an_absence_under_way_counts(provider: GoogleCalendarProvider, api: Api) -> None:
    await away(api, at(1, 9), at(3, 18))  # FROZEN_NOW is 2 March, 08:00 UTC
    await away(api, {"dateTime": "2026-02-20T09:00:00Z"}, {"dateTime": "2026-02-21T09:00:00Z"})
    replies = await provider.automatic_replies(BEN_CALENDAR)
    assert replies.start is not None
    assert replies.start < FROZEN_NOW
    assert replies.end == berlin(3, 18)


async def test_touching_absences_are_one_window(provider: GoogleCalendarProvider, api: Api) -> None:
    await away(api, at(5, 9), at(6, 9))
    await away(api, at(6, 9), at(7, 9))
    await away(api, at(6, 12), at(8, 9))
    await away(api, at(20, 9), at(21, 9))
    replies = await provider.automatic_replies(BEN_CALENDAR)
    assert (replies.start, replies.end) == (berlin(5, 9), berlin(8, 9))


async def test_a_cancelled_absence_does_not_count(
    provider: GoogleCalendarProvider, api: Api
) -> None:
    cancelled = await away(api, at(5, 9), at(6, 18))
    assert (await api(BEN).delete(f"calendars/{BEN}/events/{cancelled}")).status_code == 204
    assert (await provider.automatic_replies(BEN_CALENDAR)).status is ReplyStatus.DISABLED


async def test_asks_google_for_out_of_office_events_from_now(
    make_client: Callable[..., GoogleClient], tokens: EmulatorTokens
) -> None:
    seen: list[dict[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.url.params))
        return httpx.Response(200, json={"items": [], "timeZone": "Europe/Berlin"})

    client = make_client(transport=httpx.MockTransport(answer))
    provider = GoogleCalendarProvider(client, admin=ADA, clock=_Frozen())
    try:
        await provider.automatic_replies(BEN_CALENDAR)
    finally:
        await provider.close()
    assert seen == [
        {
            "eventTypes": "outOfOffice",
            "singleEvents": "true",
            "orderBy": "startTime",
            "timeMin": "2026-03-02T08:00:00Z",
            "maxResults": "10",
        }
    ]
    assert tokens.asked == [BEN]


async def test_an_unreadable_absence_is_an_invalid_response(
    make_client: Callable[..., GoogleClient],
) -> None:
    body = {"items": [{"id": "x", "start": {"dateTime": "soon"}, "end": {}}]}
    client = make_client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=body)))
    provider = GoogleCalendarProvider(client, admin=ADA, clock=_Frozen())
    try:
        with pytest.raises(InvalidResponse, match="event x"):
            await provider.automatic_replies(BEN_CALENDAR)
    finally:
        await provider.close()


def test_windows_join_only_when_they_touch() -> None:
    one = (berlin(5, 9), berlin(5, 12))
    gap = (berlin(5, 13), berlin(5, 14))
    assert replies_from([gap, one]) == AutomaticReplies(ReplyStatus.SCHEDULED, *one)
    assert replies_from([]) == AutomaticReplies(ReplyStatus.DISABLED)


class _Frozen:
    def now(self) -> datetime:
        return FROZEN_NOW
