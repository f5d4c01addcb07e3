"""Windows far after DTSTART: calhub's skip-ahead and stepping must give dateutil's instants.

calhub restarts a rule near the window instead of walking it from DTSTART, and steps common
rules arithmetically; bare dateutil walking from DTSTART is the oracle here. Rules cover every
frequency from YEARLY (with BYWEEKNO, BYYEARDAY, BYSETPOS) down to MINUTELY, in zones with DST,
and windows start up to eight years after DTSTART. Events have zero length, so "overlaps the
window" is simply "starts in it".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from calhub.domain.events import Event, Recurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.recurrence import InvalidRecurrence, expand

DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 5))}"]
    by = 0
    if freq == "YEARLY" and draw(st.booleans()):
        weeks = draw(st.lists(st.sampled_from([1, 2, 20, 52, 53, -1]), min_size=1, max_size=2))
        parts.append("BYWEEKNO=" + ",".join(map(str, sorted(set(weeks)))))
        by += 1
    elif freq == "YEARLY" and draw(st.booleans()):
        yeardays = draw(st.lists(st.sampled_from([1, 60, 100, 366, -1, -300]), min_size=1))
        parts.append("BYYEARDAY=" + ",".join(map(str, sorted(set(yeardays)))))
        by += 1
    if freq in {"YEARLY", "MONTHLY"} and draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 29, 31, -1]))}")
        by += 1
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
        if freq == "MONTHLY" and draw(st.booleans()):
            days = [f"{draw(st.sampled_from([1, 2, 4, -1, 5]))}{days[0]}"]
        parts.append("BYDAY=" + ",".join(days))
        by += 1
    if freq in {"HOURLY", "MINUTELY"} and draw(st.booleans()):
        parts.append(f"BYMINUTE={draw(st.sampled_from(['0', '15,45', '59']))}")
    if freq == "MINUTELY":
        parts.append(f"BYHOUR={draw(st.sampled_from(['9', '2,3', '23']))}")
    # Finer periods hold one candidate, where BYSETPOS=2 never matches and the oracle, walking
    # to year 9999, would take seconds (calhub answers at once; see test_expansion).
    if by and freq in {"YEARLY", "MONTHLY"} and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, -1, 2]))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(DAYS))}")
    if draw(st.booleans()):
        until = datetime(2028, 1, 1, tzinfo=UTC) + timedelta(days=draw(st.integers(0, 2000)))
        parts.append(f"UNTIL={until:%Y%m%dT%H%M%SZ}")
    return ";".join(parts)


@settings(max_examples=80, deadline=None)
@given(
    rules(),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2022, 12, 31)),
    st.integers(30, 8 * 365),
    st.sampled_from([1, 5, 40]),
)
def test_skipping_ahead_gives_dateutils_instants(
    rule: str, zone_name: str, wall: datetime, later: int, days: int
) -> None:
    zone = ZoneInfo(zone_name)
    start = wall.replace(second=0, microsecond=0, tzinfo=zone)
    event = Event(
        id=EventId(uuid.UUID(int=3)),
        tenant_id=TenantId(uuid.UUID(int=1)),
        calendar_id=CalendarId(uuid.UUID(int=2)),
        provider_event_id="x",
        start=start,
        end=start,
        recurrence=Recurrence(rrules=(rule,)),
    )
    if "MINUTELY" in rule or "HOURLY" in rule:
        later = min(later, 400)  # keeps the oracle's walk from DTSTART short
    lo = start.astimezone(UTC) + timedelta(days=later, hours=7)
    hi = lo + timedelta(days=days)
    try:
        oracle_rule = rrulestr(rule, dtstart=start)
    except ValueError:  # dateutil refuses rules such as BYMINUTE values an INTERVAL never hits
        with pytest.raises(InvalidRecurrence):
            expand(event, (), lo, hi, limit=100_000)
        return
    expansion = expand(event, (), lo, hi, limit=100_000)
    assert expansion.truncated is None
    oracle = [when for when in oracle_rule.between(lo, hi, inc=True) if when < hi]
    assert [occurrence.start for occurrence in expansion.occurrences] == oracle
