"""What the emulator stores for an event (graph.md §1.1-§1.3).

A calendar holds top-level items: single events and series masters. As in Exchange, a series'
exceptions and cancelled occurrences live inside its master, so one immutable ``StoredEvent``
value is the whole state of a series: an edit builds a new value, and the old one is the
"before" picture the delta journal keeps (§3).

``props`` holds the Graph JSON of every content property (subject, body, attendees, ...) exactly
as it is rendered; times, ids, change keys and series structure are typed fields. Values are
never mutated in place, only replaced.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from types import MappingProxyType
from typing import Any, Literal

from calhub.domain.events import Event as DomainEvent
from calhub.emulators.graph.events.times import Zone, instant

EventTime = datetime | date
ItemKind = Literal["singleInstance", "seriesMaster", "exception"]
InstanceKind = Literal["singleInstance", "occurrence", "exception"]

EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SeriesPlan:
    """A master in the domain's expansion terms, built once per write (see ``series``)."""

    series: DomainEvent
    overrides: tuple[DomainEvent, ...]
    exceptions_by_key: Mapping[uuid.UUID, StoredEvent]
    zone: tzinfo


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One single event, series master or exception in one mailbox's calendar."""

    id: str
    mailbox_id: str
    calendar_id: str
    kind: ItemKind
    ical_uid: str
    start: EventTime  # aware datetime in ``zone``, or a date for all-day events
    end: EventTime
    zone: Zone  # the start's zone as the client named it
    end_zone: Zone
    props: Mapping[str, Any]
    change_key: str
    created: datetime
    modified: datetime
    key: uuid.UUID = field(default_factory=uuid.uuid4)  # identity for domain expansion
    extended: Mapping[str, tuple[str, str]] = field(
        default_factory=lambda: EMPTY
    )  # lower-cased property id -> (id, value)
    transaction_id: str | None = None
    recurrence: Mapping[str, Any] | None = None  # normalised patternedRecurrence (masters)
    plan: SeriesPlan | None = None  # masters
    exceptions: Mapping[int, StoredEvent] = field(
        default_factory=lambda: EMPTY
    )  # masters: slot -> exception
    cancelled: Mapping[int, EventTime] = field(
        default_factory=lambda: EMPTY
    )  # masters: slot -> original start
    series_master_id: str | None = None  # exceptions
    original_start: EventTime | None = None  # exceptions

    @property
    def etag(self) -> str:
        return f'W/"{self.change_key}"'

    @property
    def is_all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    @property
    def start_instant(self) -> datetime:
        return instant(self.start, self.zone.info)

    @property
    def end_instant(self) -> datetime:
        return instant(self.end, self.zone.info)

    @property
    def is_organizer(self) -> bool:
        return bool(self.props.get("isOrganizer", True))

    @property
    def is_cancelled(self) -> bool:
        return bool(self.props.get("isCancelled", False))

    @property
    def show_as(self) -> str:
        return str(self.props.get("showAs", "busy"))


@dataclass(frozen=True, slots=True)
class Instance:
    """One event in time as calendarView shows it: a single event, an occurrence or an
    exception. ``source`` is the stored value whose content it shows (the master for an
    occurrence); ``master`` is set for occurrences and exceptions."""

    id: str
    kind: InstanceKind
    source: StoredEvent
    start: EventTime
    end: EventTime
    original_start: EventTime | None
    master: StoredEvent | None
    sort_key: datetime

    @property
    def end_instant(self) -> datetime:
        return instant(self.end, self.source.zone.info)


@dataclass(frozen=True, slots=True)
class CalendarRecord:
    """A mailbox's calendar (only the default one exists in the emulator)."""

    id: str
    group_id: str
    name: str
    owner_name: str
    owner_address: str
    change_key: str
