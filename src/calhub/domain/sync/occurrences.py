"""The occurrence sets the planner hands to the mirror: one per mirrored event, in the window.

A single event has one occurrence when it overlaps the window (``expand`` of an event without a
recurrence), none otherwise or when it is cancelled. A series is expanded once with its current
exceptions as overrides (RFC 5545 section 3.8.4.4; cancelled instances are EXDATEs on the
master, section 3.8.5.1) and the result is split by owner: the master keeps the rule's
instances, each exception its own moved instance. The storage layer replaces occurrences per
event (``OccurrenceRepository.replace_for_events``), so every member of an expanded series gets
an entry, an empty one when it has nothing in the window.

All-day values are read in the event's own zone (the window is re-expressed in it before
expanding), as the mirror stores them (``calhub.storage.mappers.instant``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from calhub.domain.events import Event, Occurrence
from calhub.domain.ids import EventId
from calhub.domain.recurrence import InvalidRecurrence, expand
from calhub.domain.sync.changes import SeriesOccurrences
from calhub.domain.timezones import UnknownTimeZone, resolve_zone


@dataclass(frozen=True, slots=True)
class MirrorWindow:
    """The span the mirror keeps occurrences for, and the most one event may have in it."""

    start: datetime
    end: datetime
    occurrence_limit: int

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("the mirror window needs timezone-aware datetimes")
        if self.end < self.start:
            raise ValueError("the mirror window ends before it starts")
        if self.occurrence_limit < 1:
            raise ValueError("the occurrence limit must be at least 1")

    def read_in_zone_of(self, event: Event) -> tuple[datetime, datetime]:
        """The window as the event's all-day dates should be read against it."""
        if not event.is_all_day:
            return self.start, self.end
        try:
            zone = resolve_zone(event.time_zone)
        except UnknownTimeZone:
            return self.start, self.end  # a zone nobody can name: read the dates in UTC
        return self.start.astimezone(zone), self.end.astimezone(zone)


@dataclass(frozen=True, slots=True)
class ExpandedSeries:
    """The occurrence sets of one event or series, and what went wrong in words."""

    sets: tuple[SeriesOccurrences, ...]
    problem: str | None = None


def expand_members(
    master: Event, exceptions: Sequence[Event], window: MirrorWindow
) -> ExpandedSeries:
    """Occurrence sets for ``master`` (a single event or a series master) and its exceptions.

    A rule that cannot be expanded (``InvalidRecurrence``, which includes rules too expensive to
    walk to the window, or date arithmetic past year 9999) leaves every member without
    occurrences and says why; the events themselves stay mirrored."""
    window_start, window_end = window.read_in_zone_of(master)
    try:
        expansion = expand(
            master, exceptions, window_start, window_end, limit=window.occurrence_limit
        )
    except (InvalidRecurrence, OverflowError) as error:
        # OverflowError: a COUNT so large that binding the rule runs past year 9999.
        empty = tuple(SeriesOccurrences(member.id, ()) for member in (master, *exceptions))
        return ExpandedSeries(
            empty, f"event {master.provider_event_id}: recurrence not expanded: {error}"
        )
    owned: dict[EventId, list[Occurrence]] = {member.id: [] for member in (master, *exceptions)}
    for occurrence in expansion.occurrences:
        owned[occurrence.event_id].append(occurrence)
    truncated = expansion.truncated is not None
    sets = [SeriesOccurrences(master.id, tuple(owned[master.id]), truncated)]
    sets.extend(SeriesOccurrences(member.id, tuple(owned[member.id])) for member in exceptions)
    problem = None
    if expansion.truncated is not None:
        problem = f"event {master.provider_event_id}: {expansion.truncated}"
    return ExpandedSeries(tuple(sets), problem)
