"""Meetings as RoomOS Booking records (shared/reference/joinlinks.md §4.2, mapping §4.7)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calhub.domain.events import Attendee, Event, Occurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.model import meeting_for_device
from calhub.domain.meetings.roomos import bookings_list, roomos_booking

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEAMS_URL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"


def booking(join: JoinDetails | None, **fields: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": EventId(uuid.UUID(int=1)),
        "tenant_id": TenantId(uuid.uuid4()),
        "calendar_id": CalendarId(uuid.uuid4()),
        "provider_event_id": "p",
        "start": START,
        "end": START + timedelta(minutes=30),
        "subject": "Design review",
        "organizer": Attendee("ana@example.com", "Ana Lima"),
        "join": join,
    }
    values.update(fields)
    event = Event(**values)  # type: ignore[arg-type]
    meeting = meeting_for_device(event, Occurrence(event.id, event.start, event.end, event.start))
    return roomos_booking(meeting, start_buffer_s=300)


def calls(record: dict[str, object]) -> list[tuple[str, str]]:
    dial = record["DialInfo"]
    assert isinstance(dial, dict)
    return [(call["Number"], call["Protocol"]) for call in dial["Calls"]["Call"]]


@pytest.mark.parametrize(
    ("join", "platform", "expected"),
    [
        (
            JoinDetails(
                "webex",
                "body",
                join_url="https://acme.webex.com/meet/ana",
                sip_uri="sip:ana@acme.webex.com",
            ),
            "Webex",
            [("ana@acme.webex.com", "SIP")],
        ),
        (
            JoinDetails("webex", "body", join_url="https://acme.webex.com/meet/ana"),
            "Webex",
            [("https://acme.webex.com/meet/ana", "Spark")],
        ),
        (
            JoinDetails("teams", "provider_data", join_url=TEAMS_URL),
            "MicrosoftTeams",
            [(TEAMS_URL, "WebRTC")],
        ),
        (
            JoinDetails("teams", "body", join_url=TEAMS_URL, sip_uri="sip:123456.acme@m.webex.com"),
            "MicrosoftTeams",
            [("123456.acme@m.webex.com", "SIP"), (TEAMS_URL, "WebRTC")],
        ),
        (
            JoinDetails("google_meet", "body", join_url="https://meet.google.com/abc-defg-hij"),
            "GoogleMeet",
            [("https://meet.google.com/abc-defg-hij", "WebRTC")],
        ),
        (
            JoinDetails(
                "zoom",
                "body",
                join_url="https://zoom.us/j/987654321",
                meeting_id="987 654 321",
                passcode="4242",
            ),
            "Zoom",
            [("987654321.4242@zoomcrc.com", "SIP")],
        ),
        (
            JoinDetails(
                "zoom",
                "body",
                join_url="https://zoom.us/j/987654321",
                meeting_id="987654321",
                passcode="abc",
            ),
            "Zoom",
            [("987654321@zoomcrc.com", "SIP")],
        ),
        (
            JoinDetails("sip", "location", sip_uri="sip:vmr42@video.example.com"),
            "Other",
            [("vmr42@video.example.com", "SIP")],
        ),
        (
            JoinDetails("h323", "body", dial_string="192.0.2.10##4455"),
            "Other",
            [("192.0.2.10##4455", "H323")],
        ),
    ],
)
def test_each_platform_dials_as_the_mapping_table_says(
    join: JoinDetails, platform: str, expected: list[tuple[str, str]]
) -> None:
    record = booking(join)
    assert record["MeetingPlatform"] == platform
    assert calls(record) == expected
    assert record["DialInfo"]["ConnectMode"] == "OBTP"  # type: ignore[index]


def test_a_webex_booking_carries_its_meeting_number_url_and_password() -> None:
    join = JoinDetails(
        "webex",
        "body",
        join_url="https://acme.webex.com/acme/j.php?MTID=m1",
        meeting_id="2634 123 4567",
        passcode="xyz",
    )
    assert booking(join)["Webex"] == {
        "Enabled": "True",
        "MeetingNumber": "26341234567",
        "Url": "https://acme.webex.com/acme/j.php?MTID=m1",
        "Password": "xyz",
    }
    assert "Webex" not in booking(JoinDetails("google_meet", "body", join_url="https://x"))


def test_meetings_without_dialable_join_info_are_manual_and_still_listed() -> None:
    nothing = booking(None)
    assert (nothing["MeetingPlatform"], calls(nothing)) == ("None", [])
    assert nothing["DialInfo"]["ConnectMode"] == "Manual"  # type: ignore[index]
    jitsi = booking(JoinDetails("jitsi", "body", join_url="https://meet.jit.si/Room1"))
    assert (jitsi["MeetingPlatform"], calls(jitsi)) == ("Other", [])
    assert jitsi["DialInfo"]["ConnectMode"] == "Manual"  # type: ignore[index]


def test_the_record_has_the_roomos_shape() -> None:
    record = booking(JoinDetails("google_meet", "body", join_url="https://meet.google.com/a"))
    assert record["Time"] == {
        "StartTime": "2026-03-02T09:00:00Z",
        "StartTimeBuffer": 300,
        "EndTime": "2026-03-02T09:30:00Z",
        "EndTimeBuffer": 0,
    }
    assert record["Organizer"] == {"FirstName": "Ana Lima", "LastName": "", "Id": ""}
    assert record["MeetingId"] == str(uuid.UUID(int=1))
    assert (record["Title"], record["Privacy"], record["BookingStatus"]) == (
        "Design review",
        "Public",
        "OK",
    )
    assert "Agenda" not in record
    assert "ana@example.com" not in json.dumps(record)


def test_private_meetings_say_so_and_hide_the_title() -> None:
    record = booking(None, is_private=True)
    assert (record["Title"], record["Privacy"]) == ("Private meeting", "Private")


def test_all_day_meetings_start_at_midnight_in_their_zone_and_are_manual() -> None:
    join = JoinDetails("google_meet", "body", join_url="https://meet.google.com/a")
    record = booking(join, start=date(2026, 7, 1), end=date(2026, 7, 2), time_zone="Europe/Berlin")
    assert record["Time"]["StartTime"] == "2026-06-30T22:00:00Z"  # type: ignore[index]
    assert record["DialInfo"]["ConnectMode"] == "Manual"  # type: ignore[index]


def test_the_list_counts_its_rows() -> None:
    listed = bookings_list([booking(None)], datetime(2026, 3, 2, 8, tzinfo=UTC))
    assert listed["ResultInfo"] == {"TotalRows": 1}
    assert listed["LastUpdated"] == "2026-03-02T08:00:00Z"


texts = st.none() | st.text(max_size=30)
joins = st.none() | st.builds(
    JoinDetails,
    provider=st.sampled_from(
        ["webex", "teams", "google_meet", "zoom", "sip", "h323", "tel", "jitsi"]
    ),
    source=st.sampled_from(["location", "body", "provider_data"]),
    join_url=texts,
    sip_uri=st.none() | st.from_regex(r"sips?:[a-z0-9.]{1,10}@[a-z]{1,8}\.com", fullmatch=True),
    meeting_id=texts,
    passcode=texts,
    dial_string=texts,
)


@given(joins, st.booleans(), st.integers(0, 3600))
def test_every_booking_is_json_and_obtp_only_with_a_call(
    join: JoinDetails | None, private: bool, lead: int
) -> None:
    record = booking(join, is_private=private)
    record = json.loads(json.dumps(record))
    dial = record["DialInfo"]
    assert dial["ConnectMode"] in ("OBTP", "Manual")
    assert (dial["ConnectMode"] == "OBTP") == bool(dial["Calls"]["Call"])
    for call in dial["Calls"]["Call"]:
        assert call["Protocol"] in ("SIP", "H323", "WebRTC", "Spark")
        assert call["Number"]
        assert not call["Number"].startswith("sip:")
        assert call["CallType"] == "Video"
    assert record["MeetingPlatform"] in (
        "Webex",
        "MicrosoftTeams",
        "GoogleMeet",
        "Zoom",
        "Other",
        "None",
    )
    assert record["Privacy"] == ("Private" if private else "Public")
    assert len(record["Id"]) == 32
