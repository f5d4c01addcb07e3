"""What a provider reports about a calendar, in domain terms and with the provider's own ids.

A provider's mapping functions (``calhub.providers.msgraph.mapping``, later Google's) turn
payloads into these values; the planner (``calhub.domain.sync.planner``) turns them into mirror
operations with the hub's ids. Nothing here knows a provider.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from calhub.domain.events import Attendee, Event, EventTime, Occurrence, Recurrence, ShowAs
from calhub.domain.ids import EventId
from calhub.domain.joinlinks.model import BodyFormat, ProviderHints


class ItemKind(enum.StrEnum):
    SINGLE = "single"
    SERIES = "series"  # a series master; carries the recurrence
    EXCEPTION = "exception"  # a changed instance of a series
    OCCURRENCE = "occurrence"  # an unchanged instance: the planner expands series itself


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One created or updated item. ``series_provider_id`` and ``original_start`` are set on
    exceptions and occurrences; ``cancelled_starts`` on a series lists instances removed from it."""

    provider_event_id: str
    kind: ItemKind
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
    series_provider_id: str | None = None
    original_start: EventTime | None = None
    cancelled_starts: tuple[EventTime, ...] = ()
    change_key: str = ""
    body_format: BodyFormat = "html"
    is_organizer: bool = False  # this copy is the organizer's (where join blocks are written)
    hints: ProviderHints | None = None  # meeting data the provider knows (Teams joinUrl, ...)
    ical_uid: str | None = None  # the iCalendar UID every copy of the meeting shares


@dataclass(frozen=True, slots=True)
class Removal:
    """An item deleted from the calendar (or gone out of the synced window)."""

    provider_event_id: str


Change = ProviderEvent | Removal


@dataclass(frozen=True, slots=True)
class SeriesOccurrences:
    """Every occurrence of one mirrored event inside the mirror window (replaces the old set)."""

    event_id: EventId
    occurrences: tuple[Occurrence, ...]
    truncated: bool = False  # the expansion limit cut the series short


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What one page chain does to a calendar's mirror; applied in one transaction.

    ``upserts`` are whole events with the hub's ids (existing ids kept for known provider ids);
    ``deletes`` removes events with their occurrences; ``occurrences`` replaces the occurrence
    set of each named event; ``problems`` are items that could not be used, in words."""

    upserts: tuple[Event, ...] = ()
    deletes: tuple[EventId, ...] = ()
    occurrences: tuple[SeriesOccurrences, ...] = ()
    problems: tuple[str, ...] = ()
