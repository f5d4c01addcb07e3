"""The windows of a person's meetings list and of a device feed, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from calhub.domain.meetings.windows import InvalidWindow, device_window, parse_zone, user_window

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 26, 15, 30, tzinfo=UTC)  # the Sunday after is a spring-forward day


def elapsed(start: datetime, end: datetime) -> timedelta:
    # Two datetimes in one zone subtract by wall clock; the real time between them is wanted.
    return end.astimezone(UTC) - start.astimezone(UTC)


def test_a_person_sees_today_and_the_next_six_days_by_default() -> None:
    start, end = user_window(NOW, BERLIN)
    assert start == datetime(2026, 3, 26, tzinfo=BERLIN)
    assert end == datetime(2026, 4, 2, tzinfo=BERLIN)
    assert elapsed(start, end) == timedelta(days=7) - timedelta(
        hours=1
    )  # the night clocks went forward


def test_bounds_may_be_dates_local_times_or_instants() -> None:
    assert user_window(NOW, BERLIN, "2026-03-20", "2026-03-21") == (
        datetime(2026, 3, 20, tzinfo=BERLIN),
        datetime(2026, 3, 21, tzinfo=BERLIN),
    )
    start, end = user_window(NOW, BERLIN, "2026-03-20T09:00", "2026-03-20T10:00:00Z")
    assert start == datetime(2026, 3, 20, 8, tzinfo=UTC)
    assert end == datetime(2026, 3, 20, 10, tzinfo=UTC)
    _, end = user_window(NOW, BERLIN, "2026-03-20T09:00")
    assert end == datetime(2026, 3, 27, 9, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("start", "end", "parameter"),
    [
        ("2026-03-20", "2026-03-19", "end"),
        ("2026-03-20", "2026-03-20", "end"),
        ("2026-01-01", "2026-03-05", "end"),
        ("yesterday", None, "start"),
        (None, "2026-03-20T09:00:00 01:00", "end"),
    ],
)
def test_bad_windows_name_the_parameter(start: str | None, end: str | None, parameter: str) -> None:
    with pytest.raises(InvalidWindow) as caught:
        user_window(NOW, BERLIN, start, end)
    assert caught.value.parameter == parameter


def test_sixty_two_days_of_wall_clock_are_allowed_across_dst() -> None:
    start, end = user_window(NOW, BERLIN, "2026-03-01", "2026-05-02")
    assert elapsed(start, end) == timedelta(days=62) - timedelta(hours=1)


def test_unknown_zones_are_refused() -> None:
    with pytest.raises(InvalidWindow, match="tz: unknown time zone"):
        parse_zone("Mars/Olympus")
    assert parse_zone("W. Europe Standard Time").key == "Europe/Berlin"


def test_a_device_sees_from_now_to_eight_tomorrow() -> None:
    start, end = device_window(NOW, BERLIN)
    assert start == NOW
    assert end == datetime(2026, 3, 27, 8, tzinfo=BERLIN)
    _, end = device_window(NOW, BERLIN, days=3)
    assert end == datetime(2026, 3, 29, 8, tzinfo=BERLIN)  # after the clocks went forward
    with pytest.raises(InvalidWindow, match="days"):
        device_window(NOW, BERLIN, days=8)


zones = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "UTC"]
).map(ZoneInfo)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(instants, zones, st.integers(1, 7))
@example(datetime(2021, 11, 7, 5, 0, tzinfo=UTC), ZoneInfo("America/New_York"), 1)  # 01:00 EDT
def test_device_windows_end_at_eight_on_the_wall_clock(
    now: datetime, zone: ZoneInfo, days: int
) -> None:
    start, end = device_window(now, zone, days)
    local = end.astimezone(zone)
    # The same instant, shown in the device's zone. Compared in UTC: Python never finds an
    # instant of a repeated wall-clock hour (a DST fold) equal to one in another zone.
    assert start.tzinfo == zone
    assert start.astimezone(UTC) == now
    assert (local.date() - now.astimezone(zone).date()).days == days
    assert (local.hour, local.minute) in ((8, 0), (8, 30), (9, 0))  # 08:00 unless skipped
    assert timedelta(hours=7) < elapsed(start, end) < timedelta(days=days + 1, hours=10)


@given(instants, zones)
def test_default_person_windows_hold_now_and_span_seven_local_days(
    now: datetime, zone: ZoneInfo
) -> None:
    start, end = user_window(now, zone)
    assert start <= now < end
    assert (end.astimezone(zone).date() - start.astimezone(zone).date()).days == 7
    assert timedelta(days=7, hours=-2) <= elapsed(start, end) <= timedelta(days=7, hours=2)
