"""Meeting settings as JSON: what is written reads back the same; every mistake names its field."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calhub.domain.ids import CalendarId
from calhub.domain.meetings.settings import MeetingSettings
from calhub.domain.meetings.settings_json import (
    InvalidMeetingSetting,
    settings_from_json,
    settings_to_json,
)

ROOM = "0190c6d2-7a3e-7b1c-8d2f-3e4a5b6c7d8e"


@given(
    st.integers(0, 60),
    st.dictionaries(st.uuids().map(CalendarId), st.integers(0, 60), max_size=5),
)
def test_what_is_written_reads_back_the_same(lead: int, rooms: dict[CalendarId, int]) -> None:
    settings = MeetingSettings(
        timedelta(minutes=lead), {room: timedelta(minutes=m) for room, m in rooms.items()}
    )
    read = settings_from_json(settings_to_json(settings))
    assert read.lead == settings.lead
    assert dict(read.room_leads) == dict(settings.room_leads)


def test_left_out_fields_take_the_defaults_and_rooms_override_the_lead() -> None:
    settings = settings_from_json({"rooms": {ROOM: {"lead_minutes": 2}}})
    assert settings.lead == timedelta(minutes=5)
    assert settings.lead_for(CalendarId(uuid.UUID(ROOM))) == timedelta(minutes=2)
    assert settings.lead_for(CalendarId(uuid.uuid4())) == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected an object, got a list"),
        ({"lead_minutes": 61}, "lead_minutes: expected a whole number of minutes from 0 to 60"),
        ({"lead_minutes": True}, "lead_minutes: expected a whole number"),
        ({"lead_minutes": 2.5}, "lead_minutes: expected a whole number"),
        ({"lead": 3}, "unknown field 'lead'; expected one of lead_minutes, rooms"),
        ({"rooms": []}, "rooms: expected an object, got a list"),
        ({"rooms": {"room-1": {"lead_minutes": 1}}}, "rooms.room-1: not a calendar id"),
        ({"rooms": {ROOM: {}}}, f"rooms.{ROOM}.lead_minutes: missing"),
        ({"rooms": {ROOM: {"lead_minutes": -1}}}, f"rooms.{ROOM}.lead_minutes: expected"),
        ({"rooms": {ROOM: {"lead_minutes": 1, "x": 1}}}, f"rooms.{ROOM}: unknown field 'x'"),
    ],
)
def test_a_mistake_names_its_field(document: object, message: str) -> None:
    with pytest.raises(InvalidMeetingSetting) as refused:
        settings_from_json(document)
    assert str(refused.value).startswith(message)
