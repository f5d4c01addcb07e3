"""Random RRULEs expanded by calhub and by recurring-ical-events must give the same instants.

Rules: FREQ DAILY/WEEKLY/MONTHLY/YEARLY, INTERVAL 1-4, BYDAY (with ordinals where RFC 5545
allows them), BYMONTHDAY (negatives too), BYMONTH, BYSETPOS, COUNT or UNTIL, WKST; zones
Europe/Berlin, America/New_York, Australia/Lord_Howe (30-minute DST) and UTC; DTSTARTs within
days of the 2026 DST changes, at wall times around the change (including nonexistent and
ambiguous ones); all-day series too. The window is one year starting a random number of days
after DTSTART.

Starts are compared exactly, except where the two readings of an instance's length decide
whether it reaches into the window: every calhub instance lasts the series' exact duration (RFC
5545 section 3.8.5.3, checked below), while the peer adds the duration in wall-clock time, which
differs for an instance that starts in a DST gap or fold and ends after it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .peer import calhub_spans, peer_spans

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
# 2026 transition days per zone (spring, autumn), where wall time jumps or repeats.
TRANSITIONS = {
    "Europe/Berlin": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
    "UTC": [date(2026, 3, 29), date(2026, 10, 25)],
}
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@st.composite
def rules(draw: st.DrawFn, all_day: bool) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 4))}"]
    by_parts = 0
    if draw(st.booleans()):
        days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True))
        if freq in {"MONTHLY", "YEARLY"} and draw(st.booleans()):
            ordinal = draw(st.sampled_from([1, 2, 3, 4, -1, -2]))
            days = [f"{ordinal}{days[0]}"]
        parts.append("BYDAY=" + ",".join(days))
        by_parts += 1
    if freq != "WEEKLY" and draw(st.booleans()):
        monthdays = draw(
            st.lists(
                st.sampled_from([1, 2, 13, 15, 28, 29, 30, 31, -1, -2, -7]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        parts.append("BYMONTHDAY=" + ",".join(map(str, monthdays)))
        by_parts += 1
    if draw(st.booleans()):
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
        by_parts += 1
    if by_parts and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, 2, -1, -2]))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(DAYS))}")
    ending = draw(st.sampled_from(["count", "until", "none"]))
    if ending == "count":
        parts.append(f"COUNT={draw(st.integers(1, 60))}")
    elif ending == "until":
        until = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 24 * 500)))
        parts.append(
            "UNTIL=" + (until.strftime("%Y%m%d") if all_day else until.strftime("%Y%m%dT%H%M%SZ"))
        )
    return ";".join(parts)


Case = tuple[str, datetime, datetime, ZoneInfo, timedelta]


@st.composite
def series(draw: st.DrawFn) -> Case:
    """iCalendar text, a one-year window, the series' zone and its length."""
    all_day = draw(st.booleans())
    zone = draw(st.sampled_from(ZONES))
    day = draw(st.sampled_from(TRANSITIONS[zone])) + timedelta(days=draw(st.integers(-8, 8)))
    rule = draw(rules(all_day))
    duration = timedelta(0)
    if all_day:
        length = draw(st.integers(1, 3))
        start_line = f"DTSTART;VALUE=DATE:{day:%Y%m%d}"
        end_line = f"DTEND;VALUE=DATE:{day + timedelta(days=length):%Y%m%d}"
        anchor = datetime(day.year, day.month, day.day, tzinfo=UTC)
    else:
        minutes = draw(st.integers(0, 4 * 4 - 1)) * 15
        wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
        length = draw(st.sampled_from([0, 15, 30, 60, 90]))
        prefix = ":" if zone == "UTC" else f";TZID={zone}:"
        suffix = "Z" if zone == "UTC" else ""
        start_line = f"DTSTART{prefix}{wall:%Y%m%dT%H%M%S}{suffix}"
        end_line = f"DURATION:PT{length}M"
        duration = timedelta(minutes=length)
        anchor = wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    text = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//calhub//differential//EN",
            "BEGIN:VEVENT",
            "UID:random-series",
            "DTSTAMP:20260101T000000Z",
            start_line,
            end_line,
            f"RRULE:{rule}",
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    )
    window_start = anchor + timedelta(
        days=draw(st.integers(-2, 200)), hours=draw(st.integers(0, 23))
    )
    return text, window_start, window_start + timedelta(days=366), ZoneInfo(zone), duration


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
def test_random_rules_give_the_peers_start_instants(case: Case) -> None:
    text, start, end, zone, duration = case
    ours = calhub_spans(text, start, end)
    theirs = peer_spans(text, start, end)
    our_starts = {first for spans in ours.values() for first, _ in spans}
    their_starts = {first for spans in theirs.values() for first, _ in spans}
    # An instance starting just before the window overlaps it or not depending on how long it
    # is; only there may exact (calhub) and wall-clock (peer) durations disagree.
    for first in our_starts - their_starts:
        assert isinstance(first, datetime)
        assert first + duration > start >= _wall_clock_end(first, zone, duration)
    for first in their_starts - our_starts:
        assert isinstance(first, datetime)
        assert _wall_clock_end(first, zone, duration) > start >= first + duration
    for spans in ours.values():
        lengths = {last - first for first, last in spans}  # type: ignore[operator]
        assert len(lengths) <= 1, "every instance lasts the series' exact duration"


def _wall_clock_end(first: datetime, zone: ZoneInfo, duration: timedelta) -> datetime:
    return (first.astimezone(zone) + duration).astimezone(UTC)
