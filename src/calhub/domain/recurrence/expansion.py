"""Expand one series (plus its overridden instances) into the occurrences in a time window.

``expand(series, overrides, window_start, window_end, limit=...)`` follows RFC 5545:

- the recurrence set is DTSTART, the RRULE instances and the RDATEs, minus the EXDATEs
  (section 3.8.5); like Google, Outlook and recurring-ical-events, DTSTART counts even when
  it does not match the rule, unless it lies after UNTIL;
- instances keep their wall-clock time in the series' zone across DST changes (section 3.3.10);
  a nonexistent local time is read with the offset before the gap, an ambiguous one as its
  first occurrence (section 3.3.5) - that is what a zoneinfo datetime with ``fold=0`` means;
- each instance lasts the series' exact duration (section 3.8.5.3), so its end can differ in
  wall-clock terms from DTEND on a DST night;
- an override (an ``Event`` whose ``recurrence_id`` names a slot) replaces its slot wherever it
  moved to; a cancelled override or an EXDATE removes it (an EXDATE given as a date removes
  every instance on that local date);
- an occurrence is in the window when it overlaps ``[window_start, window_end)``; one of zero
  length when it starts in it; all-day occurrences are read in ``window_start``'s zone.

Work is bounded (see ``calhub.domain.recurrence.rules``); at most ``limit`` occurrences come back,
and ``Expansion.truncated`` says when more existed. Per-series preparation (bound rules, the
slots to drop, the extra instances) is kept for the most recently expanded event objects, so
expanding the same events over many windows pays for it once. A rule that would need too much
work to reach the window raises ``RecurrenceTooExpensive`` (an ``InvalidRecurrence``).
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from calhub.domain.events import Event, EventTime, Occurrence
from calhub.domain.recurrence.errors import ExpansionLimitExceeded
from calhub.domain.recurrence.rules import BoundRule, bind_rule

__all__ = ["Expansion", "ExpansionLimitExceeded", "expand"]

# Wall-clock and instant order can disagree by at most one UTC-offset change (two hours in
# any tz database zone); candidates this close to a window edge get an exact check.
_SLACK = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class Expansion:
    """Occurrences sorted by start; ``truncated`` is set when ``limit`` cut the list short."""

    occurrences: tuple[Occurrence, ...]
    truncated: ExpansionLimitExceeded | None = None


def expand(
    series: Event,
    overrides: Sequence[Event],
    window_start: datetime,
    window_end: datetime,
    *,
    limit: int,
) -> Expansion:
    """The occurrences of ``series`` overlapping ``[window_start, window_end)``."""
    if window_start.utcoffset() is None or window_end.utcoffset() is None:
        raise ValueError("the expansion window needs timezone-aware datetimes")
    if window_end < window_start:
        raise ValueError("the expansion window ends before it starts")
    if limit < 0:
        raise ValueError("limit must not be negative")
    if series.is_cancelled:
        return Expansion(())
    if series.recurrence is None:
        found: list[Occurrence] = []
        if _overlaps(series.start, series.end, window_start, window_end):
            found.append(Occurrence(series.id, series.start, series.end, series.start))
        return _finish(found, ([], []), window_start, limit, series)
    occurrences, extras = _plan_for(series, overrides).run(window_start, window_end, limit)
    return _finish(occurrences, extras, window_start, limit, series)


def _plan_for(series: Event, overrides: Sequence[Event]) -> _Plan:
    # Parsed rules are cached by rule text and start (``bind_rule``); the plan itself is cheap
    # and built per call, so no decrypted event is kept alive in a process-wide cache.
    if isinstance(series.start, datetime):
        return _TimedPlan(series, overrides)
    return _AllDayPlan(series, overrides)


def _finish(
    occurrences: list[Occurrence],
    extras: tuple[list[Occurrence], list[Occurrence]],
    window_start: datetime,
    limit: int,
    series: Event,
) -> Expansion:
    added, moved = extras
    if added or moved:
        # The rule's occurrences are sorted already; put the few extras in their places.
        zone = window_start.tzinfo

        def key(occurrence: Occurrence) -> datetime:
            return _instant(occurrence.start, zone)

        for extra in added:
            at = bisect_left(occurrences, key(extra), key=key)
            if at == len(occurrences) or key(occurrences[at]) != key(extra):
                occurrences.insert(at, extra)  # an RDATE on a rule slot is one instance
        for extra in moved:
            insort(occurrences, extra, key=key)
    if len(occurrences) <= limit:
        return Expansion(tuple(occurrences))
    rules = "; ".join(series.recurrence.rrules) if series.recurrence else "single event"
    error = ExpansionLimitExceeded(
        f"more than {limit} occurrences of event {series.id} ({rules or 'RDATE list'}) "
        "fall in the window; only the first ones were returned"
    )
    return Expansion(tuple(occurrences[:limit]), error)


def _instant(value: EventTime, zone: tzinfo | None) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=zone)


def _overlaps(start: EventTime, end: EventTime, lo: datetime, hi: datetime) -> bool:
    first, last = _instant(start, lo.tzinfo), _instant(end, lo.tzinfo)
    if first == last:
        return lo <= first < hi
    return first < hi and last > lo


class _Plan(ABC):
    """What one expansion needs: the bound rules, the slots to drop, the extra slots."""

    zone: tzinfo | None

    def __init__(self, series: Event, overrides: Sequence[Event]) -> None:
        recurrence = series.recurrence
        assert recurrence is not None
        self.series = series
        self.first = self.to_slot(series.start)
        self.rules: list[BoundRule] = [bind_rule(text, series.start) for text in recurrence.rrules]
        self.removed: dict[datetime, Event | None] = {}
        self.removed_days: set[date] = set()
        for exdate in recurrence.exdates:
            if isinstance(exdate, datetime) or not isinstance(series.start, datetime):
                self.removed[self.to_slot(exdate)] = None
            else:
                self.removed_days.add(exdate)
        self.overrides: list[tuple[datetime, Event]] = []
        for override in overrides:
            if override.recurrence_id is None:
                continue
            slot = self.to_slot(override.recurrence_id)
            if slot in self.removed and self.removed[slot] is None:
                continue  # an EXDATE beats an override of the same slot
            self.removed[slot] = override
            self.overrides.append((slot, override))
        self.candidates: list[Occurrence] | None = None
        self.removed_sorted = sorted(self.removed)
        self.extra_slots = sorted({self.to_slot(rdate) for rdate in recurrence.rdates})
        untils = [rule.until for rule in self.rules]
        if not untils or None in untils or any(self.first <= u for u in untils if u):
            self.extra_slots.append(self.first)

    @abstractmethod
    def to_slot(self, value: EventTime) -> datetime:
        """Implemented by the timed and the all-day plan."""

    def is_removed(self, slot: datetime) -> bool:
        return slot in self.removed or (
            bool(self.removed_days) and slot.date() in self.removed_days
        )

    def slots(self, lo: datetime) -> Iterator[datetime]:
        if len(self.rules) == 1:
            return self.rules[0].iterate_from(lo)
        merged = heapq.merge(*(rule.iterate_from(lo) for rule in self.rules))
        return _unique(merged)

    def extras(
        self, window_start: datetime, window_end: datetime
    ) -> tuple[list[Occurrence], list[Occurrence]]:
        """Occurrences from DTSTART and RDATEs, and those of overrides, in the window."""
        if self.candidates is None:
            self.candidates = self._candidates()
        found: list[Occurrence] = []
        moved: list[Occurrence] = []
        for occurrence in self.candidates:
            if _overlaps(occurrence.start, occurrence.end, window_start, window_end):
                (moved if occurrence.is_override else found).append(occurrence)
        return found, moved

    def _candidates(self) -> list[Occurrence]:
        candidates: list[Occurrence] = []
        for slot in self.extra_slots:
            if not self.is_removed(slot):
                start, end = self.occurrence_times(slot)
                candidates.append(Occurrence(self.series.id, start, end, start))
        for _, override in self.overrides:
            if not override.is_cancelled:
                original = override.recurrence_id
                assert original is not None
                candidates.append(
                    Occurrence(override.id, override.start, override.end, original, True)
                )
        return candidates

    @abstractmethod
    def occurrence_times(self, slot: datetime) -> tuple[EventTime, EventTime]:
        """Implemented by the timed and the all-day plan."""

    @abstractmethod
    def run(
        self, window_start: datetime, window_end: datetime, limit: int
    ) -> tuple[list[Occurrence], tuple[list[Occurrence], list[Occurrence]]]:
        """Rule occurrences in the window (at most ``limit`` + 1), and ``extras``."""


def _unique(values: Iterator[datetime]) -> Iterator[datetime]:
    last = None
    for value in values:
        if value != last:
            yield value
        last = value


class _TimedPlan(_Plan):
    def __init__(self, series: Event, overrides: Sequence[Event]) -> None:
        assert isinstance(series.start, datetime)
        assert isinstance(series.end, datetime)
        self.zone = series.start.tzinfo
        # Exact elapsed time: same-zone subtraction would give wall-clock time instead.
        self.duration = series.end.astimezone(UTC) - series.start.astimezone(UTC)
        self.fixed_offset = self.zone is UTC or isinstance(self.zone, timezone)
        super().__init__(series, overrides)

    def to_slot(self, value: EventTime) -> datetime:
        if isinstance(value, datetime):
            return value.astimezone(self.zone).replace(microsecond=0)
        return datetime.combine(value, time(), tzinfo=self.zone)

    def occurrence_times(self, slot: datetime) -> tuple[EventTime, EventTime]:
        return slot, self._end(slot)

    def _end(self, start: datetime) -> datetime:
        end = start + self.duration
        if self.fixed_offset or end.utcoffset() == start.utcoffset():
            return end
        return _exact_end(start, self.duration, self.zone)

    def run(
        self, window_start: datetime, window_end: datetime, limit: int
    ) -> tuple[list[Occurrence], tuple[list[Occurrence], list[Occurrence]]]:
        zone = self.zone
        lo = (window_start - self.duration).astimezone(zone) - _SLACK
        hi = window_end.astimezone(zone) + _SLACK
        sure_lo = window_start.astimezone(zone) + _SLACK
        sure_hi = window_end.astimezone(zone) - _SLACK
        duration, fixed, series_id = self.duration, self.fixed_offset, self.series.id
        # Removed slots as a sorted list walked alongside the instances: same-zone comparisons
        # are far cheaper than hashing aware datetimes.
        removed = self.removed_sorted
        next_removed = removed[0] if removed else None
        index = 0
        days = self.removed_days
        found: list[Occurrence] = []
        append = found.append
        for start in self.slots(lo):
            if start > hi:
                break
            if start < lo:
                continue
            if next_removed is not None:
                while next_removed is not None and next_removed < start:
                    index += 1
                    next_removed = removed[index] if index < len(removed) else None
                if next_removed == start:
                    continue
            if days and start.date() in days:
                continue
            end = start + duration
            if not fixed and end.utcoffset() != start.utcoffset():
                end = _exact_end(start, duration, zone)
            if not (sure_lo <= start < sure_hi) and not _overlaps(
                start, end, window_start, window_end
            ):
                continue
            append(Occurrence(series_id, start, end, start))
            if len(found) > limit:
                break
        return found, self.extras(window_start, window_end)


def _exact_end(start: datetime, duration: timedelta, zone: tzinfo | None) -> datetime:
    """``start`` plus elapsed ``duration`` across an offset change. An end in a repeated hour
    that reads earlier than the start on the wall clock is given in UTC, because datetimes
    sharing a tzinfo compare by wall clock."""
    end = (start.astimezone(UTC) + duration).astimezone(zone)
    return end if end >= start else end.astimezone(UTC)


class _AllDayPlan(_Plan):
    """All-day series run in a frame of midnight-UTC datetimes; results are dates."""

    def __init__(self, series: Event, overrides: Sequence[Event]) -> None:
        self.zone = UTC
        self.days = timedelta(days=(_day(series.end) - _day(series.start)).days)
        super().__init__(series, overrides)

    def to_slot(self, value: EventTime) -> datetime:
        return datetime.combine(_day(value), time(), tzinfo=UTC)

    def occurrence_times(self, slot: datetime) -> tuple[EventTime, EventTime]:
        day = slot.date()
        return day, day + self.days

    def run(
        self, window_start: datetime, window_end: datetime, limit: int
    ) -> tuple[list[Occurrence], tuple[list[Occurrence], list[Occurrence]]]:
        # The window's wall-clock readings, placed in the UTC frame the dates live in.
        lo = window_start.replace(tzinfo=UTC)
        hi = window_end.astimezone(window_start.tzinfo).replace(tzinfo=UTC)
        days, series_id = self.days, self.series.id
        removed = self.removed
        found: list[Occurrence] = []
        for slot in self.slots(lo - days):
            if slot >= hi:
                break
            if removed and slot in removed:
                continue
            if days:
                if slot + days <= lo:
                    continue
            elif slot < lo:
                continue
            day = slot.date()
            found.append(Occurrence(series_id, day, day + days, day))
            if len(found) > limit:
                break
        return found, self.extras(window_start, window_end)


def _day(value: EventTime) -> date:
    return value.date() if isinstance(value, datetime) else value
