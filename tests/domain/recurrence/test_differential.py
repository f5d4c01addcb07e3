"""calhub's expansion against recurring-ical-events 3.8.2 on the peer's own test calendars.

Every ``.ics`` file shipped in the installed wheel (``recurring_ical_events/test/calendars``) is
expanded by both over two windows: one year (366 days) starting at the earliest DTSTART in the
file, and a 30-day window starting 400 days and 7 hours later (odd edges, later in long series).
Files without any VEVENT use 2019 as their window. The per-UID sets of (start, end) - UTC
instants, or dates for all-day - must be equal, except for the files in ``KNOWN_DIFFERENCES``,
where the specific difference is asserted instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from recurring_ical_events.errors import BadRuleStringFormat

from calhub.domain.recurrence.ical import read_calendar

from .peer import (
    CALENDAR,
    TENANT,
    calendars_directory,
    calhub_spans,
    differences,
    first_start,
    peer_spans,
)

CALENDAR_FILES = sorted(calendars_directory().glob("*.ics"))

KNOWN_DIFFERENCES = {
    "bad_rrule_missing_until_event.ics": (
        "the RRULE says UNTL= instead of UNTIL=; the peer raises BadRuleStringFormat for the "
        "whole calendar, calhub leaves that one VEVENT out and reports why in problems"
    ),
}


def _windows(text: bytes) -> list[tuple[datetime, datetime]]:
    try:
        start = first_start(text)
    except ValueError:  # no VEVENT at all
        start = datetime(2019, 1, 1, tzinfo=UTC)
    later = start + timedelta(days=400, hours=7)
    return [(start, start + timedelta(days=366)), (later, later + timedelta(days=30))]


def test_the_peer_calendars_are_installed() -> None:
    assert len(CALENDAR_FILES) >= 90


@pytest.mark.parametrize("path", CALENDAR_FILES, ids=lambda path: path.name)
def test_calhub_agrees_with_recurring_ical_events(path: Path) -> None:
    text = path.read_bytes()
    if path.name in KNOWN_DIFFERENCES:
        _assert_known_difference(path.name, text)
        return
    for start, end in _windows(text):
        ours = calhub_spans(text, start, end)
        theirs = peer_spans(text, start, end)
        assert differences(ours, theirs) == {}, (path.name, start, end)


def _assert_known_difference(name: str, text: bytes) -> None:
    assert name == "bad_rrule_missing_until_event.ics"
    start, end = _windows(text)[0]
    with pytest.raises(BadRuleStringFormat):
        peer_spans(text, start, end)
    data = read_calendar(text, tenant_id=TENANT, calendar_id=CALENDAR)
    assert len(data.problems) == 1
    assert "UNTL" in data.problems[0]
    assert calhub_spans(text, start, end) == {}
