"""Graph ``patternedRecurrence`` → RFC 5545: the dates a user would see in Outlook's calendar.

Every expectation below is a list of calendar dates (checked by hand against a 2026-2032
calendar), not a rule string. Payloads carry the placeholder fields Graph sends for fields that do
not apply (``"month": 0``, ``"dayOfMonth": 0``, ``"endDate": "0001-01-01"``, ...), so the tests
also prove those are ignored. Series are expanded with dateutil straight from ``GraphSeries``.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from calhub.domain.events import Event
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.recurrence.expansion import expand
from calhub.domain.recurrence.graph import GraphSeries, InvalidGraphRecurrence, graph_series

BERLIN = ZoneInfo("Europe/Berlin")


def pattern(kind: str, **fields: Any) -> dict[str, Any]:
    """A pattern as Graph returns it: every field present, unused ones as placeholders."""
    base: dict[str, Any] = {
        "type": kind,
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "daysOfWeek": [],
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    return base | fields


def range_(kind: str, start: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": kind,
        "startDate": start,
        "endDate": "0001-01-01",
        "recurrenceTimeZone": "W. Europe Standard Time",
        "numberOfOccurrences": 0,
    }
    return base | fields


def series(
    pat: dict[str, Any],
    rng: dict[str, Any],
    start: datetime | date,
    minutes: int = 30,
) -> GraphSeries:
    # A timed master lasts ``minutes``; an all-day master one day (end date exclusive).
    end = start + (timedelta(minutes=minutes) if isinstance(start, datetime) else timedelta(days=1))
    return graph_series({"pattern": pat, "range": rng}, start, end)


def starts(s: GraphSeries, at_most: int = 100) -> list[datetime]:
    return list(islice(rrulestr(s.recurrence.rrules[0], dtstart=s.start), at_most))


def days(s: GraphSeries, at_most: int = 100) -> list[date]:
    return [d.date() for d in starts(s, at_most)]


def at(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=BERLIN)


# --- pattern types -------------------------------------------------------------------------


def test_daily_every_third_day_numbered() -> None:
    s = series(
        pattern("daily", interval=3),
        range_("numbered", "2026-03-02", numberOfOccurrences=4),
        at(2026, 3, 2),
    )
    assert days(s) == [date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 8), date(2026, 3, 11)]
    assert s.start == at(2026, 3, 2)
    assert s.end == at(2026, 3, 2, 9, 30)


def test_weekly_monday_and_thursday_until_end_date_inclusive() -> None:
    pat = pattern("weekly", daysOfWeek=["thursday", "monday"])
    s = series(pat, range_("endDate", "2026-03-02", endDate="2026-03-12"), at(2026, 3, 2))
    # 12 March is a Thursday: the end date itself still has its meeting.
    assert days(s) == [date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 9), date(2026, 3, 12)]
    s = series(pat, range_("endDate", "2026-03-02", endDate="2026-03-11"), at(2026, 3, 2))
    assert days(s) == [date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 9)]


def test_end_date_is_read_in_the_recurrence_zone() -> None:
    # A 23:30 Berlin meeting on the end date is 22:30 UTC the same day; it must be kept even
    # though midnight UTC has not yet been reached, and the next day's must not sneak in.
    s = series(
        pattern("daily"),
        range_("endDate", "2026-03-02", endDate="2026-03-04"),
        at(2026, 3, 2, 23, 30),
    )
    assert days(s) == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]


def test_weekly_interval_two_depends_on_first_day_of_week() -> None:
    sun_mon = ["monday", "sunday"]
    rng = range_("noEnd", "2026-03-02")
    weeks_from_sunday = series(
        pattern("weekly", interval=2, daysOfWeek=sun_mon, firstDayOfWeek="sunday"),
        rng,
        at(2026, 3, 2),
    )
    # Weeks Sun 1-Sat 7 March, then Sun 15-Sat 21 and Sun 29 March-4 April.
    assert days(weeks_from_sunday, 5) == [
        date(2026, 3, 2),
        date(2026, 3, 15),
        date(2026, 3, 16),
        date(2026, 3, 29),
        date(2026, 3, 30),
    ]
    weeks_from_monday = series(
        pattern("weekly", interval=2, daysOfWeek=sun_mon, firstDayOfWeek="monday"),
        rng,
        at(2026, 3, 2),
    )
    # Weeks Mon 2-Sun 8 March, then Mon 16-Sun 22 and Mon 30 March-Sun 5 April.
    assert days(weeks_from_monday, 5) == [
        date(2026, 3, 2),
        date(2026, 3, 8),
        date(2026, 3, 16),
        date(2026, 3, 22),
        date(2026, 3, 30),
    ]


def test_absolute_monthly_quarterly_on_the_fifteenth() -> None:
    s = series(
        pattern("absoluteMonthly", interval=3, dayOfMonth=15),
        range_("numbered", "2026-01-15", numberOfOccurrences=4),
        at(2026, 1, 15),
    )
    assert days(s) == [date(2026, 1, 15), date(2026, 4, 15), date(2026, 7, 15), date(2026, 10, 15)]


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    s = series(
        pattern("absoluteMonthly", dayOfMonth=31),
        range_("endDate", "2026-01-31", endDate="2026-05-31"),
        at(2026, 1, 31),
    )
    assert days(s) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]


def test_day_30_keeps_the_thirtieth_in_long_months() -> None:
    s = series(
        pattern("absoluteMonthly", dayOfMonth=30),
        range_("numbered", "2026-01-01", numberOfOccurrences=3),
        at(2026, 1, 1),
    )
    assert days(s) == [date(2026, 1, 30), date(2026, 2, 28), date(2026, 3, 30)]


def test_relative_monthly_last_friday() -> None:
    s = series(
        pattern("relativeMonthly", daysOfWeek=["friday"], index="last"),
        range_("numbered", "2026-01-01", numberOfOccurrences=5),
        at(2026, 1, 1),
    )
    assert days(s) == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
        date(2026, 5, 29),
    ]


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def test_relative_monthly_first_weekday() -> None:
    s = series(
        pattern("relativeMonthly", daysOfWeek=WEEKDAYS, index="first"),
        range_("numbered", "2026-02-01", numberOfOccurrences=5),
        at(2026, 2, 1),
    )
    # 1 Feb and 1 March 2026 are Sundays; 1 April a Wednesday; 1 May a Friday.
    assert days(s) == [
        date(2026, 2, 2),
        date(2026, 3, 2),
        date(2026, 4, 1),
        date(2026, 5, 1),
        date(2026, 6, 1),
    ]


def test_relative_monthly_last_weekday() -> None:
    s = series(
        pattern("relativeMonthly", daysOfWeek=WEEKDAYS, index="last"),
        range_("numbered", "2026-02-01", numberOfOccurrences=4),
        at(2026, 2, 1),
    )
    assert days(s) == [date(2026, 2, 27), date(2026, 3, 31), date(2026, 4, 30), date(2026, 5, 29)]


def test_relative_monthly_second_thursday_every_three_months() -> None:
    s = series(
        pattern("relativeMonthly", interval=3, daysOfWeek=["thursday"], index="second"),
        range_("numbered", "2026-01-01", numberOfOccurrences=3),
        at(2026, 1, 1),
    )
    assert days(s) == [date(2026, 1, 8), date(2026, 4, 9), date(2026, 7, 9)]


def test_absolute_yearly_every_three_years_on_15_march() -> None:
    s = series(
        pattern("absoluteYearly", interval=3, dayOfMonth=15, month=3),
        range_("numbered", "2026-03-15", numberOfOccurrences=3),
        at(2026, 3, 15),
    )
    assert days(s) == [date(2026, 3, 15), date(2029, 3, 15), date(2032, 3, 15)]


def test_absolute_yearly_29_february_falls_on_28th_in_common_years() -> None:
    s = series(
        pattern("absoluteYearly", dayOfMonth=29, month=2),
        range_("numbered", "2028-02-29", numberOfOccurrences=5),
        at(2028, 2, 29),
    )
    assert days(s) == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_relative_yearly_second_thursday_of_november() -> None:
    s = series(
        pattern("relativeYearly", daysOfWeek=["thursday"], month=11, index="second"),
        range_("numbered", "2026-01-01", numberOfOccurrences=3),
        at(2026, 1, 1),
    )
    assert days(s) == [date(2026, 11, 12), date(2027, 11, 11), date(2028, 11, 9)]
    assert s.start == at(2026, 11, 12)


# --- ranges --------------------------------------------------------------------------------


def test_no_end_keeps_going_for_years() -> None:
    s = series(
        pattern("weekly", daysOfWeek=["monday"]), range_("noEnd", "2026-03-02"), at(2026, 3, 2)
    )
    later = starts(s, 600)
    assert len(later) == 600
    assert later[-1].date() == date(2026, 3, 2) + timedelta(weeks=599)


def test_numbered_counts_only_matching_dates_when_master_does_not_match() -> None:
    # Master on Tuesday 3 March; the pattern is Monday and Wednesday: Tuesday is not an occurrence.
    s = series(
        pattern("weekly", daysOfWeek=["monday", "wednesday"]),
        range_("numbered", "2026-03-03", numberOfOccurrences=3),
        at(2026, 3, 3, 10),
        minutes=45,
    )
    assert s.start == at(2026, 3, 4, 10)
    assert s.end == at(2026, 3, 4, 10, 45)
    assert days(s) == [date(2026, 3, 4), date(2026, 3, 9), date(2026, 3, 11)]


def test_every_other_week_counts_weeks_from_the_start_date_week() -> None:
    # Start Tuesday 3 March; Monday 2 March (same Sunday-based week) is before the start, so the
    # first meeting is two weeks later, as Exchange anchors periods at the start date's week
    # ([MS-OXOCAL] FirstDateTime), not the following Monday 9 March.
    s = series(
        pattern("weekly", interval=2, daysOfWeek=["monday"]),
        range_("noEnd", "2026-03-03"),
        at(2026, 3, 3),
    )
    assert days(s, 3) == [date(2026, 3, 16), date(2026, 3, 30), date(2026, 4, 13)]


def test_dst_keeps_nine_oclock_local_in_spring_and_autumn() -> None:
    # Graph returns the master in UTC by default: 08:00 UTC is 09:00 CET.
    master = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
    s = graph_series(
        {
            "pattern": pattern("weekly", daysOfWeek=["monday"]),
            "range": range_("endDate", "2026-03-16", endDate="2026-11-02"),
        },
        master,
        master + timedelta(hours=1),
    )
    occurrences = starts(s)
    assert occurrences[0] == at(2026, 3, 16)
    assert {o.astimezone(BERLIN).time() for o in occurrences} == {time(9, 0)}
    by_day = {o.date(): o.astimezone(UTC).hour for o in occurrences}
    assert by_day[date(2026, 3, 23)] == 8  # still CET
    assert by_day[date(2026, 3, 30)] == 7  # CEST from 29 March
    assert by_day[date(2026, 10, 19)] == 7
    assert by_day[date(2026, 10, 26)] == 8  # CET again from 25 October
    assert max(by_day) == date(2026, 11, 2)
    assert s.end == at(2026, 3, 16, 10)


def test_reference_sample_weekly_sync_runs_every_monday_until_29_june() -> None:
    # The series master from the Graph reference notes, start/end given in UTC as Graph does.
    recurrence = {
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["monday"],
            "firstDayOfWeek": "monday",
            "index": "first",
        },
        "range": {
            "type": "endDate",
            "startDate": "2026-03-02",
            "endDate": "2026-06-29",
            "recurrenceTimeZone": "W. Europe Standard Time",
            "numberOfOccurrences": 0,
        },
    }
    s = graph_series(
        recurrence,
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    mondays = starts(s)
    assert len(mondays) == 18
    assert (mondays[0], mondays[-1]) == (at(2026, 3, 2, 10), at(2026, 6, 29, 10))
    assert {m.weekday() for m in mondays} == {0}
    assert s.end == at(2026, 3, 2, 10, 30)


def test_a_given_zone_resolver_is_used_for_the_recurrence_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    zones: Mapping[str, tzinfo] = {"Tokyo Standard Time": tokyo}
    s = graph_series(
        {
            "pattern": pattern("daily"),
            "range": range_("numbered", "2026-03-02", recurrenceTimeZone="Tokyo Standard Time")
            | {"numberOfOccurrences": 2},
        },
        datetime(2026, 3, 2, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
        resolve_zone=zones.__getitem__,
    )
    assert starts(s) == [
        datetime(2026, 3, 2, 9, tzinfo=tokyo),
        datetime(2026, 3, 3, 9, tzinfo=tokyo),
    ]


def test_without_recurrence_zone_the_masters_zone_is_used() -> None:
    rng = range_("numbered", "2026-03-27", numberOfOccurrences=2)
    del rng["recurrenceTimeZone"]
    s = series(pattern("daily"), rng, at(2026, 3, 27, 9))
    assert starts(s) == [at(2026, 3, 27, 9), at(2026, 3, 28, 9)]
    assert isinstance(s.start, datetime)
    assert s.start.tzinfo is BERLIN


def test_all_day_series_stays_in_dates() -> None:
    s = series(
        pattern("weekly", daysOfWeek=["friday"]),
        range_("endDate", "2026-03-02", endDate="2026-03-20"),
        date(2026, 3, 2),
    )
    assert (s.start, s.end) == (date(2026, 3, 6), date(2026, 3, 7))
    assert days(s) == [date(2026, 3, 6), date(2026, 3, 13), date(2026, 3, 20)]


def test_enum_values_are_case_insensitive() -> None:
    s = series(
        pattern("Weekly", daysOfWeek=["Monday"], firstDayOfWeek="Sunday"),
        range_("Numbered", "2026-03-02", numberOfOccurrences=2),
        at(2026, 3, 2),
    )
    assert days(s) == [date(2026, 3, 2), date(2026, 3, 9)]


# --- invalid payloads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pat", "rng", "field"),
    [
        (pattern("hourly"), range_("noEnd", "2026-03-02"), "pattern.type"),
        (pattern("daily", interval=0), range_("noEnd", "2026-03-02"), "pattern.interval"),
        (pattern("daily", interval="2"), range_("noEnd", "2026-03-02"), "pattern.interval"),
        (pattern("daily"), range_("numbered", "2026-03-02"), "range.numberOfOccurrences"),
        (
            pattern("daily"),
            range_("numbered", "2026-03-02", numberOfOccurrences=None),
            "range.numberOfOccurrences",
        ),
        (pattern("absoluteMonthly"), range_("noEnd", "2026-03-02"), "pattern.dayOfMonth"),
        (
            pattern("absoluteMonthly", dayOfMonth=32),
            range_("noEnd", "2026-03-02"),
            "pattern.dayOfMonth",
        ),
        (pattern("weekly"), range_("noEnd", "2026-03-02"), "pattern.daysOfWeek"),
        (
            pattern("weekly", daysOfWeek=None),
            range_("noEnd", "2026-03-02"),
            "pattern.daysOfWeek",
        ),
        (
            pattern("weekly", daysOfWeek=["monday", "funday"]),
            range_("noEnd", "2026-03-02"),
            "pattern.daysOfWeek",
        ),
        (
            pattern("weekly", daysOfWeek=["monday"], firstDayOfWeek="mon"),
            range_("noEnd", "2026-03-02"),
            "pattern.firstDayOfWeek",
        ),
        (
            pattern("relativeMonthly", daysOfWeek=["friday"], index="fifth"),
            range_("noEnd", "2026-03-02"),
            "pattern.index",
        ),
        (
            pattern("absoluteYearly", dayOfMonth=1, month=13),
            range_("noEnd", "2026-03-02"),
            "pattern.month",
        ),
        (
            pattern("absoluteYearly", dayOfMonth=30, month=2),
            range_("noEnd", "2026-03-02"),
            "pattern.dayOfMonth",
        ),
        (
            pattern("relativeYearly", daysOfWeek=["friday"]),
            range_("noEnd", "2026-03-02"),
            "pattern.month",
        ),
        (
            pattern("daily"),
            range_("endDate", "2026-03-02", endDate="2026-03-01"),
            "range.endDate",
        ),
        (pattern("daily"), range_("endDate", "2026-03-02"), "range.endDate"),
        (pattern("daily"), range_("sometimes", "2026-03-02"), "range.type"),
        (pattern("daily"), range_("noEnd", "next monday"), "range.startDate"),
        (
            pattern("daily"),
            range_("noEnd", "2026-03-02", recurrenceTimeZone="Mars/Olympus_Mons"),
            "range.recurrenceTimeZone",
        ),
        (
            pattern("absoluteMonthly", dayOfMonth=15),
            range_("endDate", "2026-03-16", endDate="2026-03-31"),
            "range.endDate",
        ),
    ],
)
def test_invalid_payload_names_the_wrong_field(
    pat: dict[str, Any], rng: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidGraphRecurrence, match=field.replace(".", r"\.")):
        series(pat, rng, at(2026, 3, 2))


def test_missing_pattern_or_range_is_rejected() -> None:
    with pytest.raises(InvalidGraphRecurrence, match="range"):
        graph_series({"pattern": pattern("daily")}, at(2026, 3, 2), at(2026, 3, 2, 10))
    with pytest.raises(InvalidGraphRecurrence, match="pattern"):
        graph_series({"range": range_("noEnd", "2026-03-02")}, at(2026, 3, 2), at(2026, 3, 2, 10))


def test_invalid_graph_recurrence_is_a_value_error() -> None:
    assert issubclass(InvalidGraphRecurrence, ValueError)


# --- against a day-by-day reading of the Graph/Exchange rules ------------------------------

DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INDEXES = ["first", "second", "third", "fourth", "last"]


def graph_matches(pat: Mapping[str, Any], first: date, day: date) -> bool:
    """Whether Outlook would put a meeting on ``day``, read straight from the Graph docs.

    Periods count from the one holding the range's start date ([MS-OXOCAL] FirstDateTime);
    a day-of-month past the month's end means its last day.
    """
    interval: int = pat["interval"]
    kind = pat["type"]
    if kind == "daily":
        return (day - first).days % interval == 0
    if kind == "weekly":
        wkst = DAY_NAMES.index(pat["firstDayOfWeek"])

        def week_start(d: date) -> date:
            return d - timedelta(days=(d.weekday() - wkst) % 7)

        weeks = (week_start(day) - week_start(first)).days // 7
        return weeks % interval == 0 and DAY_NAMES[day.weekday()] in pat["daysOfWeek"]
    months = (day.year * 12 + day.month) - (first.year * 12 + first.month)
    if months % interval:
        return False
    month_days = [
        date(day.year, day.month, n)
        for n in range(1, calendar.monthrange(day.year, day.month)[1] + 1)
    ]
    if kind == "absoluteMonthly":
        day_of_month: int = pat["dayOfMonth"]
        return day.day == min(day_of_month, len(month_days))
    chosen = [d for d in month_days if DAY_NAMES[d.weekday()] in pat["daysOfWeek"]]
    position = INDEXES.index(pat["index"])
    target: date = chosen[-1] if pat["index"] == "last" else chosen[position]
    return day == target


patterns = st.one_of(
    st.builds(lambda n: pattern("daily", interval=n), st.integers(1, 9)),
    st.builds(
        lambda n, ds, w: pattern("weekly", interval=n, daysOfWeek=ds, firstDayOfWeek=w),
        st.integers(1, 4),
        st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=7, unique=True),
        st.sampled_from(DAY_NAMES),
    ),
    st.builds(
        lambda n, d: pattern("absoluteMonthly", interval=n, dayOfMonth=d),
        st.integers(1, 4),
        st.integers(1, 31),
    ),
    st.builds(
        lambda n, ds, i: pattern("relativeMonthly", interval=n, daysOfWeek=ds, index=i),
        st.integers(1, 4),
        st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=7, unique=True),
        st.sampled_from(INDEXES),
    ),
)


@settings(max_examples=150, deadline=None)
@given(pat=patterns, first=st.dates(date(2024, 1, 1), date(2030, 12, 31)))
def test_occurrences_are_exactly_the_days_graph_describes(pat: dict[str, Any], first: date) -> None:
    s = series(
        pat,
        range_("numbered", first.isoformat(), numberOfOccurrences=12),
        at(first.year, first.month, first.day),
    )
    got = days(s)
    day, expected = first, list[date]()
    while len(expected) < 12:
        if graph_matches(pat, first, day):
            expected.append(day)
        day += timedelta(days=1)
    assert got == expected
    assert {o.astimezone(BERLIN).time() for o in starts(s)} == {time(9, 0)}


# --- through the hub's one expansion engine ------------------------------------------------


def test_graph_series_expands_through_the_engine_without_the_masters_own_day() -> None:
    # Master on Tuesday 24 March 2026 at 09:00 UTC (10:00 CET); every other week on Monday and
    # Wednesday, weeks starting Monday, until 22 April; Berlin moves to CEST on 29 March.
    master = datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    s = graph_series(
        {
            "pattern": pattern(
                "weekly", interval=2, daysOfWeek=["monday", "wednesday"], firstDayOfWeek="monday"
            ),
            "range": range_("endDate", "2026-03-24", endDate="2026-04-22"),
        },
        master,
        master + timedelta(minutes=30),
    )
    ids = uuid.UUID(int=1)
    event = Event(
        id=EventId(ids),
        tenant_id=TenantId(ids),
        calendar_id=CalendarId(ids),
        provider_event_id="AAMkAGI1",
        start=s.start,
        end=s.end,
        time_zone="W. Europe Standard Time",
        recurrence=s.recurrence,
    )
    found = expand(
        event,
        (),
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 5, 1, tzinfo=UTC),
        limit=50,
    )
    assert [(o.start, o.end) for o in found.occurrences] == [
        (at(2026, 3, 25, 10), at(2026, 3, 25, 10, 30)),  # Tuesday 24th is not a meeting day
        (at(2026, 4, 6, 10), at(2026, 4, 6, 10, 30)),
        (at(2026, 4, 8, 10), at(2026, 4, 8, 10, 30)),
        (at(2026, 4, 20, 10), at(2026, 4, 20, 10, 30)),
        (at(2026, 4, 22, 10), at(2026, 4, 22, 10, 30)),  # the end date itself
    ]
