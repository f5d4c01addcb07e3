"""The discovery-schema validator the Google emulator's tests rely on: it passes what Google's
documents describe and fails, naming the path, on what they do not."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulators.google.discovery import check_error, check_resource, check_response

EVENT: dict[str, Any] = {
    "kind": "calendar#event",
    "etag": '"3181161784712000"',
    "id": "4eahs9ghkhrvkld72hogu9ph3e_20200519T140000Z",
    "status": "confirmed",
    "created": "2020-05-19T19:17:46.000Z",
    "updated": "2020-05-27T12:01:32.356Z",
    "summary": "Learn JavaScript",
    "start": {"dateTime": "2020-05-19T16:00:00+02:00", "timeZone": "Europe/Berlin"},
    "end": {"dateTime": "2020-05-19T17:00:00+02:00", "timeZone": "Europe/Berlin"},
    "attendees": [{"email": "room@resource.calendar.google.com", "resource": True}],
    "extendedProperties": {"private": {"calhub": "1"}},
    "sequence": 0,
    "reminders": {"useDefault": True},
    "eventType": "default",
}


def test_an_event_shaped_as_google_sends_it_passes() -> None:
    check_resource("calendar", "Event", EVENT)
    check_response(
        "calendar", "calendar.events.list", 200, {"kind": "calendar#events", "items": [EVENT]}
    )


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"summery": "typo"}, "Event: unknown field 'summery'"),
        ({"sequence": "0"}, "Event.sequence: expected an integer"),
        ({"start": {"dateTime": "2020-05-19 16:00"}}, "Event.start.dateTime"),
        ({"eventType": "meeting"}, "Event.eventType: 'meeting' is not one of"),
        ({"attendees": [{"email": "a@b.c", "resource": "yes"}]}, "Event.attendees[0].resource"),
        ({"extendedProperties": {"private": {"n": 1}}}, "Event.extendedProperties.private['n']"),
    ],
)
def test_what_the_documents_do_not_describe_fails_with_its_path(
    change: dict[str, Any], path: str
) -> None:
    with pytest.raises(AssertionError, match=path.replace("[", r"\[").replace("]", r"\]")):
        check_resource("calendar", "Event", EVENT | change)


def test_directory_lists_and_empty_responses() -> None:
    room = {
        "kind": "admin#directory#resources#calendars#CalendarResource",
        "resourceId": "r1",
        "resourceName": "Board Room",
        "resourceEmail": "c_r1@resource.calendar.google.com",
        "capacity": 12,
        "etags": '"x"',
    }
    listing = {"kind": "admin#directory#resources#calendars#calendarResourcesList", "items": [room]}
    check_response("directory", "directory.resources.calendars.list", 200, listing)
    check_response("calendar", "calendar.events.delete", 204, b"")
    with pytest.raises(AssertionError, match="no response body"):
        check_response("calendar", "calendar.events.delete", 204, {"id": "x"})


def test_errors_follow_googles_v1_envelope() -> None:
    gone = {
        "error": {
            "code": 410,
            "message": "Sync token is no longer valid, a full sync is required.",
            "errors": [
                {
                    "domain": "calendar",
                    "reason": "fullSyncRequired",
                    "message": "Sync token is no longer valid, a full sync is required.",
                }
            ],
        }
    }
    check_response("calendar", "calendar.events.list", 410, gone)
    with pytest.raises(AssertionError, match=r"error\.code 410 for status 400"):
        check_error(400, gone)
    with pytest.raises(AssertionError, match="not an error"):
        check_error(404, {"message": "Not Found"})
