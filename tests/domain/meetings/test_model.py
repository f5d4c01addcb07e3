"""A meeting as a list shows it: the privacy rule, join buttons, counts and stable booking ids."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calhub.domain.events import (
    Attendee,
    AttendeeKind,
    Event,
    Occurrence,
    Recurrence,
    ResponseStatus,
)
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.model import (
    PRIVATE_TITLE,
    booking_id,
    declined_by,
    gets_join_button,
    meeting_for_device,
    meeting_from_event,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ZOOM = JoinDetails("zoom", "body", join_url="https://zoom.us/j/123456789", meeting_id="123456789")
ORGANIZER = Attendee("Ana@Example.com", "Ana Organizer", response=ResponseStatus.ORGANIZER)


def make_event(**fields: object) -> Event:
    values: dict[str, object] = {
        "id": EventId(uuid.uuid4()),
        "tenant_id": TenantId(uuid.uuid4()),
        "calendar_id": CalendarId(uuid.uuid4()),
        "provider_event_id": "p1",
        "start": START,
        "end": START + timedelta(hours=1),
        "subject": "Quarterly numbers",
        "organizer": ORGANIZER,
        "attendees": (
            Attendee("bo@example.com", "Bo"),
            Attendee("room1@example.com", "Room 1", kind=AttendeeKind.RESOURCE),
        ),
        "join": ZOOM,
    }
    values.update(fields)
    return Event(**values)  # type: ignore[arg-type]


def only_occurrence(event: Event) -> Occurrence:
    return Occurrence(event.id, event.start, event.end, event.start)


def test_a_private_title_is_hidden_from_everyone_but_the_organizer() -> None:
    event = make_event(is_private=True)
    occurrence = only_occurrence(event)
    assert meeting_from_event(event, occurrence, viewer="ana@example.com").title == (
        "Quarterly numbers"
    )
    assert meeting_from_event(event, occurrence, viewer="bo@example.com").title == PRIVATE_TITLE
    assert meeting_for_device(event, occurrence).title == PRIVATE_TITLE
    public = make_event()
    assert meeting_for_device(public, only_occurrence(public)).title == "Quarterly numbers"


def test_the_attendee_count_counts_people_once_and_no_rooms() -> None:
    event = make_event(attendees=(*make_event().attendees, Attendee("ANA@example.com", "Ana")))
    assert meeting_for_device(event, only_occurrence(event)).attendee_count == 2


def test_join_buttons_need_actionable_join_info_on_a_timed_live_event() -> None:
    assert gets_join_button(make_event())
    assert not gets_join_button(make_event(is_cancelled=True))
    assert not gets_join_button(make_event(join=None))
    keyword_only = JoinDetails("webex", "location", keyword="webex", meeting_backend="webex_pr")
    assert not gets_join_button(make_event(join=keyword_only))
    assert gets_join_button(make_event(join=keyword_only), fallback_join=ZOOM)
    all_day = make_event(start=date(2026, 3, 2), end=date(2026, 3, 3))
    assert not gets_join_button(all_day)


def test_a_copy_without_join_info_borrows_another_copys() -> None:
    stripped = make_event(join=None)
    meeting = meeting_for_device(stripped, only_occurrence(stripped), fallback_join=ZOOM)
    assert meeting.join == ZOOM
    assert meeting.join_button


def test_declined_attendees_are_recognised_in_any_case() -> None:
    event = make_event(attendees=(Attendee("bo@example.com", response=ResponseStatus.DECLINED),))
    assert declined_by(event, " BO@example.com")
    assert not declined_by(event, "ana@example.com")


def test_series_information_and_booking_ids_survive_an_occurrence_becoming_an_exception() -> None:
    master = make_event(recurrence=Recurrence(rrules=("FREQ=DAILY;COUNT=5",)))
    slot = START + timedelta(days=1)
    regular = meeting_for_device(
        master, Occurrence(master.id, slot, slot + timedelta(hours=1), slot)
    )
    moved = make_event(
        series_id=master.id,
        recurrence_id=slot,
        start=slot + timedelta(hours=2),
        end=slot + timedelta(hours=3),
    )
    exception = meeting_for_device(
        moved, Occurrence(moved.id, moved.start, moved.end, slot, is_override=True)
    )
    assert (regular.series_id, regular.is_recurring, regular.is_exception) == (
        master.id,
        True,
        False,
    )
    assert (exception.series_id, exception.is_exception) == (master.id, True)
    assert regular.booking_id == exception.booking_id
    single = make_event()
    assert meeting_for_device(single, only_occurrence(single)).series_id is None


def test_an_occurrence_of_another_event_is_refused() -> None:
    with pytest.raises(ValueError, match="another event"):
        meeting_for_device(make_event(), only_occurrence(make_event()))


def test_the_repr_shows_no_title() -> None:
    event = make_event()
    assert "Quarterly" not in repr(meeting_for_device(event, only_occurrence(event)))


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])


@given(instants, zones)
def test_booking_ids_name_the_instant_not_its_zone(at: datetime, zone: str) -> None:
    event_id = EventId(uuid.UUID(int=7))
    local = at.astimezone(ZoneInfo(zone))
    assert booking_id(event_id, local) == booking_id(event_id, at)
    assert len(booking_id(event_id, at)) == 32


@given(instants, instants)
def test_different_occurrences_get_different_booking_ids(a: datetime, b: datetime) -> None:
    event_id = EventId(uuid.UUID(int=7))
    assert (booking_id(event_id, a) == booking_id(event_id, b)) == (a == b)
    other = EventId(uuid.UUID(int=8))
    assert booking_id(event_id, a) != booking_id(other, a)


def test_replacing_the_subject_changes_only_the_title() -> None:
    event = make_event()
    renamed = dataclasses.replace(event, subject="Renamed")
    a = meeting_for_device(event, only_occurrence(event))
    b = meeting_for_device(renamed, only_occurrence(renamed))
    assert dataclasses.replace(a, title="Renamed") == b
