"""One entry per meeting occurrence, however many mailboxes hold a copy of the meeting.

A meeting sits in the organizer's calendar, in each attendee's and in each room's; all copies
share the iCalendar UID (Graph ``iCalUId``). ``one_copy_each`` keeps one copy per
(meeting, original start), preferring the copy in the viewer's own calendar, then the
organizer's copy, then the lowest ``tiebreak`` (so the choice never depends on row order).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from calhub.domain.events import EventTime

__all__ = ["Copy", "one_copy_each"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Copy(Generic[T]):
    """One copy of an occurrence. ``meeting_key`` is what copies of one meeting share (the
    blind index of the series' UID, or the event's own id when it has none)."""

    meeting_key: Hashable
    original_start: EventTime
    in_own_calendar: bool
    is_organizer_copy: bool
    tiebreak: str
    item: T

    def rank(self) -> tuple[bool, bool, str]:
        return (not self.in_own_calendar, not self.is_organizer_copy, self.tiebreak)


def one_copy_each(copies: Iterable[Copy[T]]) -> list[T]:
    """The preferred copy of each (meeting, original start), in order of first appearance."""
    best: dict[tuple[Hashable, EventTime], Copy[T]] = {}
    for copy in copies:
        key = (copy.meeting_key, copy.original_start)
        kept = best.get(key)
        if kept is None or copy.rank() < kept.rank():
            best[key] = copy
    return [copy.item for copy in best.values()]
