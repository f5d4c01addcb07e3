"""One meeting occurrence as a meetings list shows it to one viewer (issue 6, "Meetings list").

A ``Meeting`` is built from a stored ``Event`` and one of its ``Occurrence`` values by
``meeting_from_event`` (a person's list: the viewer's address decides the privacy rule) or
``meeting_for_device`` (a room device or client feed: a device is never the organizer). Both
are pure, so the join-prompt scheduler can snapshot a booking inside a sync transaction.

Rules, from shared/reference/joinlinks.md §1.7-1.10 and the issue:

- The title of a private event is ``PRIVATE_TITLE`` for everyone but its organizer.
- Join details are the event's own; when the copy has none (a room mailbox may strip the body)
  the caller may pass those of another copy of the same meeting as ``fallback_join``.
- ``gets_join_button``: join details someone can act on (a link, a video address or a dial
  string; a keyword not yet resolved has none), not cancelled, not all-day.
- ``booking_id`` is stable per occurrence: it hashes the series id and the original start
  (§4.7: "hash of series id + original start"), so an occurrence keeps its id when it is moved
  and becomes an exception; a single event's id is its own, whatever its time
  (``occurrence_slot``).
- ``attendee_count`` counts people: the organizer and every attendee that is not a resource
  (rooms and equipment), each address once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from calhub.domain.events import (
    AttendeeKind,
    Event,
    EventTime,
    Occurrence,
    ResponseStatus,
    ShowAs,
)
from calhub.domain.ids import CalendarId, EventId
from calhub.domain.joinlinks.model import JoinDetails

__all__ = [
    "PRIVATE_TITLE",
    "Meeting",
    "attendee_count",
    "booking_id",
    "declined_by",
    "gets_join_button",
    "has_join_info",
    "is_organizer",
    "meeting_for_device",
    "meeting_from_event",
    "occurrence_slot",
    "title_visible_to",
]

PRIVATE_TITLE = "Private meeting"


def _address(email: str) -> str:
    return email.strip().lower()


def _instant_text(value: EventTime) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value.isoformat()


SINGLE_EVENT_SLOT: EventTime = datetime(1970, 1, 1, tzinfo=UTC)
"""The slot of a single event's one occurrence: it has that one whatever its time, so moving
it keeps its booking id (RoomOS moves a booking; it does not replace it)."""


def occurrence_slot(original_start: EventTime, *, recurring: bool) -> EventTime:
    """Which occurrence of its meeting this is: the original start in a series (the
    RECURRENCE-ID), ``SINGLE_EVENT_SLOT`` for a single event."""
    return original_start if recurring else SINGLE_EVENT_SLOT


def booking_id(event_id: EventId, slot: EventTime) -> str:
    """The stable id of one occurrence: 32 hex digits of SHA-256 over the id of its series
    (or single event) and its ``occurrence_slot`` as a UTC instant (or a date, all-day)."""
    text = f"{event_id}|{_instant_text(slot)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def has_join_info(join: JoinDetails | None) -> bool:
    """Whether ``join`` says how to join: a link, a video address or a dial string."""
    return join is not None and bool(join.join_url or join.sip_uri or join.dial_string)


def gets_join_button(event: Event, fallback_join: JoinDetails | None = None) -> bool:
    """Whether occurrences of ``event`` get a Join button (and a join prompt): join info
    present (its own, else ``fallback_join``), not cancelled, not all-day (§1.7, §1.10)."""
    join = event.join if has_join_info(event.join) else fallback_join
    return has_join_info(join) and not event.is_cancelled and not event.is_all_day


def is_organizer(event: Event, viewer: str | None) -> bool:
    """Whether the person with address ``viewer`` organises ``event`` (any case)."""
    return (
        viewer is not None
        and event.organizer is not None
        and _address(event.organizer.email) == _address(viewer)
    )


def title_visible_to(event: Event, viewer: str | None) -> bool:
    """Whether ``viewer`` (None: a device) sees the subject: always, unless the event is
    private and the viewer is not its organizer."""
    return not event.is_private or is_organizer(event, viewer)


def declined_by(event: Event, viewer: str) -> bool:
    """Whether ``viewer`` is an attendee of ``event`` who declined it."""
    wanted = _address(viewer)
    return any(
        _address(a.email) == wanted and a.response is ResponseStatus.DECLINED
        for a in event.attendees
    )


def attendee_count(event: Event) -> int:
    """People invited: the organizer and every attendee that is not a resource, once each."""
    people = {_address(a.email) for a in event.attendees if a.kind is not AttendeeKind.RESOURCE}
    if event.organizer is not None:
        people.add(_address(event.organizer.email))
    return len(people)


@dataclass(frozen=True, slots=True)
class Meeting:
    """One occurrence as a list shows it. ``title`` is already what the viewer may see;
    ``series_id`` names the series master for an instance of a series (None for a single
    event); ``time_zone`` is the event's, where all-day dates begin. The repr leaves out the
    title and join details."""

    event_id: EventId
    calendar_id: CalendarId
    start: EventTime
    end: EventTime
    original_start: EventTime
    time_zone: str
    title: str
    is_private: bool
    organizer_name: str
    attendee_count: int
    join: JoinDetails | None
    join_button: bool
    series_id: EventId | None
    is_exception: bool
    show_as: ShowAs

    @property
    def is_recurring(self) -> bool:
        return self.series_id is not None

    @property
    def is_all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def slot(self) -> EventTime:
        return occurrence_slot(self.original_start, recurring=self.is_recurring)

    @property
    def booking_id(self) -> str:
        return booking_id(self.series_id or self.event_id, self.slot)

    def __repr__(self) -> str:
        return (
            f"Meeting(event_id={self.event_id}, start={_instant_text(self.start)}, "
            f"private={self.is_private}, join_button={self.join_button})"
        )


def meeting_from_event(
    event: Event,
    occurrence: Occurrence,
    *,
    viewer: str | None,
    fallback_join: JoinDetails | None = None,
) -> Meeting:
    """The meeting ``occurrence`` of ``event`` is, as the person ``viewer`` sees it (None: a
    device). ``fallback_join`` stands in when the event has no join info of its own."""
    if occurrence.event_id != event.id:
        raise ValueError("the occurrence belongs to another event")
    join = event.join if has_join_info(event.join) else (fallback_join or event.join)
    series_id = event.series_id or (event.id if event.recurrence is not None else None)
    return Meeting(
        event_id=event.id,
        calendar_id=event.calendar_id,
        start=occurrence.start,
        end=occurrence.end,
        original_start=occurrence.original_start,
        time_zone=event.time_zone,
        title=event.subject if title_visible_to(event, viewer) else PRIVATE_TITLE,
        is_private=event.is_private,
        organizer_name=event.organizer.name if event.organizer is not None else "",
        attendee_count=attendee_count(event),
        join=join,
        join_button=gets_join_button(event, fallback_join),
        series_id=series_id,
        is_exception=event.series_id is not None,
        show_as=event.show_as,
    )


def meeting_for_device(
    event: Event, occurrence: Occurrence, *, fallback_join: JoinDetails | None = None
) -> Meeting:
    """The meeting as a room device or client feed shows it: a device never organises, so a
    private event shows ``PRIVATE_TITLE``."""
    return meeting_from_event(event, occurrence, viewer=None, fallback_join=fallback_join)
