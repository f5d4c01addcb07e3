"""Recurring events as instances: a series' slots in a window, and an instance's JSON.

An instance that was never changed is virtual: it is the series rendered with the instance's id
``<parent>_<UTC original start>``, its own start and end, ``recurringEventId`` and
``originalStartTime``, and no ``recurrence`` (google.md §1.4). A changed or cancelled instance is
an exception meeting (``Meeting.exceptions``) and renders as itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from calhub.emulators.google.calendar.model import Copy, Meeting, html_link, render
from calhub.emulators.google.calendar.times import (
    Slot,
    When,
    expand_series,
    instance_id,
    render_when,
)

HORIZON = timedelta(days=730)
"""How far an open-ended series is expanded when no ``timeMax`` bounds it."""


def default_window(meeting: Meeting, now: datetime) -> tuple[datetime, datetime]:
    first = meeting.start.instant()
    return first - timedelta(days=1), max(first, now) + HORIZON


def slots(meeting: Meeting, window: tuple[datetime, datetime], frame: tzinfo = UTC) -> list[Slot]:
    """The series' instances overlapping ``window``, exceptions in place (cancelled ones too)."""
    assert meeting.recurrence is not None
    exceptions = [
        (ex.id, ex.original, ex.start, ex.end, ex.cancelled)
        for ex in meeting.exceptions.values()
        if ex.original is not None
    ]
    return expand_series(
        meeting.id, meeting.start, meeting.end, meeting.recurrence, exceptions, window, frame=frame
    )


def find_slot(meeting: Meeting, event_id: str, original: Any) -> Slot | None:
    """The unchanged instance ``event_id`` of the series, if the rule produces it."""
    centre = When(original, None).instant()
    window = (centre - timedelta(days=2), centre + timedelta(days=2))
    for slot in slots(meeting, window):
        if slot.exception_id is None and instance_id(meeting.id, slot.original) == event_id:
            return slot
    return None


def render_instance(series: Copy, calendar_id: str, slot: Slot) -> dict[str, Any]:
    """A virtual instance of ``series`` as ``calendar_id`` reads it."""
    meeting = series.meeting
    out = render(series, calendar_id)
    out.pop("recurrence", None)
    zone_name = meeting.start.time_zone
    out["id"] = instance_id(meeting.id, slot.original)
    out["htmlLink"] = html_link(out["id"], calendar_id)
    out["start"] = render_when(When(_in_zone(slot.start, meeting.start), zone_name))
    out["end"] = render_when(When(_in_zone(slot.end, meeting.end), meeting.end.time_zone))
    out["recurringEventId"] = meeting.id
    out["originalStartTime"] = render_when(When(_in_zone(slot.original, meeting.start), zone_name))
    return out


def _in_zone(value: Any, like: When) -> Any:
    if isinstance(value, datetime) and isinstance(like.value, datetime):
        return value.astimezone(like.value.tzinfo)
    return value
