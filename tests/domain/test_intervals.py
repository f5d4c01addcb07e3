"""Intervals and interval sets: the algebra free/busy relies on, checked against a naive model."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calhub.domain.intervals import Interval, IntervalSet

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [UTC, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
# Three hours before Berlin's clocks go back (2026-10-25 01:00 UTC), so generated values straddle
# a fold: two Berlin datetimes sharing a tzinfo there compare by wall clock unless converted.
BASE = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
SPAN_MINUTES = 600
WINDOW = Interval(BASE - timedelta(hours=1), BASE + timedelta(minutes=SPAN_MINUTES + 180))


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


instants = st.builds(
    lambda minute, zone: (BASE + timedelta(minutes=minute)).astimezone(zone),
    st.integers(-30, SPAN_MINUTES + 150),
    st.sampled_from(ZONES),
)
intervals = st.builds(
    lambda start, length, start_zone, end_zone: Interval(
        (BASE + timedelta(minutes=start)).astimezone(start_zone),
        (BASE + timedelta(minutes=start + length)).astimezone(end_zone),
    ),
    st.integers(0, SPAN_MINUTES),
    st.integers(0, 120),
    st.sampled_from(ZONES),
    st.sampled_from(ZONES),
)
raw_lists = st.lists(intervals, max_size=12)
sets = raw_lists.map(IntervalSet)


def assert_canonical(value: IntervalSet) -> None:
    for interval in value:
        assert interval.start < interval.end
        assert interval.start.tzinfo is UTC
        assert interval.end.tzinfo is UTC
    for before, after in zip(value.intervals, value.intervals[1:], strict=False):
        assert before.end < after.start  # sorted, disjoint and not touching


def probes(*groups: IntervalSet | list[Interval]) -> list[datetime]:
    """Every boundary and the instants just either side of it: where set algebra goes wrong."""
    points: list[datetime] = []
    for group in groups:
        for interval in group:
            for edge in (interval.start, interval.end):
                points += [edge - timedelta(seconds=1), edge, edge + timedelta(seconds=1)]
    return points


# --- normalisation ---------------------------------------------------------------------------


@given(raw_lists)
def test_normalisation_is_canonical_idempotent_and_order_free(raw: list[Interval]) -> None:
    normal = IntervalSet(raw)
    assert_canonical(normal)
    assert IntervalSet(normal) == normal
    assert IntervalSet(reversed(raw)) == normal
    assert IntervalSet([*raw, *raw]) == normal


@given(raw_lists, instants)
def test_membership_agrees_with_the_naive_model(raw: list[Interval], instant: datetime) -> None:
    normal = IntervalSet(raw)
    for point in [instant, *probes(raw)]:
        assert normal.contains(point) == any(i.contains(point) for i in raw), point


@given(raw_lists)
def test_total_duration_never_exceeds_the_sum_of_parts(raw: list[Interval]) -> None:
    total = IntervalSet(raw).total_duration
    assert total <= sum((i.duration for i in raw), timedelta(0))
    if all(not a.overlaps(b) for n, a in enumerate(raw) for b in raw[n + 1 :]):
        assert total == sum((i.duration for i in raw), timedelta(0))


# --- binary operations -----------------------------------------------------------------------


@given(sets, sets)
def test_operations_agree_with_the_naive_model(a: IntervalSet, b: IntervalSet) -> None:
    union, both, only_a = a | b, a & b, a - b
    for result in (union, both, only_a):
        assert_canonical(result)
    for point in probes(a, b):
        in_a, in_b = a.contains(point), b.contains(point)
        assert union.contains(point) == (in_a or in_b)
        assert both.contains(point) == (in_a and in_b)
        assert only_a.contains(point) == (in_a and not in_b)


@given(sets, sets)
def test_union_and_intersection_commute(a: IntervalSet, b: IntervalSet) -> None:
    assert a | b == b | a
    assert a & b == b & a


@given(sets, sets, sets)
def test_union_and_intersection_associate(a: IntervalSet, b: IntervalSet, c: IntervalSet) -> None:
    assert (a | b) | c == a | (b | c)
    assert (a & b) & c == a & (b & c)
    assert a & (b | c) == (a & b) | (a & c)


@given(sets, sets)
def test_difference_laws(a: IntervalSet, b: IntervalSet) -> None:
    assert not ((a - b) & b)
    assert (a - b) | (a & b) == a
    assert a - a == IntervalSet()
    assert a - IntervalSet() == a


@given(sets, sets)
def test_de_morgan_within_a_window(a: IntervalSet, b: IntervalSet) -> None:
    universe = IntervalSet([WINDOW])
    assert universe - (a | b) == (universe - a) & (universe - b)
    assert universe - (a & b) == (universe - a) | (universe - b)
    assert a.complement(WINDOW) == universe - a
    assert a.complement(WINDOW) | a == universe  # WINDOW holds every generated interval


@given(sets, sets)
def test_durations_add_up(a: IntervalSet, b: IntervalSet) -> None:
    assert (a | b).total_duration <= a.total_duration + b.total_duration
    assert (a | b).total_duration == a.total_duration + b.total_duration - (a & b).total_duration
    assert (a - b).total_duration == a.total_duration - (a & b).total_duration


# --- examples --------------------------------------------------------------------------------


def test_touching_intervals_merge_and_empty_ones_vanish() -> None:
    merged = IntervalSet(
        [Interval(at(60), at(120)), Interval(at(0), at(60)), Interval(at(5), at(5))]
    )
    assert merged.intervals == (Interval(at(0), at(120)),)
    empty = IntervalSet([Interval(at(5), at(5))])
    assert not empty
    assert len(empty) == 0
    assert list(empty) == []


def test_half_open_edges() -> None:
    meeting = Interval(at(0), at(60))
    assert meeting.contains(at(0))
    assert not meeting.contains(at(60))
    next_meeting = Interval(at(60), at(90))
    assert not meeting.overlaps(next_meeting)
    assert meeting.intersection(next_meeting) is None
    assert meeting.overlaps(Interval(at(59), at(90)))
    assert meeting.intersection(Interval(at(30), at(90))) == Interval(at(30), at(60))
    assert meeting.covers(Interval(at(10), at(60)))
    assert not meeting.covers(Interval(at(10), at(61)))
    busy = IntervalSet([meeting])
    assert busy.contains(at(0))
    assert not busy.contains(at(60))
    assert not busy.contains(at(-1))


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 1, 5, 9, 0)
    with pytest.raises(ValueError, match="naive"):
        Interval(naive, at(0))
    with pytest.raises(ValueError, match="naive"):
        Interval(at(0), naive)
    with pytest.raises(ValueError, match="naive"):
        Interval(at(-60), at(60)).contains(naive)
    with pytest.raises(ValueError, match="naive"):
        IntervalSet([Interval(at(-60), at(60))]).contains(naive)


def test_end_before_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Interval(at(60), at(0))


def test_zones_compare_by_instant_across_a_fold() -> None:
    # 02:30 summer time comes before 02:15 winter time on the night Berlin's clocks go back.
    start = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    end = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=BERLIN)
    interval = Interval(start, end)
    assert interval.duration == timedelta(minutes=45)
    assert interval == Interval(start.astimezone(UTC), end.astimezone(ZoneInfo("Asia/Tokyo")))
    assert interval.start.tzinfo is UTC
    night = Interval(datetime(2026, 10, 25, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN))
    assert night.duration == timedelta(hours=25)


def test_values_are_immutable() -> None:
    value = IntervalSet([Interval(at(0), at(60))])
    with pytest.raises(AttributeError):
        value._intervals = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.intervals[0].start = at(5)  # type: ignore[misc]


def test_operators_refuse_other_types() -> None:
    value = IntervalSet([Interval(at(0), at(60))])
    with pytest.raises(TypeError):
        _ = value | [Interval(at(0), at(60))]  # type: ignore[operator]
    assert value != [Interval(at(0), at(60))]
    assert hash(value) == hash(IntervalSet(value))
