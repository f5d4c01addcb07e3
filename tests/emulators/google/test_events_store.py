"""The calendar store directly: change listeners, seeding, summary and token expiry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from calhub.emulators.google.calendar import listing
from calhub.emulators.google.calendar.store import CalendarStore
from calhub.emulators.google.errors import GoogleError
from calhub.emulators.google.state import CalendarInfo
from calhub.emulators.graph.clock import EmulatorClock

CALENDARS = {
    "ada@x.test": CalendarInfo("ada@x.test", "C1", "ada@x.test", "Europe/London", False),
    "ben@x.test": CalendarInfo("ben@x.test", "C1", "ben@x.test", "Europe/Berlin", False),
    "room@x.test": CalendarInfo("room@x.test", "C1", "Room (4)", "Europe/London", True),
    "eve@y.test": CalendarInfo("eve@y.test", "C2", "eve@y.test", "UTC", False),
}
MEETING = {
    "id": "meeting01",
    "start": {"dateTime": "2026-03-03T10:00:00Z"},
    "end": {"dateTime": "2026-03-03T11:00:00Z"},
    "attendees": [{"email": "BEN@x.test"}, {"email": "room@x.test"}, {"email": "eve@y.test"}],
}


@pytest.fixture
def store() -> CalendarStore:
    clock = EmulatorClock(datetime(2026, 3, 2, 8, tzinfo=UTC), frozen=True)
    return CalendarStore(clock, lambda calendar_id: CALENDARS.get(calendar_id.lower()))


def test_listeners_hear_every_calendar_a_write_touches(store: CalendarStore) -> None:
    heard: list[str] = []
    store.on_change(heard.append)
    store.insert("ada@x.test", MEETING)
    assert sorted(heard) == ["ada@x.test", "ben@x.test", "room@x.test"]
    heard.clear()
    store.delete("ben@x.test", "meeting01")
    assert sorted(heard) == ["ada@x.test", "ben@x.test", "room@x.test"]
    heard.clear()
    with pytest.raises(GoogleError):
        store.delete("ben@x.test", "meeting01")
    assert heard == []


def test_seed_event_reports_bad_events_as_value_errors(store: CalendarStore) -> None:
    store.seed_event("ada@x.test", MEETING)
    with pytest.raises(ValueError, match="already exists"):
        store.seed_event("ada@x.test", MEETING)
    with pytest.raises(ValueError, match="unknown calendar"):
        store.seed_event("nobody@x.test", MEETING)
    with pytest.raises(ValueError, match="time"):
        store.seed_event("ada@x.test", {"start": {"dateTime": "2026-03-03T10:00:00"}})


def test_summary_counts_per_calendar(store: CalendarStore) -> None:
    store.insert("ada@x.test", MEETING)
    store.delete("ada@x.test", "meeting01")
    store.insert("ada@x.test", {**MEETING, "id": "other001", "attendees": []})
    summary = store.summary()
    assert summary["ada@x.test"]["events"] == 1
    assert summary["ada@x.test"]["cancelled"] == 1
    assert summary["room@x.test"] == {
        "events": 0,
        "cancelled": 1,
        "changes": 2,
        "sync_generation": 0,
    }
    assert "eve@y.test" not in summary


def test_expiry_touches_one_calendar_only(store: CalendarStore) -> None:
    store.insert("ada@x.test", MEETING)
    tokens = {}
    for calendar_id in ("ada@x.test", "ben@x.test"):
        calendar = store.calendar(calendar_id)
        assert calendar is not None
        page = listing.list_events(calendar, listing.Query(), store.clock.now(), {})
        tokens[calendar_id] = page["nextSyncToken"]
    store.expire_sync_tokens("ADA@x.test")
    ada, ben = store.calendar("ada@x.test"), store.calendar("ben@x.test")
    assert ada is not None
    assert ben is not None
    with pytest.raises(GoogleError) as gone:
        listing.list_events(
            ada, listing.Query(sync_token=tokens["ada@x.test"]), store.clock.now(), {}
        )
    assert gone.value.status == 410
    page = listing.list_events(
        ben, listing.Query(sync_token=tokens["ben@x.test"]), store.clock.now(), {}
    )
    assert page["items"] == []


def test_reset_forgets_everything(store: CalendarStore) -> None:
    store.insert("ada@x.test", MEETING)
    store.reset()
    assert store.summary() == {}
    store.insert("ada@x.test", MEETING)  # the id is free again
