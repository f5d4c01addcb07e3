"""Template meeting backends: what a keyword invite gets from the tenant's configuration."""

from __future__ import annotations

import pytest

from calhub.domain.joinlinks import detect_join
from calhub.domain.joinlinks.backends import (
    InvalidBackendConfiguration,
    JitsiRooms,
    SipVirtualRooms,
    WebexPersonalRoom,
    personal_room_id,
)


@pytest.mark.parametrize(
    ("organizer", "room"),
    [
        ("Jane.Doe@Example.com", "jane.doe"),
        ("o'brien+team@example.com", "obrienteam"),
        ("12345@example.com", "pr12345"),
        ("-_-@example.com", "pr-_-"),
        ("a" * 80 + "@example.com", "a" * 64),
    ],
)
def test_the_personal_room_id_follows_webex_rules(organizer: str, room: str) -> None:
    assert personal_room_id(organizer) == room


def test_a_personal_room_meeting_is_one_the_detector_recognises() -> None:
    meeting = WebexPersonalRoom(site="acme").meeting("Jane.Doe@example.com")

    assert meeting.join_url == "https://acme.webex.com/meet/jane.doe"
    assert meeting.sip_uri == "sip:jane.doe@acme.webex.com"
    found = detect_join("", f"Join: {meeting.join_url}")
    assert found is not None
    assert (found.provider, found.join_url) == ("webex", meeting.join_url)


def test_one_time_jitsi_rooms_are_unguessable_and_distinct() -> None:
    rooms = JitsiRooms()
    first = rooms.meeting(bytes(range(16)))
    second = rooms.meeting(bytes(range(1, 17)))

    assert first.join_url is not None
    assert first.join_url.startswith("https://meet.jit.si/")
    assert first.join_url != second.join_url
    assert first.meeting_id is not None
    assert len(first.meeting_id) == 26
    found = detect_join("", first.join_url)
    assert found is not None
    assert found.provider == "jitsi"
    with pytest.raises(ValueError, match="random bytes"):
        rooms.meeting(b"too short")


def test_a_virtual_room_comes_from_the_sip_template() -> None:
    meeting = SipVirtualRooms("sip:{user}@vmr.example.com").meeting("Jane.Doe@example.com")
    assert (meeting.provider, meeting.sip_uri) == ("sip", "sip:jane.doe@vmr.example.com")


@pytest.mark.parametrize(
    "make",
    [
        lambda: WebexPersonalRoom(site="acme.webex.com"),
        lambda: WebexPersonalRoom(site="acme", url_template="https://{site}.webex.com/{room}"),
        lambda: WebexPersonalRoom(site="acme", url_template="http://{site}.webex.com/meet/{user}"),
        lambda: JitsiRooms(domain="https://meet.jit.si"),
        lambda: SipVirtualRooms("https://vmr.example.com/{user}"),
        lambda: SipVirtualRooms("sip:vmr.example.com"),
        lambda: SipVirtualRooms("sip:{user}@vmr.example.com/{x}"),
        lambda: SipVirtualRooms("sip:{user@vmr.example.com"),
    ],
)
def test_a_configuration_that_cannot_make_meetings_is_refused(make: object) -> None:
    with pytest.raises(InvalidBackendConfiguration):
        make()  # type: ignore[operator]
