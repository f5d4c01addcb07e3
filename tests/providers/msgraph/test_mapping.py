"""Graph event JSON → ProviderEvent / Removal, on fixtures shaped like delta answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calhub.domain.events import AttendeeKind, ResponseStatus, ShowAs
from calhub.domain.sync.changes import ItemKind, ProviderEvent, Removal
from calhub.providers.base import InvalidResponse
from calhub.providers.msgraph.mapping import map_event

BERLIN = ZoneInfo("Europe/Berlin")
MASTER = "AAMkAGmaster="


def at(text: str) -> dict[str, str]:
    return {"dateTime": f"{text}.0000000", "timeZone": "UTC"}


def master() -> dict[str, Any]:
    """A weekly Monday 09:00 Berlin series; Graph renders it in UTC (08:00 in winter)."""
    return {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": 'W/"ck1"',
        "id": MASTER,
        "changeKey": "ck1",
        "type": "seriesMaster",
        "subject": "Weekly sync",
        "body": {"contentType": "html", "content": "<p>Notes</p>"},
        "start": at("2026-03-02T08:00:00"),
        "end": at("2026-03-02T08:30:00"),
        "originalStartTimeZone": "W. Europe Standard Time",
        "isAllDay": False,
        "sensitivity": "normal",
        "showAs": "busy",
        "location": {"displayName": "Conf Room 100", "locationType": "default"},
        "organizer": {"emailAddress": {"name": "Adele Vance", "address": "adele@contoso.test"}},
        "attendees": [
            {
                "type": "required",
                "status": {"response": "tentativelyAccepted", "time": "2026-03-01T08:00:00Z"},
                "emailAddress": {"name": "Alex", "address": "alex@contoso.test"},
            },
            {
                "type": "resource",
                "status": {"response": "accepted"},
                "emailAddress": {"name": "Conf Room 100", "address": "cf100@contoso.test"},
            },
            {"type": "required", "emailAddress": {"name": "Someone outside", "address": ""}},
        ],
        "recurrence": {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "month": 0,
                "dayOfMonth": 0,
                "daysOfWeek": ["monday"],
                "firstDayOfWeek": "monday",
                "index": "first",
            },
            "range": {
                "type": "endDate",
                "startDate": "2026-03-02",
                "endDate": "2026-06-29",
                "recurrenceTimeZone": "W. Europe Standard Time",
                "numberOfOccurrences": 0,
            },
        },
        "cancelledOccurrences": [f"OID.{MASTER}.2026-04-06"],
    }


def test_series_master_expands_in_its_own_zone() -> None:
    event = map_event(master())
    assert isinstance(event, ProviderEvent)
    assert event.kind is ItemKind.SERIES
    assert event.start == datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)
    assert event.end == datetime(2026, 3, 2, 9, 30, tzinfo=BERLIN)
    assert event.time_zone == "Europe/Berlin"
    assert event.recurrence is not None
    assert event.recurrence.rrules[0].startswith("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO")
    # After the DST change the wall clock stays 09:00 Berlin, i.e. 07:00 UTC.
    [cancelled] = event.cancelled_starts
    assert cancelled == datetime(2026, 4, 6, 9, 0, tzinfo=BERLIN)
    assert isinstance(cancelled, datetime)
    assert cancelled.astimezone(UTC).hour == 7
    assert (event.subject, event.body, event.location) == (
        "Weekly sync",
        "<p>Notes</p>",
        "Conf Room 100",
    )
    assert event.organizer is not None
    assert event.organizer.response is ResponseStatus.ORGANIZER
    assert [(a.email, a.kind, a.response) for a in event.attendees] == [
        ("alex@contoso.test", AttendeeKind.REQUIRED, ResponseStatus.TENTATIVE),
        ("cf100@contoso.test", AttendeeKind.RESOURCE, ResponseStatus.ACCEPTED),
    ]
    assert event.change_key == "ck1"


def test_exception_and_occurrence_point_at_their_series() -> None:
    exception = map_event(
        master()
        | {
            "id": "AAMkAGexc=",
            "type": "exception",
            "seriesMasterId": MASTER,
            "recurrence": None,
            "start": at("2026-03-09T10:00:00"),
            "end": at("2026-03-09T11:00:00"),
            "originalStart": "2026-03-09T08:00:00Z",
            "cancelledOccurrences": [],
        }
    )
    assert isinstance(exception, ProviderEvent)
    assert exception.kind is ItemKind.EXCEPTION
    assert exception.series_provider_id == MASTER
    assert exception.original_start == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
    assert exception.start == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    trimmed = {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": 'W/"ck1"',
        "id": "AAMkAGocc=",
        "seriesMasterId": MASTER,
        "type": "occurrence",
        "start": at("2026-03-16T08:00:00"),
        "end": at("2026-03-16T08:30:00"),
    }
    occurrence = map_event(trimmed)
    assert isinstance(occurrence, ProviderEvent)
    assert occurrence.kind is ItemKind.OCCURRENCE
    assert occurrence.original_start == occurrence.start
    assert occurrence.change_key == "ck1"


def test_all_day_private_single_event() -> None:
    event = map_event(
        {
            "id": "AAMkAGday=",
            "type": "singleInstance",
            "isAllDay": True,
            "subject": "Offsite",
            "start": at("2026-03-04T00:00:00"),
            "end": at("2026-03-06T00:00:00"),
            "originalStartTimeZone": "Pacific Standard Time",
            "sensitivity": "Private",
            "showAs": "OOF",
            "isCancelled": True,
        }
    )
    assert isinstance(event, ProviderEvent)
    assert (event.start, event.end) == (date(2026, 3, 4), date(2026, 3, 6))
    assert event.is_private
    assert event.is_cancelled
    assert event.show_as is ShowAs.OUT_OF_OFFICE
    assert event.time_zone == "America/Los_Angeles"


def test_removed_items_are_removals() -> None:
    removed = {
        "@odata.type": "#microsoft.graph.event",
        "id": "AAMkAGx=",
        "@removed": {"reason": "deleted"},
    }
    assert map_event(removed) == Removal("AAMkAGx=")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "meeting"}, "type"),
        ({"start": {"dateTime": "yesterday", "timeZone": "UTC"}}, "start.dateTime"),
        ({"start": at("2026-03-02T08:00:00") | {"timeZone": "Mars/Olympus"}}, "start.timeZone"),
        ({"recurrence": None}, "recurrence"),
        ({"recurrence": {"pattern": {"type": "hourly"}, "range": {}}}, "pattern.type"),
        ({"cancelledOccurrences": ["2026-04-06"]}, "cancelledOccurrences"),
        ({"showAs": "sleeping"}, "showAs"),
        ({"end": at("2026-03-01T08:00:00")}, "end is before start"),
        ({"attendees": [{"emailAddress": "adele"}]}, "attendees[0].emailAddress"),
    ],
)
def test_unreadable_items_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidResponse, match=field.replace("[", r"\[").replace("]", r"\]")):
        map_event(master() | change)
