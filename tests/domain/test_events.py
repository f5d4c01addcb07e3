"""The event model refuses contradictions a provider payload could carry."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from calhub.domain.events import Attendee, Event, InvalidEvent
from calhub.domain.ids import CalendarId, EventId, TenantId

NEW_YORK = ZoneInfo("America/New_York")


def _event(start: datetime | date, end: datetime | date, **fields: object) -> Event:
    return Event(
        id=EventId(uuid.uuid4()),
        tenant_id=TenantId(uuid.uuid4()),
        calendar_id=CalendarId(uuid.uuid4()),
        provider_event_id="x",
        start=start,
        end=end,
        **fields,  # type: ignore[arg-type]
    )


def test_an_event_across_the_autumn_fold_is_valid() -> None:
    # 01:30 EDT (fold=0) to 01:00 EST (fold=1): later in time, earlier on the wall clock.
    start = datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)
    end = datetime(2026, 11, 1, 1, 0, fold=1, tzinfo=NEW_YORK)
    assert _event(start, end).end == end
    with pytest.raises(InvalidEvent, match="end is before start"):
        _event(end, start)


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidEvent, match="naive"):
        _event(datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 10))


def test_all_day_and_timed_values_do_not_mix() -> None:
    with pytest.raises(InvalidEvent, match="both"):
        _event(date(2026, 1, 5), datetime(2026, 1, 5, 10, tzinfo=NEW_YORK))
    assert _event(date(2026, 1, 5), date(2026, 1, 6)).is_all_day


def test_an_override_names_its_series() -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=NEW_YORK)
    with pytest.raises(InvalidEvent, match="series"):
        _event(start, start, recurrence_id=start)


def test_attendee_addresses_need_an_at_sign() -> None:
    with pytest.raises(InvalidEvent):
        Attendee(email="not-an-address")
