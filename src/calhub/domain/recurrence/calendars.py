"""Expand everything ``read_calendar`` found, including RANGE=THISANDFUTURE overrides.

``expand_calendar(data, window_start, window_end, limit=...)`` expands each UID with ``expand``
and merges the results by start. A THISANDFUTURE override (RFC 5545 section 3.8.4.4) moves every
later instance that is not itself overridden by the same offset and gives it the override's
length; the instances then belong to that override (``event_id`` is the override's id). The
window is widened by the offsets so instances moved into it are found. A series whose rule is
too expensive to reach the window is left out and reported in ``Expansion.truncated``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta, tzinfo

from calhub.domain.events import Event, EventTime, Occurrence
from calhub.domain.recurrence.errors import ExpansionLimitExceeded, RecurrenceTooExpensive
from calhub.domain.recurrence.expansion import Expansion, expand
from calhub.domain.recurrence.ical import CalendarData, CalendarSeries

__all__ = ["expand_calendar"]


def expand_calendar(
    data: CalendarData, window_start: datetime, window_end: datetime, *, limit: int
) -> Expansion:
    """All occurrences of the calendar overlapping the window, sorted by start."""
    found: list[Occurrence] = []
    truncated: ExpansionLimitExceeded | None = None
    for item in data.series:
        try:
            expansion = _expand_series(item, window_start, window_end, limit)
        except RecurrenceTooExpensive as exc:
            truncated = truncated or exc  # one runaway series must not hide the calendar
            continue
        found.extend(expansion.occurrences)
        truncated = truncated or expansion.truncated
    zone = window_start.tzinfo
    found.sort(key=lambda occurrence: _instant(occurrence.start, zone))
    if len(found) > limit:
        truncated = truncated or ExpansionLimitExceeded(
            f"more than {limit} occurrences fall in the window; only the first ones were returned"
        )
        found = found[:limit]
    return Expansion(tuple(found), truncated)


def _instant(value: EventTime, zone: tzinfo | None) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=zone)


def _expand_series(
    item: CalendarSeries, window_start: datetime, window_end: datetime, limit: int
) -> Expansion:
    if item.master is None:
        # Overrides whose series never arrived still happen; show them as single events.
        singles: list[Occurrence] = []
        for override in item.overrides:
            single = replace(override, series_id=None, recurrence_id=None)
            singles.extend(expand(single, (), window_start, window_end, limit=limit).occurrences)
        return Expansion(tuple(singles))
    if not item.this_and_future:
        return expand(item.master, item.overrides, window_start, window_end, limit=limit)
    return _expand_this_and_future(item, item.master, window_start, window_end, limit)


def _offset(event: Event) -> tuple[EventTime, timedelta, timedelta]:
    original = event.recurrence_id
    assert original is not None
    start, end = event.start, event.end
    if isinstance(start, datetime) != isinstance(original, datetime):
        return original, timedelta(0), end - start  # type: ignore[operator]
    return original, start - original, end - start  # type: ignore[operator]


def _expand_this_and_future(
    item: CalendarSeries,
    master: Event,
    window_start: datetime,
    window_end: datetime,
    limit: int,
) -> Expansion:
    changes = sorted(((*_offset(event), event) for event in item.this_and_future), key=_key)
    reach = max(abs(offset) + length for _, offset, length, _ in changes)
    wide = expand(master, item.overrides, window_start - reach, window_end + reach, limit=limit)
    zone = window_start.tzinfo
    moved: list[Occurrence] = []
    for occurrence in wide.occurrences:
        if not occurrence.is_override:
            for original, offset, length, event in reversed(changes):
                if _instant(occurrence.original_start, zone) > _instant(original, zone):
                    start = occurrence.original_start + offset
                    occurrence = Occurrence(
                        event.id, start, start + length, occurrence.original_start, True
                    )
                    break
        if _overlaps(occurrence, window_start, window_end):
            moved.append(occurrence)
    moved.sort(key=lambda occurrence: _instant(occurrence.start, zone))
    return Expansion(tuple(moved[:limit]), wide.truncated)


def _key(change: tuple[EventTime, timedelta, timedelta, Event]) -> datetime:
    return _instant(change[0], UTC)


def _overlaps(occurrence: Occurrence, lo: datetime, hi: datetime) -> bool:
    first = _instant(occurrence.start, lo.tzinfo)
    last = _instant(occurrence.end, lo.tzinfo)
    if first == last:
        return lo <= first < hi
    return first < hi and last > lo
