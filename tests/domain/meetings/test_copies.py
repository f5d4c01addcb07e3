"""One entry per meeting occurrence: the viewer's own copy first, then the organizer's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from calhub.domain.meetings.copies import Copy, one_copy_each

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def copy(key: str, hour: int, own: bool, organizer: bool, name: str) -> Copy[str]:
    return Copy(key, T0 + timedelta(hours=hour), own, organizer, name, name)


def test_the_own_copy_beats_the_organizers_which_beats_a_rooms() -> None:
    room = copy("m1", 0, own=False, organizer=False, name="a-room")
    organizer = copy("m1", 0, own=False, organizer=True, name="b-organizer")
    mine = copy("m1", 0, own=True, organizer=False, name="c-mine")
    assert one_copy_each([room, organizer, mine]) == ["c-mine"]
    assert one_copy_each([room, organizer]) == ["b-organizer"]


def test_occurrences_of_one_series_stay_apart() -> None:
    first = copy("m1", 0, own=True, organizer=False, name="first")
    second = copy("m1", 24, own=True, organizer=False, name="second")
    assert one_copy_each([first, second]) == ["first", "second"]


copies = st.lists(
    st.builds(
        copy,
        key=st.sampled_from(["m1", "m2", "m3"]),
        hour=st.integers(0, 3),
        own=st.booleans(),
        organizer=st.booleans(),
        name=st.text(min_size=1, max_size=4),
    ),
    max_size=30,
)


@given(copies, st.randoms())
def test_one_preferred_copy_per_occurrence_whatever_the_order(
    given_copies: list[Copy[str]], random: st.SearchStrategy[object]
) -> None:
    kept = one_copy_each(given_copies)
    shuffled = list(given_copies)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert sorted(kept) == sorted(one_copy_each(shuffled))
    slots = {(c.meeting_key, c.original_start) for c in given_copies}
    assert len(kept) == len(slots)
    for key, start in slots:
        same = [c for c in given_copies if (c.meeting_key, c.original_start) == (key, start)]
        best = min(same, key=Copy.rank)
        assert best.item in kept
        if any(c.in_own_calendar for c in same):
            assert best.in_own_calendar
        elif any(c.is_organizer_copy for c in same):
            assert best.is_organizer_copy
