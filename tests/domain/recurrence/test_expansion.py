"""Examples of what ``expand`` promises: DST, overrides, EXDATE/RDATE, all-day, limits, bounds."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calhub.domain.events import Event, EventTime, Recurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.recurrence import (
    ExpansionLimitExceeded,
    InvalidRecurrence,
    RecurrenceTooExpensive,
    expand,
)

BERLIN = ZoneInfo("Europe/Berlin")
TENANT = TenantId(uuid.UUID(int=1))
CALENDAR = CalendarId(uuid.UUID(int=2))
SERIES_ID = EventId(uuid.UUID(int=3))


def series(start: EventTime, end: EventTime, *rules: str, **recurrence: object) -> Event:
    return Event(
        id=SERIES_ID,
        tenant_id=TENANT,
        calendar_id=CALENDAR,
        provider_event_id="series",
        start=start,
        end=end,
        recurrence=Recurrence(rrules=rules, **recurrence),  # type: ignore[arg-type]
    )


def override(original: EventTime, start: EventTime, end: EventTime, **fields: object) -> Event:
    return Event(
        id=EventId(uuid.uuid4()),
        tenant_id=TENANT,
        calendar_id=CALENDAR,
        provider_event_id="override",
        start=start,
        end=end,
        series_id=SERIES_ID,
        recurrence_id=original,
        **fields,  # type: ignore[arg-type]
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def starts_utc(
    event: Event, lo: datetime, hi: datetime, overrides: tuple[Event, ...] = ()
) -> list[datetime]:
    found = expand(event, overrides, lo, hi, limit=1000).occurrences
    return [occurrence.start.astimezone(UTC) for occurrence in found]  # type: ignore[union-attr]


WEEKLY_BERLIN = series(
    datetime(2026, 3, 16, 9, tzinfo=BERLIN), datetime(2026, 3, 16, 10, tzinfo=BERLIN), "FREQ=WEEKLY"
)


def test_weekly_meeting_keeps_local_time_across_the_march_change() -> None:
    assert starts_utc(WEEKLY_BERLIN, utc(2026, 3, 16), utc(2026, 4, 7)) == [
        utc(2026, 3, 16, 8),
        utc(2026, 3, 23, 8),
        utc(2026, 3, 30, 7),  # summer time from 29 March: 09:00 Berlin is 07:00 UTC
        utc(2026, 4, 6, 7),
    ]


def test_weekly_meeting_keeps_local_time_across_the_october_change() -> None:
    assert starts_utc(WEEKLY_BERLIN, utc(2026, 10, 19), utc(2026, 11, 3)) == [
        utc(2026, 10, 19, 7),
        utc(2026, 10, 26, 8),  # winter time from 25 October
        utc(2026, 11, 2, 8),
    ]


def test_a_nonexistent_local_time_moves_forward_by_the_gap() -> None:
    daily = series(
        datetime(2026, 3, 27, 2, 30, tzinfo=BERLIN),
        datetime(2026, 3, 27, 3, 0, tzinfo=BERLIN),
        "FREQ=DAILY;COUNT=4",
    )
    found = expand(daily, (), utc(2026, 3, 1), utc(2026, 4, 1), limit=10).occurrences
    on_the_day = found[2]
    # 02:30 does not exist on 29 March; RFC 5545 reads it with the offset before the gap.
    assert on_the_day.start.astimezone(UTC) == utc(2026, 3, 29, 1, 30)  # type: ignore[union-attr]
    assert on_the_day.end.astimezone(UTC) == utc(2026, 3, 29, 2, 0)  # type: ignore[union-attr]


def test_every_instance_lasts_the_exact_duration_across_a_fold() -> None:
    nightly = series(
        datetime(2026, 10, 23, 2, 30, tzinfo=BERLIN),
        datetime(2026, 10, 23, 3, 30, tzinfo=BERLIN),
        "FREQ=DAILY;COUNT=5",
    )
    for occurrence in expand(nightly, (), utc(2026, 10, 1), utc(2026, 11, 1), limit=10).occurrences:
        assert isinstance(occurrence.start, datetime)
        assert isinstance(occurrence.end, datetime)
        assert occurrence.end.astimezone(UTC) - occurrence.start.astimezone(UTC) == timedelta(
            hours=1
        )


def test_utc_until_is_compared_with_the_instant() -> None:
    rule = "FREQ=WEEKLY;UNTIL=20260330T070000Z"
    limited = series(WEEKLY_BERLIN.start, WEEKLY_BERLIN.end, rule)
    assert starts_utc(limited, utc(2026, 3, 1), utc(2026, 5, 1))[-1] == utc(2026, 3, 30, 7)


def test_an_override_replaces_its_slot_even_when_it_moves_out_of_the_window() -> None:
    slot = datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    moved_away = override(slot, utc(2026, 5, 1, 12), utc(2026, 5, 1, 13))
    assert starts_utc(WEEKLY_BERLIN, utc(2026, 3, 16), utc(2026, 3, 29), (moved_away,)) == [
        utc(2026, 3, 16, 8)
    ]
    found = expand(WEEKLY_BERLIN, (moved_away,), utc(2026, 5, 1), utc(2026, 5, 2), limit=5)
    assert [(o.start, o.original_start, o.is_override) for o in found.occurrences] == [
        (utc(2026, 5, 1, 12), slot, True)
    ]


def test_an_override_moved_into_the_window_is_found() -> None:
    slot = datetime(2026, 6, 1, 9, tzinfo=BERLIN)
    moved_in = override(slot, utc(2026, 3, 18, 15), utc(2026, 3, 18, 16))
    assert starts_utc(WEEKLY_BERLIN, utc(2026, 3, 16), utc(2026, 3, 22), (moved_in,)) == [
        utc(2026, 3, 16, 8),
        utc(2026, 3, 18, 15),
    ]


def test_cancelled_instances_and_exdates_are_dropped() -> None:
    cancelled = override(
        datetime(2026, 3, 23, 9, tzinfo=BERLIN),
        datetime(2026, 3, 23, 9, tzinfo=BERLIN),
        datetime(2026, 3, 23, 10, tzinfo=BERLIN),
        is_cancelled=True,
    )
    event = series(
        WEEKLY_BERLIN.start,
        WEEKLY_BERLIN.end,
        "FREQ=WEEKLY",
        exdates=(utc(2026, 4, 6, 7),),  # the same instant as 09:00 Berlin, written in UTC
    )
    assert starts_utc(event, utc(2026, 3, 16), utc(2026, 4, 14), (cancelled,)) == [
        utc(2026, 3, 16, 8),
        utc(2026, 3, 30, 7),
        utc(2026, 4, 13, 7),
    ]


def test_rdates_are_added_and_deduplicated() -> None:
    extra = datetime(2026, 3, 18, 14, tzinfo=BERLIN)
    event = series(
        WEEKLY_BERLIN.start,
        WEEKLY_BERLIN.end,
        "FREQ=WEEKLY;COUNT=2",
        rdates=(extra, datetime(2026, 3, 23, 9, tzinfo=BERLIN)),
    )
    assert starts_utc(event, utc(2026, 3, 1), utc(2026, 5, 1)) == [
        utc(2026, 3, 16, 8),
        utc(2026, 3, 18, 13),
        utc(2026, 3, 23, 8),
    ]


def test_a_series_of_rdates_without_a_rule() -> None:
    event = series(utc(2026, 1, 1, 10), utc(2026, 1, 1, 11), rdates=(utc(2026, 2, 1, 10),))
    assert starts_utc(event, utc(2025, 1, 1), utc(2027, 1, 1)) == [
        utc(2026, 1, 1, 10),
        utc(2026, 2, 1, 10),
    ]


def test_an_all_day_series_expands_to_dates() -> None:
    event = series(
        date(2026, 1, 31),
        date(2026, 2, 2),
        "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4",
        exdates=(date(2026, 2, 28),),
    )
    found = expand(event, (), utc(2026, 2, 1, 12), utc(2026, 6, 1), limit=10).occurrences
    assert [(o.start, o.end) for o in found] == [
        (date(2026, 1, 31), date(2026, 2, 2)),  # still running on 1 February
        (date(2026, 3, 31), date(2026, 4, 2)),
        (date(2026, 4, 30), date(2026, 5, 2)),
    ]


def test_the_window_is_half_open_and_zero_length_events_count_by_start() -> None:
    event = series(utc(2026, 1, 1, 10), utc(2026, 1, 1, 10), "FREQ=DAILY")
    assert starts_utc(event, utc(2026, 1, 2, 10), utc(2026, 1, 4, 10)) == [
        utc(2026, 1, 2, 10),
        utc(2026, 1, 3, 10),
    ]


def test_more_occurrences_than_the_limit_are_cut_with_a_clear_error() -> None:
    event = series(utc(2026, 1, 1, 10), utc(2026, 1, 1, 11), "FREQ=DAILY")
    expansion = expand(event, (), utc(2026, 1, 1), utc(2027, 1, 1), limit=10)
    assert len(expansion.occurrences) == 10
    assert expansion.occurrences[-1].start == utc(2026, 1, 10, 10)
    assert isinstance(expansion.truncated, ExpansionLimitExceeded)
    assert "10" in str(expansion.truncated)
    assert "FREQ=DAILY" in str(expansion.truncated)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=SECONDLY;COUNT=1000000000;INTERVAL=1",
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;INTERVAL=1",
    ],
)
def test_absurd_rules_starting_long_ago_are_cut_quickly(rule: str) -> None:
    event = series(utc(2016, 1, 1), utc(2016, 1, 1), rule)
    began = time.perf_counter()
    expansion = expand(event, (), utc(2026, 1, 1), utc(2027, 1, 1), limit=500)
    assert time.perf_counter() - began < 5
    assert len(expansion.occurrences) == 500
    assert isinstance(expansion.truncated, ExpansionLimitExceeded)


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;BYMONTHDAY=31;BYMONTH=2",
        "FREQ=DAILY;BYMONTHDAY=30;BYMONTH=2",
        "FREQ=SECONDLY;BYMONTHDAY=31;BYMONTH=4",
        "FREQ=MONTHLY;INTERVAL=12;BYMONTH=2",  # starts in January: never lands on February
        "FREQ=MINUTELY;BYHOUR=9;BYSETPOS=2",  # one candidate per minute: no second one
        "FREQ=DAILY;BYDAY=SU;BYSETPOS=-2",
    ],
)
def test_rules_that_never_match_return_quickly(rule: str) -> None:
    event = series(utc(2020, 1, 5, 9), utc(2020, 1, 5, 10), rule + ";X-CASE=" + str(time.time_ns()))
    began = time.perf_counter()
    found = expand(event, (), utc(2026, 1, 1), utc(2027, 1, 1), limit=100)
    assert time.perf_counter() - began < 5
    assert found.occurrences == ()
    assert found.truncated is None


def test_a_counted_rule_too_expensive_to_walk_is_an_error() -> None:
    event = series(utc(2016, 1, 4), utc(2016, 1, 4), "FREQ=MINUTELY;BYDAY=MO;COUNT=1000000000")
    began = time.perf_counter()
    with pytest.raises(RecurrenceTooExpensive, match="refusing"):
        expand(event, (), utc(2026, 1, 1), utc(2026, 2, 1), limit=100)
    assert time.perf_counter() - began < 5


def test_a_count_running_past_the_year_9999_is_an_invalid_recurrence() -> None:
    with pytest.raises(InvalidRecurrence, match="last representable date"):
        expand(
            series(utc(2026, 1, 1), utc(2026, 1, 1), "FREQ=DAILY;COUNT=400000000"),
            (),
            utc(2026, 1, 1),
            utc(2026, 2, 1),
            limit=10,
        )


def test_a_garbage_rule_is_an_invalid_recurrence() -> None:
    with pytest.raises(InvalidRecurrence):
        expand(
            series(utc(2026, 1, 1), utc(2026, 1, 1), "FREQ=OFTEN"),
            (),
            utc(2026, 1, 1),
            utc(2026, 2, 1),
            limit=10,
        )


def test_a_naive_window_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        expand(WEEKLY_BERLIN, (), datetime(2026, 1, 1), utc(2026, 2, 1), limit=10)


def test_all_day_occurrences_are_read_in_the_zone_of_the_window() -> None:
    event = series(date(2026, 3, 2), date(2026, 3, 3), "FREQ=DAILY;COUNT=3")
    berlin_day = (datetime(2026, 3, 3, tzinfo=BERLIN), datetime(2026, 3, 4, tzinfo=BERLIN))
    found = expand(event, (), *berlin_day, limit=10).occurrences
    assert [o.start for o in found] == [date(2026, 3, 3)]
    # The same instants written in UTC: the window now starts late on 2 March.
    found = expand(event, (), berlin_day[0].astimezone(UTC), berlin_day[1], limit=10).occurrences
    assert [o.start for o in found] == [date(2026, 3, 2), date(2026, 3, 3)]


def test_a_floating_until_is_read_in_the_series_zone() -> None:
    daily = series(WEEKLY_BERLIN.start, WEEKLY_BERLIN.end, "FREQ=DAILY;UNTIL=20260318T090000")
    assert starts_utc(daily, utc(2026, 3, 1), utc(2026, 4, 1))[-1] == utc(2026, 3, 18, 8)


def test_a_date_until_on_a_timed_series_includes_that_whole_day() -> None:
    daily = series(WEEKLY_BERLIN.start, WEEKLY_BERLIN.end, "FREQ=DAILY;UNTIL=20260318")
    assert starts_utc(daily, utc(2026, 3, 1), utc(2026, 4, 1))[-1] == utc(2026, 3, 18, 8)


def test_several_rules_are_merged_without_duplicates() -> None:
    event = series(
        utc(2026, 3, 2, 9),
        utc(2026, 3, 2, 10),
        "FREQ=WEEKLY;BYDAY=MO,WE",
        "FREQ=WEEKLY;BYDAY=WE,FR",
    )
    assert starts_utc(event, utc(2026, 3, 2), utc(2026, 3, 9)) == [
        utc(2026, 3, 2, 9),
        utc(2026, 3, 4, 9),
        utc(2026, 3, 6, 9),
    ]
