"""Out of office from automatic replies: windows, flips and what gets announced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.presence import (
    AutomaticReplies,
    PresenceState,
    ReplyStatus,
    after_failure,
    after_reading,
    announces_change,
    at_flip,
    is_out_of_office,
    next_flip,
    window_problem,
)
from calhub.domain.timezones import NaiveDatetime

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CALENDAR, TENANT = CalendarId(uuid.uuid4()), TenantId(uuid.uuid4())
IDS: dict[str, Any] = {"calendar_id": CALENDAR, "tenant_id": TENANT}

instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([UTC, BERLIN, ZoneInfo("America/New_York")]),
)


def scheduled(start: datetime | None, end: datetime | None) -> AutomaticReplies:
    return AutomaticReplies(ReplyStatus.SCHEDULED, start, end)


@given(now=instants)
def test_always_enabled_is_out_of_office_forever_and_disabled_never(now: datetime) -> None:
    always = AutomaticReplies(ReplyStatus.ALWAYS_ENABLED, now - timedelta(days=9), now)
    disabled = AutomaticReplies(ReplyStatus.DISABLED, now - timedelta(days=1), now + timedelta(1))
    assert is_out_of_office(always, now)
    assert next_flip(always, now) is None
    assert not is_out_of_office(disabled, now)
    assert next_flip(disabled, now) is None


@given(start=instants, end=instants, now=instants)
def test_scheduled_is_out_of_office_exactly_within_start_inclusive_end_exclusive(
    start: datetime, end: datetime, now: datetime
) -> None:
    replies = scheduled(start, end)
    expected = start.astimezone(UTC) <= now.astimezone(UTC) < end.astimezone(UTC)
    assert is_out_of_office(replies, now) is expected


@given(start=instants, end=instants, now=instants)
def test_the_next_flip_is_the_next_window_edge_and_the_state_really_changes_there(
    start: datetime, end: datetime, now: datetime
) -> None:
    replies = scheduled(start, end)
    flip = next_flip(replies, now)
    if end <= start:
        assert flip is None
        assert window_problem(replies) is not None
        return
    if flip is None:
        assert now >= end  # the window is over: nothing changes any more
        assert not is_out_of_office(replies, now)
        return
    assert flip > now
    assert flip in (start.astimezone(UTC), end.astimezone(UTC))
    assert is_out_of_office(replies, flip) is not is_out_of_office(replies, now)
    assert is_out_of_office(replies, flip - timedelta(microseconds=1)) is (
        is_out_of_office(replies, now)
    )


def test_a_window_in_the_past_or_the_future() -> None:
    past = scheduled(T0 - timedelta(days=10), T0 - timedelta(days=3))
    future = scheduled(T0 + timedelta(days=3), T0 + timedelta(days=10))
    assert (is_out_of_office(past, T0), next_flip(past, T0)) == (False, None)
    assert (is_out_of_office(future, T0), next_flip(future, T0)) == (False, future.start)


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (T0 + timedelta(hours=2), T0 - timedelta(hours=2), "end before they start"),
        (T0, T0, "end before they start"),
        (None, T0, "without a start or an end"),
        (T0, None, "without a start or an end"),
    ],
)
def test_a_window_that_cannot_apply_is_never_in_force_and_says_why(
    start: datetime | None, end: datetime | None, reason: str
) -> None:
    replies = scheduled(start, end)
    problem = window_problem(replies)
    assert problem is not None
    assert reason in problem
    for now in (T0 - timedelta(days=1), T0, T0 + timedelta(hours=1), T0 + timedelta(days=1)):
        assert not is_out_of_office(replies, now)
        assert next_flip(replies, now) is None


def test_the_fall_back_hour_is_ordered_by_instant_not_by_wall_clock() -> None:
    # 2026-10-25 in Berlin: 02:30 happens twice. The first (CEST, fold=0) is an hour before the
    # second (CET, fold=1), though their wall clocks are equal.
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)
    replies = scheduled(first, second)
    assert window_problem(replies) is None
    assert first.astimezone(UTC).hour == 0
    assert second.astimezone(UTC).hour == 1
    assert is_out_of_office(replies, datetime(2026, 10, 25, 1, 0, tzinfo=UTC))
    assert next_flip(replies, first - timedelta(minutes=1)) == first.astimezone(UTC)


def test_across_the_spring_forward_the_window_is_an_hour_shorter_than_its_wall_clocks() -> None:
    start = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)  # CET
    end = datetime(2026, 3, 29, 6, 0, tzinfo=BERLIN)  # CEST: five real hours later
    replies = scheduled(start, end)
    assert is_out_of_office(replies, datetime(2026, 3, 29, 3, 59, tzinfo=UTC))
    assert not is_out_of_office(replies, datetime(2026, 3, 29, 4, 0, tzinfo=UTC))


def test_naive_times_are_refused() -> None:
    with pytest.raises(NaiveDatetime):
        scheduled(datetime(2026, 3, 2, 8, 0), None)
    with pytest.raises(NaiveDatetime):
        is_out_of_office(AutomaticReplies(ReplyStatus.DISABLED), datetime(2026, 3, 2))


# --- transitions ----------------------------------------------------------------------------


def test_a_first_read_of_an_away_user_is_announced_and_of_a_present_one_is_not() -> None:
    away = after_reading(
        None,
        AutomaticReplies(ReplyStatus.ALWAYS_ENABLED),
        T0,
        calendar_id=CALENDAR,
        tenant_id=TENANT,
    )
    here = after_reading(
        None, AutomaticReplies(ReplyStatus.DISABLED), T0, calendar_id=CALENDAR, tenant_id=TENANT
    )
    assert announces_change(None, away)
    assert away.out_of_office
    assert not announces_change(None, here)
    assert not here.out_of_office
    assert here.changed_at == here.checked_at == T0


def test_reading_the_same_state_again_keeps_when_it_changed() -> None:
    first = after_reading(
        None,
        AutomaticReplies(ReplyStatus.ALWAYS_ENABLED),
        T0,
        calendar_id=CALENDAR,
        tenant_id=TENANT,
    )
    later = T0 + timedelta(minutes=15)
    again = after_reading(
        first,
        AutomaticReplies(ReplyStatus.ALWAYS_ENABLED),
        later,
        calendar_id=CALENDAR,
        tenant_id=TENANT,
    )
    assert not announces_change(first, again)
    assert (again.changed_at, again.checked_at) == (T0, later)
    back = after_reading(
        again, AutomaticReplies(ReplyStatus.DISABLED), later, calendar_id=CALENDAR, tenant_id=TENANT
    )
    assert announces_change(again, back)
    assert back.changed_at == later


def test_a_failure_keeps_the_last_known_state_and_says_why() -> None:
    always = AutomaticReplies(ReplyStatus.ALWAYS_ENABLED)
    away = after_reading(None, always, T0, **IDS)
    later = T0 + timedelta(minutes=15)
    failed = after_failure(away, "throttled", later, **IDS)
    assert (failed.out_of_office, failed.replies, failed.changed_at) == (True, away.replies, T0)
    assert (failed.checked_at, failed.last_error) == (later, "throttled")
    assert not announces_change(away, failed)
    never_read = after_failure(None, "no consent", T0, **IDS)
    assert (never_read.replies, never_read.out_of_office) == (None, False)
    assert not announces_change(None, never_read)
    assert after_reading(failed, always, later, **IDS).last_error is None


def test_a_scheduled_window_flips_at_its_start_and_its_end_without_a_read() -> None:
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=5)
    state = after_reading(None, scheduled(start, end), T0, **IDS)
    assert (state.out_of_office, state.next_flip_at) == (False, start)
    assert at_flip(state, start - timedelta(seconds=1)) == state  # not due yet
    began = at_flip(state, start + timedelta(seconds=3))  # noticed a little late
    assert announces_change(state, began)
    assert (began.out_of_office, began.changed_at, began.next_flip_at) == (True, start, end)
    ended = at_flip(began, end)
    assert announces_change(began, ended)
    assert (ended.out_of_office, ended.changed_at, ended.next_flip_at) == (False, end, None)


def test_a_flip_noticed_after_the_whole_window_passed_changes_nothing() -> None:
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    state = after_reading(None, scheduled(start, end), T0, **IDS)
    late = at_flip(state, end + timedelta(hours=1))
    assert not announces_change(state, late)
    assert (late.out_of_office, late.next_flip_at) == (False, None)


@given(start=instants, length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_flipping_step_by_step_ends_settled_and_agrees_with_reading_fresh(
    start: datetime, length: timedelta
) -> None:
    replies = scheduled(start, start + length)
    state: PresenceState = after_reading(
        None, replies, start - timedelta(days=1), calendar_id=CALENDAR, tenant_id=TENANT
    )
    steps = 0
    while state.next_flip_at is not None:
        state = at_flip(state, state.next_flip_at)
        steps += 1
        assert steps <= 2
        assert state.out_of_office is is_out_of_office(replies, state.changed_at)
    assert not state.out_of_office
