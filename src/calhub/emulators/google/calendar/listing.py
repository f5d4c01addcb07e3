"""``events.list`` and ``events.instances``: filters, paging and sync tokens (google.md §2, §3).

Sync tokens name a calendar's change number and its token generation; an incremental round
returns every copy changed since (deleted events and cancelled instances as ``cancelled`` with
only their guaranteed fields), and a token of an older generation (``expire_sync_tokens``) or
another calendar answers 410 ``fullSyncRequired`` exactly as §2.3 shows. Page tokens carry the
last sort key of the page and the change number the first page was read at: pages are keyset
pages, so a change between pages neither skips nor repeats an unchanged item, and the change
reaches the next incremental round. ``nextPageToken`` and ``nextSyncToken`` never come together.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calhub.emulators.google.calendar import series
from calhub.emulators.google.calendar.model import CalendarEvents, Copy, render
from calhub.emulators.google.calendar.times import When, timestamp, zone
from calhub.emulators.google.errors import GoogleError

DEFAULT_PAGE = 250
MAX_PAGE = 2500
# google.md §2.3: what may not come with syncToken.
NOT_WITH_SYNC = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                 "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin")  # fmt: skip


@dataclass(slots=True)
class Query:
    time_min: datetime | None = None
    time_max: datetime | None = None
    single_events: bool = False
    order_by: str | None = None
    show_deleted: bool = False
    max_results: int = DEFAULT_PAGE
    page_token: str | None = None
    sync_token: str | None = None
    ical_uid: str | None = None
    q: str | None = None
    event_types: list[str] = field(default_factory=list)
    time_zone: str | None = None
    updated_min: datetime | None = None
    private_properties: list[str] = field(default_factory=list)
    shared_properties: list[str] = field(default_factory=list)
    original_start: str | None = None  # events.instances only
    given: set[str] = field(default_factory=set)  # the parameter names the request carried


def full_sync_required() -> GoogleError:
    message = "Sync token is no longer valid, a full sync is required."
    return GoogleError(
        410, "fullSyncRequired", message, domain="calendar",
        location="syncToken", location_type="parameter",
    )  # fmt: skip


def _encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def _decode(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeError):
        return None


def check(query: Query) -> None:
    """The parameter rules that do not depend on the calendar."""
    if query.sync_token is not None:
        for name in NOT_WITH_SYNC:
            if name in query.given:
                raise GoogleError(
                    400, "invalid", f"Sync token cannot be used together with {name}.",
                    location=name, location_type="parameter",
                )  # fmt: skip
    if query.order_by == "startTime" and not query.single_events:
        raise GoogleError(
            400, "badRequest", "The requested ordering is not available for the particular query."
        )
    if not 1 <= query.max_results <= MAX_PAGE:
        message = f"Invalid value for maxResults: must be between 1 and {MAX_PAGE}."
        raise GoogleError(400, "invalid", message, location="maxResults", location_type="parameter")
    if query.time_min and query.time_max and query.time_max <= query.time_min:
        raise GoogleError(
            400, "timeRangeEmpty", "The specified time range is empty.", domain="calendar",
            location="timeMax", location_type="parameter",
        )  # fmt: skip


def list_events(
    calendar: CalendarEvents, query: Query, now: datetime, envelope: dict[str, Any]
) -> dict[str, Any]:
    check(query)
    since = None
    if query.sync_token is not None:
        token = _decode(query.sync_token)
        if not (
            isinstance(token, list)
            and token[:2] == [calendar.id.lower(), calendar.generation]
            and isinstance(token[2], int)
            and token[2] <= calendar.seq
        ):
            raise full_sync_required()
        since = token[2]
    after, snapshot = _page_state(query, calendar.seq)
    frame = zone(query.time_zone or calendar.time_zone)
    window = (query.time_min, query.time_max)
    found: dict[str, tuple[list[str], dict[str, Any]]] = {}
    for copy in calendar.copies.values():
        if copy.seq > snapshot or (since is not None and copy.seq <= since):
            continue
        if query.updated_min is not None and copy.updated < query.updated_min:
            continue
        incremental = since is not None or query.updated_min is not None
        for item in _items(copy, calendar, query, incremental, frame, now, window):
            found[item["id"]] = (_sort_key(item, copy, query, frame), item)
    return _page(sorted(found.values()), after, query, snapshot, calendar, envelope)


def list_instances(
    calendar: CalendarEvents, event_id: str, query: Query, now: datetime, envelope: dict[str, Any]
) -> dict[str, Any]:
    copy = calendar.copies.get(event_id)
    if copy is None or copy.meeting.parent_id is not None:
        raise GoogleError(404, "notFound", "Not Found")
    query.single_events, query.order_by = True, "startTime"
    check(query)
    after, snapshot = _page_state(query, calendar.seq)
    frame = zone(query.time_zone or calendar.time_zone)
    items = list(_items(copy, calendar, query, False, frame, now, (query.time_min, query.time_max)))
    if query.original_start is not None:
        items = [i for i in items if _same_start(i.get("originalStartTime"), query.original_start)]
    found = sorted((_sort_key(item, copy, query, frame), item) for item in items)
    page = _page(found, after, query, snapshot, calendar, envelope)
    page.pop("nextSyncToken", None)
    return page


def _same_start(value: Any, wanted: str) -> bool:
    if not isinstance(value, dict):
        return False
    try:
        return (
            When(datetime.fromisoformat(value.get("dateTime") or value["date"]), None).instant()
            == When(datetime.fromisoformat(wanted), None).instant()
        )
    except (KeyError, ValueError):
        return False


def _page_state(query: Query, seq: int) -> tuple[list[str] | None, int]:
    if query.page_token is None:
        return None, seq
    state = _decode(query.page_token)
    if not (isinstance(state, dict) and isinstance(state.get("s"), int)):
        raise GoogleError(400, "invalid", "Invalid page token.", location="pageToken",
                          location_type="parameter")  # fmt: skip
    return state.get("a"), state["s"]


def _page(
    found: list[tuple[list[str], dict[str, Any]]],
    after: list[str] | None,
    query: Query,
    snapshot: int,
    calendar: CalendarEvents,
    envelope: dict[str, Any],
) -> dict[str, Any]:
    rest = [entry for entry in found if after is None or entry[0] > after]
    page = rest[: query.max_results]
    out: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"p{calendar.generation}x{calendar.seq}"',
        **envelope,
        "updated": timestamp(calendar.updated),
        "timeZone": query.time_zone or calendar.time_zone,
        "items": [item for _, item in page],
    }
    if len(rest) > len(page):
        out["nextPageToken"] = _encode({"a": page[-1][0], "s": snapshot})
    else:
        out["nextSyncToken"] = _encode([calendar.id.lower(), calendar.generation, snapshot])
    return out


def _sort_key(item: dict[str, Any], copy: Copy, query: Query, frame: Any) -> list[str]:
    if query.order_by == "startTime":
        start = item.get("start") or item.get("originalStartTime") or {}
        raw = start.get("dateTime") or start.get("date")
        instant = When(datetime.fromisoformat(raw), None) if raw else None
        stamp = instant.instant(frame).isoformat() if instant else ""
        return [stamp, item["id"]]
    if query.order_by == "updated":
        return [timestamp(copy.updated), item["id"]]
    return [item["id"]]


def _items(
    copy: Copy,
    calendar: CalendarEvents,
    query: Query,
    incremental: bool,
    frame: Any,
    now: datetime,
    window: tuple[datetime | None, datetime | None],
) -> Iterator[dict[str, Any]]:
    """The list items ``copy`` contributes (one, none, or a series' instances)."""
    meeting = copy.meeting
    if not _matches(copy, calendar.id, query):
        return
    deleted_ok = incremental or query.show_deleted
    if meeting.recurrence is not None and query.single_events and not copy.cancelled:
        lo, hi = series.default_window(meeting, now)
        span = (window[0] or lo, window[1] or hi)
        for slot in series.slots(meeting, span, frame):
            if slot.exception_id is None:
                yield series.render_instance(copy, calendar.id, slot)
                continue
            exception = calendar.copies.get(slot.exception_id)
            if (
                exception is not None
                and not incremental
                and (deleted_ok or not exception.cancelled)
            ):
                yield render(exception, calendar.id, minimal=True)
        return
    if meeting.parent_id is not None and query.single_events and not incremental:
        return  # exceptions come with their series' expansion
    hidden = query.single_events or meeting.parent_id is None
    if copy.cancelled and not deleted_ok and hidden:
        return  # only cancelled instances show without showDeleted (§2.1)
    if not incremental and not _in_window(copy, window, frame, now):
        return
    yield render(copy, calendar.id, minimal=True)


def _in_window(
    copy: Copy, window: tuple[datetime | None, datetime | None], frame: Any, now: datetime
) -> bool:
    lo, hi = window
    if lo is None and hi is None:
        return True
    meeting = copy.meeting
    if meeting.recurrence is not None:
        default_lo, default_hi = series.default_window(meeting, now)
        span = (lo or default_lo, hi or default_hi)
        return any(
            s.exception_id is None or not meeting.exceptions[s.exception_id].cancelled
            for s in series.slots(meeting, span, frame)
        )
    start, end = meeting.start.instant(frame), meeting.end.instant(frame)
    if copy.cancelled and meeting.original is not None:
        start = end = When(meeting.original, None).instant(frame)
    return (lo is None or end > lo or (start == end == lo)) and (hi is None or start < hi)


def _matches(copy: Copy, calendar_id: str, query: Query) -> bool:
    meeting = copy.meeting
    data = meeting.data
    if (
        query.ical_uid is not None
        and query.ical_uid != f"{meeting.parent_id or meeting.id}@google.com"
    ):
        return False
    if query.event_types and data.get("eventType", "default") not in query.event_types:
        return False
    for wanted, have in (
        (query.private_properties, copy.private),
        (query.shared_properties, data.get("extendedProperties", {}).get("shared", {})),
    ):
        for constraint in wanted:
            name, _, value = constraint.partition("=")
            if have.get(name) != value:
                return False
    if query.q:
        words = [meeting.organizer, data.get("summary", ""), data.get("description", ""),
                 data.get("location", "")]  # fmt: skip
        for attendee in data.get("attendees", []):
            words += [attendee["email"], attendee.get("displayName", "")]
        text = " ".join(words).lower()
        if not all(term in text for term in query.q.lower().split()):
            return False
    return True
