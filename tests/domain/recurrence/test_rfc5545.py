"""RRULE parsing: the forms RFC 5545 allows are understood, anything else is refused clearly."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from calhub.domain.recurrence.rfc5545 import (
    FREQUENCIES,
    FloatingTime,
    InvalidRecurrence,
    parse_rrule,
)


def test_until_keeps_the_form_it_was_written_in() -> None:
    assert parse_rrule("FREQ=DAILY;UNTIL=20260131").until == date(2026, 1, 31)
    assert parse_rrule("FREQ=DAILY;UNTIL=20260131T090000Z").until == datetime(
        2026, 1, 31, 9, tzinfo=UTC
    )
    assert parse_rrule("FREQ=DAILY;UNTIL=20260131T090000").until == FloatingTime(
        date(2026, 1, 31), time(9)
    )


def test_the_by_parts_are_read() -> None:
    rule = parse_rrule(
        "RRULE:FREQ=YEARLY;INTERVAL=2;BYMONTH=1,3;BYDAY=-1SU,+2MO,TU;BYSETPOS=-1;"
        "BYWEEKNO=-1,20;BYYEARDAY=-100,1;BYMONTHDAY=-1;WKST=SU;COUNT=4"
    )
    assert rule.freq == FREQUENCIES["YEARLY"]
    assert rule.interval == 2
    assert rule.count == 4
    assert rule.bymonth == (1, 3)
    assert rule.byweekday == ((0, 2), (1, None), (6, -1))
    assert rule.bysetpos == (-1,)
    assert rule.byweekno == (-1, 20)
    assert rule.byyearday == (-100, 1)
    assert rule.bymonthday == (-1,)
    assert rule.wkst == 6


def test_extension_parts_are_ignored() -> None:
    assert parse_rrule("FREQ=WEEKLY;X-NAME=1").freq == FREQUENCIES["WEEKLY"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "INTERVAL=2",
        "FREQ=FORTNIGHTLY",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;COUNT=-1",
        "FREQ=DAILY;COUNT=ten",
        "FREQ=DAILY;UNTL=20260101",
        "FREQ=DAILY;UNTIL=2026-01-01",
        "FREQ=DAILY;UNTIL=20260230",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=YEARLY;BYMONTH=13",
        "FREQ=YEARLY;BYMONTH=-1",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=MONTHLY;BYDAY=60MO",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=MONTHLY;BYSETPOS=1",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;WKST=XX",
        "FREQ",
    ],
)
def test_garbage_is_an_invalid_recurrence(text: str) -> None:
    with pytest.raises(InvalidRecurrence):
        parse_rrule(text)
