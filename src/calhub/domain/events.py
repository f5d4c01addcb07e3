"""Events, attendees and occurrences: the hub's model of what sits in a calendar.

Times are either aware ``datetime`` (timed events) or ``date`` (all-day events, end exclusive).
A recurring series is one ``Event`` with a ``Recurrence``; a changed instance is another ``Event``
whose ``recurrence_id`` names the original start it replaces (RFC 5545 section 3.8.4.4); a
cancelled instance is an EXDATE or an override with ``is_cancelled``. Expanding a series gives
``Occurrence`` values for a bounded window (see ``calhub.domain.recurrence``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.joinlinks.model import BodyFormat, JoinDetails

EventTime = datetime | date
"""An aware datetime, or a date for all-day values. Never a naive datetime."""


class InvalidEvent(ValueError):
    """An event whose fields contradict each other (naive time, end before start, ...)."""


class ResponseStatus(enum.StrEnum):
    NONE = "none"
    ORGANIZER = "organizer"
    ACCEPTED = "accepted"
    TENTATIVE = "tentative"
    DECLINED = "declined"
    NOT_RESPONDED = "notResponded"


class AttendeeKind(enum.StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    RESOURCE = "resource"


class ShowAs(enum.StrEnum):
    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OUT_OF_OFFICE = "oof"
    WORKING_ELSEWHERE = "workingElsewhere"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Attendee:
    email: str
    name: str = ""
    kind: AttendeeKind = AttendeeKind.REQUIRED
    response: ResponseStatus = ResponseStatus.NONE

    def __post_init__(self) -> None:
        if "@" not in self.email:
            raise InvalidEvent(f"attendee address without '@': {self.email!r}")


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A series rule in RFC 5545 terms: RRULE lines plus RDATE and EXDATE values.

    Graph's ``patternedRecurrence`` is translated into this shape by
    ``calhub.domain.recurrence.graph``, so there is one expansion engine.
    """

    rrules: tuple[str, ...] = ()
    rdates: tuple[EventTime, ...] = ()
    exdates: tuple[EventTime, ...] = ()


def check_time(value: EventTime, what: str) -> None:
    """Reject naive datetimes: every instant in calhub carries its zone."""
    if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise InvalidEvent(f"{what} is a naive datetime: {value.isoformat()}")


def _instant(value: EventTime) -> EventTime:
    # Two datetimes in one zone compare by wall clock, which is wrong across a DST fold
    # (01:30 EDT to 01:00 EST is a valid half hour), so timed values compare as UTC instants.
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def is_all_day(start: EventTime) -> bool:
    return not isinstance(start, datetime)


@dataclass(frozen=True, slots=True)
class Event:
    """One event as the hub keeps it. ``provider_event_id`` is the id in the source calendar."""

    id: EventId
    tenant_id: TenantId
    calendar_id: CalendarId
    provider_event_id: str
    start: EventTime
    end: EventTime
    time_zone: str = "UTC"
    subject: str = ""
    body: str = ""
    location: str = ""
    organizer: Attendee | None = None
    attendees: tuple[Attendee, ...] = ()
    show_as: ShowAs = ShowAs.BUSY
    is_private: bool = False
    is_cancelled: bool = False
    recurrence: Recurrence | None = None
    series_id: EventId | None = None
    recurrence_id: EventTime | None = None
    change_key: str = ""
    body_format: BodyFormat = "html"
    is_organizer: bool = False
    join: JoinDetails | None = None  # how to join, as detected in the event (or None)
    # The iCalendar UID every mailbox's copy of the meeting shares. Stored only as a blind index
    # (so read back as None) and so left out of equality: a mirrored event still equals the
    # same event planned again, and a sync does not rewrite what did not change.
    ical_uid: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_time(self.start, "start")
        check_time(self.end, "end")
        if isinstance(self.start, datetime) != isinstance(self.end, datetime):
            raise InvalidEvent("start and end must both be dates (all-day) or both datetimes")
        if _instant(self.end) < _instant(self.start):
            raise InvalidEvent("end is before start")
        if self.recurrence_id is not None:
            check_time(self.recurrence_id, "recurrence_id")
            if self.series_id is None:
                raise InvalidEvent("an overridden instance needs the series it belongs to")

    @property
    def is_all_day(self) -> bool:
        return is_all_day(self.start)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One instance of an event in time. ``original_start`` is its slot in the series rule
    (the RECURRENCE-ID); for a single event it equals ``start``."""

    event_id: EventId
    start: EventTime
    end: EventTime
    original_start: EventTime
    is_override: bool = False
