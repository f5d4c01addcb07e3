"""Reading iCalendar text into events, then expanding the calendar."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.recurrence.calendars import expand_calendar
from calhub.domain.recurrence.errors import RecurrenceTooExpensive
from calhub.domain.recurrence.ical import CalendarData, InvalidCalendar, read_calendar

TENANT = TenantId(uuid.UUID(int=1))
CALENDAR = CalendarId(uuid.UUID(int=2))
BERLIN = ZoneInfo("Europe/Berlin")


def ics(*lines: str, header: tuple[str, ...] = ()) -> str:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calhub//test//EN", *header, *lines]
    return "\r\n".join([*body, "END:VCALENDAR", ""])


def vevent(*lines: str) -> tuple[str, ...]:
    return ("BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", *lines, "END:VEVENT")


def read(text: str, **options: object) -> CalendarData:
    return read_calendar(text, tenant_id=TENANT, calendar_id=CALENDAR, **options)  # type: ignore[arg-type]


def spans(data: CalendarData, lo: datetime, hi: datetime) -> list[tuple[object, object]]:
    expansion = expand_calendar(data, lo, hi, limit=1000)
    assert expansion.truncated is None
    return [
        (
            o.start.astimezone(UTC) if isinstance(o.start, datetime) else o.start,
            o.end.astimezone(UTC) if isinstance(o.end, datetime) else o.end,
        )
        for o in expansion.occurrences
    ]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


CUSTOM_ZONE = (
    "BEGIN:VTIMEZONE",
    "TZID:Office Time",
    "BEGIN:STANDARD",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
)


def test_a_vtimezone_definition_gives_the_series_its_dst_rules() -> None:
    text = ics(
        *CUSTOM_ZONE,
        *vevent(
            "UID:custom",
            "DTSTART;TZID=Office Time:20260323T090000",
            "DTEND;TZID=Office Time:20260323T093000",
            "RRULE:FREQ=WEEKLY;COUNT=2",
        ),
    )
    assert spans(read(text), utc(2026, 3, 1), utc(2026, 4, 30)) == [
        (utc(2026, 3, 23, 8), utc(2026, 3, 23, 8, 30)),
        (utc(2026, 3, 30, 7), utc(2026, 3, 30, 7, 30)),
    ]


def test_floating_times_take_the_given_zone_and_duration_replaces_dtend() -> None:
    text = ics(*vevent("UID:floating", "DTSTART:20260323T090000", "DURATION:PT45M"))
    data = read(text, floating_zone=BERLIN)
    assert spans(data, utc(2026, 3, 1), utc(2026, 4, 1)) == [
        (utc(2026, 3, 23, 8), utc(2026, 3, 23, 8, 45))
    ]


def test_a_missing_dtend_is_one_day_for_a_date_and_zero_for_a_datetime() -> None:
    text = ics(
        *vevent("UID:day", "DTSTART;VALUE=DATE:20260323"),
        *vevent("UID:moment", "DTSTART:20260324T100000Z"),
    )
    assert spans(read(text), utc(2026, 3, 1), utc(2026, 4, 1)) == [
        (date(2026, 3, 23), date(2026, 3, 24)),
        (utc(2026, 3, 24, 10), utc(2026, 3, 24, 10)),
    ]


def test_overrides_move_cancel_and_exdates_remove_instances() -> None:
    text = ics(
        *vevent(
            "UID:s",
            "DTSTART;TZID=Europe/Berlin:20260302T090000",
            "DTEND;TZID=Europe/Berlin:20260302T100000",
            "RRULE:FREQ=WEEKLY;COUNT=4",
            "EXDATE;TZID=Europe/Berlin:20260323T090000",
        ),
        *vevent(
            "UID:s",
            "RECURRENCE-ID;TZID=Europe/Berlin:20260309T090000",
            "DTSTART;TZID=Europe/Berlin:20260310T140000",
            "DTEND;TZID=Europe/Berlin:20260310T150000",
        ),
        *vevent(
            "UID:s",
            "RECURRENCE-ID;TZID=Europe/Berlin:20260316T090000",
            "DTSTART;TZID=Europe/Berlin:20260316T090000",
            "DTEND;TZID=Europe/Berlin:20260316T100000",
            "STATUS:CANCELLED",
        ),
    )
    assert spans(read(text), utc(2026, 3, 1), utc(2026, 4, 1)) == [
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 9)),
        (utc(2026, 3, 10, 13), utc(2026, 3, 10, 14)),
    ]


def test_this_and_future_moves_the_later_instances() -> None:
    text = ics(
        *vevent(
            "UID:t",
            "DTSTART:20260301T120000Z",
            "DTEND:20260301T130000Z",
            "RRULE:FREQ=DAILY;COUNT=4",
        ),
        *vevent(
            "UID:t",
            "RECURRENCE-ID;RANGE=THISANDFUTURE:20260302T120000Z",
            "DTSTART:20260302T150000Z",
            "DTEND:20260302T170000Z",
            "SEQUENCE:1",
        ),
    )
    assert spans(read(text), utc(2026, 3, 1), utc(2026, 4, 1)) == [
        (utc(2026, 3, 1, 12), utc(2026, 3, 1, 13)),
        (utc(2026, 3, 2, 15), utc(2026, 3, 2, 17)),
        (utc(2026, 3, 3, 15), utc(2026, 3, 3, 17)),
        (utc(2026, 3, 4, 15), utc(2026, 3, 4, 17)),
    ]


def test_x_wr_timezone_keeps_a_utc_series_at_local_wall_time() -> None:
    text = ics(
        *vevent("UID:g", "DTSTART:20260323T080000Z", "DTEND:20260323T090000Z", "RRULE:FREQ=WEEKLY"),
        header=("X-WR-TIMEZONE:Europe/Berlin",),
    )
    assert [start for start, _ in spans(read(text), utc(2026, 3, 20), utc(2026, 4, 1))] == [
        utc(2026, 3, 23, 8),
        utc(2026, 3, 30, 7),
    ]


def test_an_rdate_period_brings_its_own_end() -> None:
    text = ics(
        *vevent(
            "UID:p",
            "DTSTART:20260301T120000Z",
            "DTEND:20260301T130000Z",
            "RDATE;VALUE=PERIOD:20260305T120000Z/PT3H",
        )
    )
    assert spans(read(text), utc(2026, 3, 1), utc(2026, 4, 1)) == [
        (utc(2026, 3, 1, 12), utc(2026, 3, 1, 13)),
        (utc(2026, 3, 5, 12), utc(2026, 3, 5, 15)),
    ]


def test_the_highest_sequence_wins() -> None:
    text = ics(
        *vevent("UID:q", "SEQUENCE:2", "DTSTART:20260301T120000Z", "DTEND:20260301T130000Z"),
        *vevent("UID:q", "SEQUENCE:1", "DTSTART:20260302T120000Z", "DTEND:20260302T130000Z"),
    )
    data = read(text)
    assert len(data.series) == 1
    assert data.series[0].master is not None
    assert data.series[0].master.start == utc(2026, 3, 1, 12)


def test_a_bad_vevent_is_reported_and_the_rest_is_read() -> None:
    text = ics(
        *vevent("UID:bad", "DTSTART:20260301T120000Z", "RRULE:FREQ=SOMETIMES"),
        *vevent("UID:good", "DTSTART:20260301T120000Z", "SUMMARY:Kept"),
    )
    data = read(text)
    assert [item.uid for item in data.series] == ["good"]
    assert len(data.problems) == 1
    assert "bad" in data.problems[0]


def test_event_fields_are_read() -> None:
    text = ics(
        *vevent(
            "UID:f",
            "DTSTART:20260301T120000Z",
            "SUMMARY:Planning",
            "LOCATION:Room 1",
            "TRANSP:TRANSPARENT",
            "ORGANIZER;CN=Ann:mailto:ann@example.com",
            "ATTENDEE;PARTSTAT=ACCEPTED;ROLE=OPT-PARTICIPANT:mailto:bob@example.com",
        )
    )
    master = read(text).series[0].master
    assert master is not None
    assert (master.subject, master.location, master.show_as) == ("Planning", "Room 1", "free")
    assert master.organizer is not None
    assert master.organizer.email == "ann@example.com"
    assert [(a.email, a.kind, a.response) for a in master.attendees] == [
        ("bob@example.com", "optional", "accepted")
    ]
    assert master.end - master.start == timedelta(0)  # type: ignore[operator]


@pytest.mark.parametrize("text", ["", "hello", "BEGIN:VEVENT\r\nEND:VEVENT\r\n", b"\xff\xfe"])
def test_text_that_is_not_a_calendar_is_refused(text: str | bytes) -> None:
    with pytest.raises(InvalidCalendar):
        read_calendar(text, tenant_id=TENANT, calendar_id=CALENDAR)


def test_a_runaway_series_is_reported_and_the_others_still_expand() -> None:
    text = ics(
        *vevent(
            "UID:runaway",
            "DTSTART:20160104T000000Z",
            "RRULE:FREQ=MINUTELY;BYDAY=MO;COUNT=999999999",
        ),
        *vevent("UID:fine", "DTSTART:20260302T100000Z", "DTEND:20260302T110000Z"),
    )
    expansion = expand_calendar(read(text), utc(2026, 3, 1), utc(2026, 3, 8), limit=100)
    assert [o.start for o in expansion.occurrences] == [utc(2026, 3, 2, 10)]
    assert isinstance(expansion.truncated, RecurrenceTooExpensive)


def test_an_event_ending_in_the_repeated_hour_keeps_its_length() -> None:
    # 01:30 EDT plus 30 minutes is 01:00 EST: later in time, earlier on the wall clock.
    text = ics(
        *vevent("UID:fold", "DTSTART;TZID=America/New_York:20261101T013000", "DURATION:PT30M")
    )
    assert spans(read(text), utc(2026, 11, 1), utc(2026, 11, 2)) == [
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 6, 0))
    ]
