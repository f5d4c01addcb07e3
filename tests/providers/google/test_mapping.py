"""Google Calendar event JSON into domain changes (``calhub.providers.google.mapping``), with
items shaped as google.md §1 and §2.3 show them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calhub.domain.events import AttendeeKind, Recurrence, ResponseStatus, ShowAs
from calhub.domain.sync.changes import ItemKind, ProviderEvent, Removal
from calhub.providers.base import InvalidResponse
from calhub.providers.google.mapping import map_event

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

EVENT: dict[str, Any] = {
    "kind": "calendar#event",
    "etag": '"3181161784712000"',
    "id": "4eahs9ghkhrvkld72hogu9ph3e",
    "status": "confirmed",
    "summary": "Design review",
    "description": "Agenda in the doc",
    "location": "Board Room",
    "creator": {"email": "adele@northwind.example", "self": True},
    "organizer": {"email": "adele@northwind.example", "displayName": "Adele", "self": True},
    "start": {"dateTime": "2026-05-19T16:00:00+02:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2026-05-19T17:00:00+02:00", "timeZone": "Europe/Berlin"},
    "iCalUID": "4eahs9ghkhrvkld72hogu9ph3e@google.com",
    "attendees": [
        {"email": "adele@northwind.example", "organizer": True, "responseStatus": "accepted"},
        {"email": "lee@northwind.example", "displayName": "Lee", "responseStatus": "needsAction"},
        {"email": "ola@northwind.example", "optional": True, "responseStatus": "declined"},
        {
            "email": "c_188@resource.calendar.google.com",
            "displayName": "Board Room (12)",
            "resource": True,
            "responseStatus": "accepted",
        },
    ],
}


def mapped(**fields: Any) -> ProviderEvent:
    change = map_event(EVENT | fields, "UTC")
    assert isinstance(change, ProviderEvent)
    return change


def test_a_single_event_with_guests_and_a_room() -> None:
    event = mapped()
    assert event.kind is ItemKind.SINGLE
    assert event.start == datetime(2026, 5, 19, 16, tzinfo=BERLIN)
    assert event.time_zone == "Europe/Berlin"
    assert (event.subject, event.location, event.body_format) == (
        "Design review",
        "Board Room",
        "text",
    )
    assert event.is_organizer
    assert event.organizer is not None
    assert event.organizer.name == "Adele"
    assert [(a.email, a.kind, a.response) for a in event.attendees] == [
        ("adele@northwind.example", AttendeeKind.REQUIRED, ResponseStatus.ORGANIZER),
        ("lee@northwind.example", AttendeeKind.REQUIRED, ResponseStatus.NOT_RESPONDED),
        ("ola@northwind.example", AttendeeKind.OPTIONAL, ResponseStatus.DECLINED),
        ("c_188@resource.calendar.google.com", AttendeeKind.RESOURCE, ResponseStatus.ACCEPTED),
    ]
    assert event.change_key == '"3181161784712000"'
    assert event.ical_uid == "4eahs9ghkhrvkld72hogu9ph3e@google.com"


def test_without_its_own_zone_an_event_is_read_in_the_calendars() -> None:
    utc = {
        "start": {"dateTime": "2026-05-19T14:00:00Z"},
        "end": {"dateTime": "2026-05-19T15:00:00Z"},
    }
    change = map_event(EVENT | utc, "America/New_York")
    assert isinstance(change, ProviderEvent)
    assert change.time_zone == "America/New_York"
    assert change.start == datetime(2026, 5, 19, 10, tzinfo=NEW_YORK)
    assert map_event(EVENT | utc, "Nowhere/Else").time_zone == "UTC"  # type: ignore[union-attr]


def test_a_series_with_its_exdates_in_their_zones() -> None:
    event = mapped(
        start={"dateTime": "2026-03-02T09:00:00", "timeZone": "America/New_York"},
        end={"dateTime": "2026-03-02T09:30:00", "timeZone": "America/New_York"},
        recurrence=[
            "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260601T000000Z",
            "EXDATE;TZID=America/New_York:20260309T090000,20260316T090000",
            "EXDATE:20260323T130000Z",
            "RDATE;VALUE=DATE:20260404",
        ],
    )
    assert event.kind is ItemKind.SERIES
    assert event.start == datetime(2026, 3, 2, 9, tzinfo=NEW_YORK)
    assert event.recurrence == Recurrence(
        rrules=("FREQ=WEEKLY;BYDAY=MO;UNTIL=20260601T000000Z",),
        rdates=(date(2026, 4, 4),),
        exdates=(
            datetime(2026, 3, 9, 9, tzinfo=NEW_YORK),
            datetime(2026, 3, 16, 9, tzinfo=NEW_YORK),
            datetime(2026, 3, 23, 9, tzinfo=NEW_YORK),  # 13:00 UTC is 09:00 EDT
        ),
    )


def test_an_exception_names_its_series_and_original_start() -> None:
    event = mapped(
        id="4eahs9ghkhrvkld72hogu9ph3e_20260519T140000Z",
        recurringEventId="4eahs9ghkhrvkld72hogu9ph3e",
        originalStartTime={"dateTime": "2026-05-19T16:00:00+02:00", "timeZone": "Europe/Berlin"},
        start={"dateTime": "2026-05-19T18:00:00+02:00", "timeZone": "Europe/Berlin"},
        end={"dateTime": "2026-05-19T19:00:00+02:00", "timeZone": "Europe/Berlin"},
    )
    assert event.kind is ItemKind.EXCEPTION
    assert event.series_provider_id == "4eahs9ghkhrvkld72hogu9ph3e"
    assert event.original_start == datetime(2026, 5, 19, 16, tzinfo=BERLIN)


def test_deleted_events_and_cancelled_instances_in_an_incremental_sync() -> None:
    assert map_event({"kind": "calendar#event", "id": "abc", "status": "cancelled"}) == Removal(
        "abc"
    )
    cancelled = map_event(
        {
            "id": "s1_20260615T090000Z",
            "status": "cancelled",
            "recurringEventId": "s1",
            "originalStartTime": {"dateTime": "2026-06-15T11:00:00+02:00"},
        },
        "Europe/Berlin",
    )
    assert isinstance(cancelled, ProviderEvent)
    assert (cancelled.kind, cancelled.is_cancelled) == (ItemKind.EXCEPTION, True)
    assert cancelled.series_provider_id == "s1"
    assert cancelled.original_start == datetime(2026, 6, 15, 9, tzinfo=UTC)


def test_all_day_and_status_events() -> None:
    day = mapped(start={"date": "2026-03-10"}, end={"date": "2026-03-11"})
    assert (day.start, day.end) == (date(2026, 3, 10), date(2026, 3, 11))
    assert mapped(eventType="outOfOffice").show_as is ShowAs.OUT_OF_OFFICE
    assert mapped(transparency="transparent").show_as is ShowAs.FREE
    assert mapped(status="tentative").show_as is ShowAs.TENTATIVE
    assert mapped(visibility="confidential").is_private
    assert not mapped(visibility="public").is_private


def test_meet_conference_data_is_a_hint_for_join_detection() -> None:
    event = mapped(
        hangoutLink="https://meet.google.com/aaa-bbbb-ccc",
        conferenceData={
            "conferenceSolution": {"key": {"type": "hangoutsMeet"}, "name": "Google Meet"},
            "conferenceId": "aaa-bbbb-ccc",
            "entryPoints": [
                {"entryPointType": "video", "uri": "https://meet.google.com/aaa-bbbb-ccc"},
                {"entryPointType": "phone", "uri": "tel:+1-123-268-2601", "pin": "123456789"},
            ],
        },
        description="<p>See you <b>there</b></p>",
    )
    assert event.hints is not None
    assert event.hints.online_meeting_join_url == "https://meet.google.com/aaa-bbbb-ccc"
    assert [p.entry_point_type for p in event.hints.entry_points] == ["video", "phone"]
    assert event.body_format == "html"
    assert mapped().hints is None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"start": {"dateTime": "tomorrow"}}, "start.dateTime"),
        ({"start": {}}, "neither date nor dateTime"),
        ({"end": {"date": "2026-05-20"}}, "mix a date and a date-time"),
        ({"end": {"dateTime": "2026-05-19T15:00:00+02:00"}}, "end is before start"),
        ({"recurrence": ["DTSTART:20260101T000000Z"]}, "DTSTART is not supported"),
        ({"recurrence": ["EXDATE;TZID=Mars/Olympus:20260101T000000"]}, "unknown TZID"),
        ({"summary": 7}, "summary: expected text"),
    ],
)
def test_unreadable_items_name_the_event_and_the_field(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidResponse, match=words) as raised:
        map_event(EVENT | fields)
    assert "4eahs9ghkhrvkld72hogu9ph3e" in str(raised.value)
