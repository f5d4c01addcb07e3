"""Out of office on Google Calendar (docs/presence.md; google.md §1.2, §2.1).

Google has no automatic-replies setting: a user is away during their ``outOfOffice`` events
(Calendar's "Out of office" entries, which also decline new invitations). ``read_automatic_replies``
lists them, expanded and in order of start, from now on::

    GET calendars/{id}/events?eventTypes=outOfOffice&singleEvents=true&orderBy=startTime
        &timeMin=<now>&maxResults=10

``timeMin`` bounds the end, so every item still covers now or lies ahead. The first live one
(not ``cancelled``), joined with the ones after it that touch or overlap it, is the scheduled
window: ``AutomaticReplies(SCHEDULED, start, end)``; none is ``AutomaticReplies(DISABLED)``.
An all-day entry's dates are midnights in the event's zone. An item that cannot be read is
``InvalidResponse``: an absence must not silently vanish.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from calhub.domain.events import EventTime
from calhub.domain.presence import AutomaticReplies, ReplyStatus
from calhub.domain.sync.changes import ProviderEvent
from calhub.providers.base import InvalidResponse
from calhub.providers.google.client import GoogleClient
from calhub.providers.google.mapping import map_event

LOOK_AHEAD: Final = "10"


async def read_automatic_replies(
    client: GoogleClient, calendar_id: str, *, user: str, now: datetime
) -> AutomaticReplies:
    page = await client.get_json(
        client.calendar_url("calendars", calendar_id, "events"),
        user=user,
        params={
            "eventTypes": "outOfOffice",
            "singleEvents": "true",
            "orderBy": "startTime",
            "timeMin": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "maxResults": LOOK_AHEAD,
        },
    )
    items = page.get("items", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidResponse("out-of-office events: the answer has no list of items")
    zone = page.get("timeZone") if isinstance(page.get("timeZone"), str) else "UTC"
    windows = [
        _window(change)
        for item in items
        if item.get("status") != "cancelled"
        and isinstance(change := map_event(item, default_zone=str(zone)), ProviderEvent)
    ]
    return replies_from(windows)


def replies_from(windows: Sequence[tuple[datetime, datetime]]) -> AutomaticReplies:
    """The first window, joined with those that touch or overlap it (in order of start)."""
    ordered = sorted(windows)
    if not ordered:
        return AutomaticReplies(ReplyStatus.DISABLED)
    start, end = ordered[0]
    for following_start, following_end in ordered[1:]:
        if following_start > end:
            break
        end = max(end, following_end)
    return AutomaticReplies(ReplyStatus.SCHEDULED, start, end)


def _window(event: ProviderEvent) -> tuple[datetime, datetime]:
    zone = ZoneInfo(event.time_zone)
    return _instant(event.start, zone), _instant(event.end, zone)


def _instant(value: EventTime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=zone).astimezone(UTC)
