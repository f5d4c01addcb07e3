"""Exchange's resource booking attendant, as room mailboxes answer invitations (graph.md §1.6, §7).

A room (``Mailbox.kind == "room"``) invited as a ``resource`` attendee or named by a location's
``locationEmailAddress``:

- declines when its ``bookingType`` is ``reserved`` (first come, first served; not bookable);
- declines when any instance of the meeting overlaps a booking already in its calendar (the
  attendant's default ``AllowConflicts=false``); a series is checked over the attendant's default
  booking window of 180 days from now;
- accepts otherwise, and its calendar then holds the booking.

The answer is asked again whenever the organizer changes the meeting's times, pattern or
exceptions, and covers the whole series: where Exchange would decline just a moved occurrence
that now conflicts, the emulator declines the series.

Real auto-accept is asynchronous (seconds); the emulator answers at once, which graph.md marks
UNVERIFIED either way.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta
from typing import Literal

from calhub.emulators.graph.events.model import StoredEvent
from calhub.emulators.graph.events.scope import Scope
from calhub.emulators.graph.events.series import instances, overlaps
from calhub.emulators.graph.state import Mailbox

BOOKING_WINDOW = timedelta(days=180)

RoomAnswer = Literal["accepted", "declined"]


def room_answer(scope: Scope, room: Mailbox, meeting: StoredEvent) -> RoomAnswer:
    """What the room's attendant answers to ``meeting`` (the organizer's current value)."""
    if room.room is not None and room.room.booking_type == "reserved":
        return "declined"
    spans = _meeting_spans(scope, meeting)
    if not spans:
        return "accepted"
    box = scope.box(room)
    own_copy = box.by_uid.get(meeting.ical_uid)
    lo, hi = spans[0][0], max(end for _, end in spans)
    busy: list[tuple[datetime, datetime]] = []
    for item in box.items.values():
        if item.id == own_copy or item.is_cancelled:
            continue
        for instance in instances(item, lo, hi):
            if instance.source.show_as != "free" and not instance.source.is_cancelled:
                busy.append((instance.sort_key, instance.end_instant))
    busy.sort()
    starts = [start for start, _ in busy]
    for start, end in spans:
        if start == end:
            continue
        for other_start, other_end in busy[: bisect_left(starts, end)]:
            if other_start != other_end and overlaps(start, end, other_start, other_end):
                return "declined"
    return "accepted"


def _meeting_spans(scope: Scope, meeting: StoredEvent) -> list[tuple[datetime, datetime]]:
    if meeting.plan is None:
        return [(meeting.start_instant, meeting.end_instant)]
    lo = max(meeting.start_instant, scope.now())
    return [(i.sort_key, i.end_instant) for i in instances(meeting, lo, lo + BOOKING_WINDOW)]
