"""Time-ordered ids and the injected clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calhub.domain.clock import FixedClock, SystemClock
from calhub.domain.ids import new_id, parse_id

NOW = datetime(2026, 1, 5, 9, 0, 0, 123000, tzinfo=UTC)


def test_new_id_is_a_version_7_rfc_uuid_stamped_with_the_millisecond() -> None:
    value = new_id(NOW)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert value.int >> 80 == int(NOW.timestamp()) * 1000 + 123


def test_ids_sort_by_time() -> None:
    times = [NOW + timedelta(milliseconds=n) for n in range(0, 5000, 7)]
    ids = [new_id(t) for t in times]
    assert sorted(ids) == ids
    assert sorted(str(i) for i in ids) == [str(i) for i in ids]  # text order matches too


def test_ids_in_the_same_millisecond_are_unique() -> None:
    ids = {new_id(NOW) for _ in range(10_000)}
    assert len(ids) == 10_000


def test_id_time_is_the_instant_whatever_the_zone() -> None:
    tokyo = NOW.astimezone(ZoneInfo("Asia/Tokyo"))
    assert new_id(tokyo).int >> 80 == new_id(NOW).int >> 80


def test_new_id_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        new_id(datetime(2026, 1, 5, 9, 0))


def test_parse_id_round_trips_and_refuses_junk() -> None:
    value = new_id(NOW)
    assert parse_id(str(value)) == value
    with pytest.raises(ValueError, match="badly formed"):
        parse_id("not-an-id")


def test_fixed_clock_stands_still_until_advanced() -> None:
    clock = FixedClock(NOW)
    assert clock.now() == NOW
    assert clock.now() == NOW
    clock.advance(timedelta(minutes=90))
    assert clock.now() == NOW + timedelta(minutes=90)


def test_fixed_clock_reports_utc_and_refuses_naive() -> None:
    clock = FixedClock(datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 1, 5, 9, 0))


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert now.year >= 2024
