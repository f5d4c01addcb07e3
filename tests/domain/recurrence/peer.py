"""Helpers to compare calhub's expansion with recurring-ical-events on the same iCalendar text.

Both sides are reduced to ``{uid: {(start, end), ...}}`` where timed values are UTC instants and
all-day values stay dates. Floating times are read as UTC on both sides (calhub's default
``floating_zone``; recurring-ical-events places them in the zone of the UTC query window).
Cancelled instances (STATUS:CANCELLED) are dropped from the peer's answer because calhub never
returns them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import recurring_ical_events

from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.recurrence.calendars import expand_calendar
from calhub.domain.recurrence.ical import read_calendar

Value = datetime | date
Spans = dict[str, set[tuple[Value, Value]]]

NO_UID = "<no UID>"
TENANT = TenantId(uuid.UUID(int=1))
CALENDAR = CalendarId(uuid.UUID(int=2))


def calendars_directory() -> Path:
    return Path(recurring_ical_events.__file__).parent / "test" / "calendars"


def _norm(value: Value) -> Value:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return value


def first_start(text: str | bytes) -> datetime:
    """The earliest DTSTART of any VEVENT, as a UTC instant (dates at midnight UTC)."""
    calendar = icalendar.Calendar.from_ical(text)
    starts = []
    for event in calendar.walk("VEVENT"):
        if "DTSTART" not in event:
            continue
        value = event["DTSTART"].dt
        if not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day, tzinfo=UTC)
        starts.append(_norm(value))
    assert isinstance(min(starts), datetime)
    return min(starts)  # type: ignore[return-value]


def one_year_from_first_start(text: str | bytes) -> tuple[datetime, datetime]:
    start = first_start(text)
    return start, start + timedelta(days=366)


def peer_spans(text: str | bytes, start: datetime, end: datetime) -> Spans:
    calendar = icalendar.Calendar.from_ical(text)
    spans: Spans = {}
    for component in recurring_ical_events.of(calendar).between(start, end):
        if str(component.get("STATUS", "")).upper() == "CANCELLED":
            continue
        uid = str(component.get("UID", NO_UID))
        first = component["DTSTART"].dt
        last = component["DTEND"].dt if "DTEND" in component else first
        spans.setdefault(uid, set()).add((_norm(first), _norm(last)))
    return spans


def calhub_spans(text: str | bytes, start: datetime, end: datetime, limit: int = 20_000) -> Spans:
    data = read_calendar(text, tenant_id=TENANT, calendar_id=CALENDAR)
    uids = data.uid_by_event_id()
    spans: Spans = {}
    expansion = expand_calendar(data, start, end, limit=limit)
    assert expansion.truncated is None
    for occurrence in expansion.occurrences:
        uid = uids[occurrence.event_id]
        spans.setdefault(NO_UID if uid.startswith("no-uid-") else uid, set()).add(
            (_norm(occurrence.start), _norm(occurrence.end))
        )
    return spans


def differences(ours: Spans, theirs: Spans) -> dict[str, tuple[set[object], set[object]]]:
    """Per UID: (only calhub has, only the peer has)."""
    result: dict[str, tuple[set[object], set[object]]] = {}
    for uid in set(ours) | set(theirs):
        mine, peer = ours.get(uid, set()), theirs.get(uid, set())
        if mine != peer:
            result[uid] = (set(mine - peer), set(peer - mine))
    return result
