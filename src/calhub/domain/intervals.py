"""Half-open time intervals and normalised sets of them: the arithmetic behind free/busy.

``Interval(start, end)`` is ``[start, end)``: it contains ``start`` and not ``end``, so a meeting
ending at 10:00 and one starting at 10:00 do not overlap. ``IntervalSet`` holds intervals in one
canonical form (sorted, disjoint, never touching, none empty) and offers union ``|``,
intersection ``&``, difference ``-``, membership and total duration.

Both store instants in UTC. An aware datetime in any zone is accepted and converted with
``astimezone(UTC)``; naive datetimes are refused. The conversion is deliberate: Python compares
and subtracts two datetimes that share a ``tzinfo`` by wall clock, ignoring the offset, so two
Europe/Berlin times on the autumn day clocks go back (02:30 summer time, 02:15 winter time)
would compare the wrong way round and a 25-hour span would measure 24 hours. UTC has no such
gaps or folds, and one shared ``tzinfo`` keeps comparisons on Python's fast path. Convert results
back to a display zone with ``astimezone(zone)``.

Normalising n intervals sorts once and sweeps once (O(n log n)); union, intersection and
difference of two normalised sets walk both in step (linear in their sizes).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from calhub.domain.timezones import require_aware

_start = attrgetter("start")
_ZERO = timedelta(0)


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is UTC:
        return value
    return require_aware(value, what).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Interval:
    """``[start, end)`` between two aware instants, held in UTC; ``start == end`` is empty."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start, end = _utc(self.start, "interval start"), _utc(self.end, "interval end")
        if end < start:
            raise ValueError(f"interval ends before it starts: {start} .. {end}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def is_empty(self) -> bool:
        return self.start == self.end

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in ``[start, end)``."""
        instant = _utc(instant, "instant")
        return self.start <= instant < self.end

    def covers(self, other: Interval) -> bool:
        """Whether every instant of ``other`` lies in this interval."""
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Interval) -> bool:
        """Whether the two share at least one instant (touching ends do not count)."""
        return self.start < other.end and other.start < self.end

    def intersection(self, other: Interval) -> Interval | None:
        """The instants both share, or ``None`` when they share none."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return _raw(start, end) if start < end else None


def _raw(start: datetime, end: datetime) -> Interval:
    """An ``Interval`` from UTC instants already known to be ordered, skipping the checks.

    Normalisation builds many intervals from parts of checked ones; this keeps it cheap.
    """
    interval = object.__new__(Interval)
    object.__setattr__(interval, "start", start)
    object.__setattr__(interval, "end", end)
    return interval


def _sweep(ordered: Iterable[Interval]) -> tuple[Interval, ...]:
    """Merge intervals sorted by start into the canonical form, dropping empty ones."""
    merged: list[Interval] = []
    current: Interval | None = None
    end = datetime.min.replace(tzinfo=UTC)
    for interval in ordered:
        if interval.start == interval.end:
            continue
        if current is not None and interval.start <= end:
            # Touching or overlapping: extend the run instead of starting a new one.
            end = max(end, interval.end)
            continue
        if current is not None:
            merged.append(current if current.end == end else _raw(current.start, end))
        current, end = interval, interval.end
    if current is not None:
        merged.append(current if current.end == end else _raw(current.start, end))
    return tuple(merged)


class IntervalSet:
    """An immutable set of instants, kept as sorted, disjoint, non-touching, non-empty intervals."""

    __slots__ = ("_intervals",)
    _intervals: tuple[Interval, ...]

    def __init__(self, intervals: Iterable[Interval] = ()) -> None:
        object.__setattr__(self, "_intervals", _sweep(sorted(intervals, key=_start)))

    @classmethod
    def _normalised(cls, intervals: tuple[Interval, ...]) -> IntervalSet:
        result = object.__new__(cls)
        object.__setattr__(result, "_intervals", intervals)
        return result

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"IntervalSet is immutable; cannot set {name!r}")

    def __reduce__(self) -> tuple[type[IntervalSet], tuple[tuple[Interval, ...]]]:
        # The default protocol would restore state through the refused __setattr__.
        return (IntervalSet, (self._intervals,))

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return self._intervals

    @property
    def total_duration(self) -> timedelta:
        return sum((i.end - i.start for i in self._intervals), _ZERO)

    def __iter__(self) -> Iterator[Interval]:
        return iter(self._intervals)

    def __len__(self) -> int:
        return len(self._intervals)

    def __bool__(self) -> bool:
        return bool(self._intervals)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self._intervals == other._intervals

    def __hash__(self) -> int:
        return hash(self._intervals)

    def __repr__(self) -> str:
        parts = ", ".join(f"[{i.start.isoformat()}, {i.end.isoformat()})" for i in self._intervals)
        return f"IntervalSet({parts})"

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in one of the intervals (a binary search)."""
        instant = _utc(instant, "instant")
        index = bisect_right(self._intervals, instant, key=_start) - 1
        return index >= 0 and instant < self._intervals[index].end

    def union(self, other: IntervalSet) -> IntervalSet:
        # Both inputs are sorted runs, which Timsort merges in linear time.
        return IntervalSet._normalised(
            _sweep(sorted(self._intervals + other._intervals, key=_start))
        )

    def intersection(self, other: IntervalSet) -> IntervalSet:
        left, right = self._intervals, other._intervals
        result: list[Interval] = []
        i = j = 0
        while i < len(left) and j < len(right):
            a, b = left[i], right[j]
            start = a.start if a.start > b.start else b.start
            end = a.end if a.end < b.end else b.end
            if start < end:
                result.append(a if (start, end) == (a.start, a.end) else _raw(start, end))
            # Drop whichever ends first: it can meet nothing further in the other set.
            if a.end < b.end:
                i += 1
            else:
                j += 1
        return IntervalSet._normalised(tuple(result))

    def difference(self, other: IntervalSet) -> IntervalSet:
        cuts = other._intervals
        result: list[Interval] = []
        j = 0
        for interval in self._intervals:
            start, end = interval.start, interval.end
            # Cuts that end before this interval starts cannot touch later intervals either.
            while j < len(cuts) and cuts[j].end <= start:
                j += 1
            k = j
            while k < len(cuts) and cuts[k].start < end:
                cut = cuts[k]
                if cut.start > start:
                    result.append(_raw(start, cut.start))
                start = max(start, cut.end)
                if start >= end:
                    break
                k += 1
            if start < end:
                result.append(interval if start == interval.start else _raw(start, end))
        return IntervalSet._normalised(tuple(result))

    def complement(self, within: Interval) -> IntervalSet:
        """The instants of ``within`` not in this set (free time inside a window)."""
        return IntervalSet([within]).difference(self)

    def __or__(self, other: IntervalSet) -> IntervalSet:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self.union(other)

    def __and__(self, other: IntervalSet) -> IntervalSet:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self.intersection(other)

    def __sub__(self, other: IntervalSet) -> IntervalSet:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self.difference(other)
