"""Microsoft Graph ``patternedRecurrence`` translated into an RFC 5545 rule and a first start.

Graph describes a series as ``{pattern, range}`` (Microsoft Graph v1.0 resource pages
``patternedRecurrence``, ``recurrencePattern``, ``recurrenceRange``). calhub expands every series
with one engine that speaks RFC 5545, so this module turns the Graph model into:

- ``GraphSeries.start`` / ``.end``: the first occurrence, which is the first date on or after
  ``range.startDate`` that matches the pattern (Graph's master start need not match the pattern;
  in RFC 5545 DTSTART always counts, so DTSTART must be moved onto the first real occurrence);
- ``GraphSeries.recurrence``: a ``Recurrence`` holding one RRULE value (without the ``RRULE:``
  prefix) with FREQ/INTERVAL/BYDAY/BYMONTHDAY/BYMONTH/BYSETPOS/WKST and COUNT or UNTIL.

Translation, pattern by pattern:

=================  ==========================================================================
daily              ``FREQ=DAILY;INTERVAL=n``
weekly             ``FREQ=WEEKLY;INTERVAL=n;BYDAY=..;WKST=<firstDayOfWeek>``
absoluteMonthly    ``FREQ=MONTHLY;BYMONTHDAY=d`` (d > 28: see "short months" below)
relativeMonthly    ``FREQ=MONTHLY;BYDAY=2TH`` for one day, ``BYDAY=MO,..,FR;BYSETPOS=1`` for several
absoluteYearly     ``FREQ=YEARLY;BYMONTH=m;BYMONTHDAY=d``
relativeYearly     ``FREQ=YEARLY;BYMONTH=m;BYDAY=-1FR`` (or BYSETPOS as for relativeMonthly)
=================  ==========================================================================

Periods (weeks, months, years) are counted from the period containing ``range.startDate``, as
Exchange does ([MS-OXOCAL] 2.2.1.44.1.1, "Calculating the Value of the FirstDateTime Field": the
weekly anchor is the start of the week, by FirstDOW, containing StartDate). Because the first
occurrence always lies in an anchored period, re-anchoring the RFC 5545 rule at it keeps the set.

Short months: Exchange's AbsoluteMonthlyRecurrence "DayOfMonth" documentation says that when the
day is larger than the month, "the last day of the month is assumed", and CDO's RecurrencePattern
notes that Outlook puts a yearly 29 February on 28 February in other years. Graph is a front for the
same Exchange store, so day 29-31 is encoded as ``BYMONTHDAY=28,..,d;BYSETPOS=-1`` (the latest of
those days that exists in the month). Verified against Exchange/Outlook documentation only, not
observed on a live Graph tenant.

Fields that do not apply to a pattern type are ignored, because Graph sends placeholders for them
(``"month": 0, "dayOfMonth": 0, "index": "first"`` on a weekly series; ``"endDate": "0001-01-01"``
on a ``noEnd`` range). Enum values are matched case-insensitively because some Graph samples use
PascalCase. Anything else that is wrong raises ``InvalidGraphRecurrence`` naming the field.

Offers ``graph_series(recurrence, start, end, *, resolve_zone) -> GraphSeries``, ``GraphSeries``
and ``InvalidGraphRecurrence``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, Final

from dateutil.rrule import rrulestr

from calhub.domain.events import EventTime, Recurrence, check_time
from calhub.domain.timezones import resolve_zone as default_resolve_zone

__all__ = ["GraphSeries", "InvalidGraphRecurrence", "graph_series"]

ZoneResolver = Callable[[str], tzinfo]


class InvalidGraphRecurrence(ValueError):
    """A ``patternedRecurrence`` payload that Graph would not accept or that cannot occur."""


@dataclass(frozen=True, slots=True)
class GraphSeries:
    """A Graph series in RFC 5545 terms.

    ``start``/``end`` are the first occurrence (aware datetimes in the recurrence zone, or dates
    for an all-day series); ``recurrence`` expands from ``start`` with RFC 5545 semantics.
    """

    start: EventTime
    end: EventTime
    recurrence: Recurrence


_DAYS: Final[Mapping[str, str]] = {
    "monday": "MO",
    "tuesday": "TU",
    "wednesday": "WE",
    "thursday": "TH",
    "friday": "FR",
    "saturday": "SA",
    "sunday": "SU",
}
_DAY_ORDER: Final[Sequence[str]] = tuple(_DAYS.values())
_INDEX: Final[Mapping[str, int]] = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQ: Final[Mapping[str, str]] = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "absoluteMonthly": "MONTHLY",
    "relativeMonthly": "MONTHLY",
    "absoluteYearly": "YEARLY",
    "relativeYearly": "YEARLY",
}


_PATTERN_TYPES: Final = tuple(_FREQ)
_RANGE_TYPES: Final = ("endDate", "noEnd", "numbered")
# Days in each month of a leap year. A yearly day beyond these never occurs, and CDO's
# RecurrencePattern.DayOfMonth notes that a yearly day "cannot be set past the last possible day
# in the selected month", so it is refused rather than clamped.
_MAX_MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def graph_series(
    recurrence: Mapping[str, Any],
    start: EventTime,
    end: EventTime,
    *,
    resolve_zone: ZoneResolver = default_resolve_zone,
) -> GraphSeries:
    """Translate a Graph ``patternedRecurrence`` for a master that runs ``start``..``end``.

    ``start``/``end`` are the series master's times as the caller parsed them: aware datetimes
    (best given in the event's own zone, ``originalStartTimeZone``, because that zone is used when
    ``recurrenceTimeZone`` is absent) or dates for an all-day series. ``resolve_zone`` turns
    ``recurrenceTimeZone`` (a Windows or IANA name) into a tzinfo; by default
    ``calhub.domain.timezones.resolve_zone`` (CLDR's Windows names, then IANA).
    """
    check_time(start, "start")
    check_time(end, "end")
    if isinstance(start, datetime) != isinstance(end, datetime):
        raise InvalidGraphRecurrence("start and end must both be datetimes or both dates")
    pattern = _mapping(recurrence, "pattern")
    range_ = _mapping(recurrence, "range")
    rule = _pattern_rule(pattern)
    first_date, limit = _range(range_)

    if isinstance(start, datetime):
        assert isinstance(end, datetime)  # checked above; narrows for mypy
        zone = _zone(range_, start, resolve_zone)
        wall = start.astimezone(zone).replace(tzinfo=None).time()
        first = _first_match(rule, datetime.combine(first_date, wall), limit)
        first_start = first.replace(tzinfo=zone)
        # Elapsed time, not wall-clock difference: a master spanning a DST change keeps its length.
        duration = end.astimezone(UTC) - start.astimezone(UTC)
        first_end = (first_start.astimezone(UTC) + duration).astimezone(zone)
        return GraphSeries(first_start, first_end, Recurrence(rrules=(rule + _end(limit, zone),)))

    assert not isinstance(end, datetime)
    first = _first_match(rule, datetime.combine(first_date, time()), limit)
    return GraphSeries(
        first.date(),
        first.date() + (end - start),
        Recurrence(rrules=(rule + _end(limit, None),)),
    )


# --- pattern -------------------------------------------------------------------------------


def _pattern_rule(pattern: Mapping[str, Any]) -> str:
    kind = _enum(pattern.get("type"), _PATTERN_TYPES, "pattern.type")
    parts = [
        f"FREQ={_FREQ[kind]}",
        f"INTERVAL={_positive(pattern.get('interval'), 'pattern.interval')}",
    ]
    if kind == "weekly":
        days = _days(pattern)
        wkst = _day(pattern.get("firstDayOfWeek") or "sunday", "pattern.firstDayOfWeek")
        parts += [f"BYDAY={','.join(days)}", f"WKST={wkst}"]
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        day = _int(pattern.get("dayOfMonth"), "pattern.dayOfMonth")
        if not 1 <= day <= 31:
            raise InvalidGraphRecurrence(f"pattern.dayOfMonth must be 1..31, got {day}")
        if kind == "absoluteYearly":
            month = _month(pattern)
            if day > _MAX_MONTH_DAYS[month - 1]:
                raise InvalidGraphRecurrence(
                    f"pattern.dayOfMonth {day} never occurs in month {month}"
                )
            parts.append(f"BYMONTH={month}")
        parts += _month_day(day)
    elif kind in ("relativeMonthly", "relativeYearly"):
        if kind == "relativeYearly":
            parts.append(f"BYMONTH={_month(pattern)}")
        days = _days(pattern)
        index = _INDEX[_enum(pattern.get("index") or "first", tuple(_INDEX), "pattern.index")]
        if len(days) == 1:
            parts.append(f"BYDAY={index}{days[0]}")
        else:
            # Outlook's "the first weekday" is the first of the chosen days in the month, which
            # is BYSETPOS over the set of those days (RFC 5545 section 3.3.10).
            parts += [f"BYDAY={','.join(days)}", f"BYSETPOS={index}"]
    return ";".join(parts)


def _month_day(day: int) -> list[str]:
    if day <= 28:
        return [f"BYMONTHDAY={day}"]
    # Day 29-31 falls on the last day of shorter months (see the module docstring): the latest
    # existing day among 28..day is exactly that.
    return [f"BYMONTHDAY={','.join(str(d) for d in range(28, day + 1))}", "BYSETPOS=-1"]


def _days(pattern: Mapping[str, Any]) -> list[str]:
    raw = pattern.get("daysOfWeek")
    if not isinstance(raw, list | tuple) or not raw:
        raise InvalidGraphRecurrence("pattern.daysOfWeek must list at least one day")
    chosen = {_day(name, "pattern.daysOfWeek") for name in raw}
    return [code for code in _DAY_ORDER if code in chosen]


def _day(name: object, field: str) -> str:
    code = _DAYS.get(name.lower()) if isinstance(name, str) else None
    if code is None:
        raise InvalidGraphRecurrence(f"{field}: unknown day {name!r}")
    return code


def _month(pattern: Mapping[str, Any]) -> int:
    month = _int(pattern.get("month"), "pattern.month")
    if not 1 <= month <= 12:
        raise InvalidGraphRecurrence(f"pattern.month must be 1..12, got {month}")
    return month


# --- range ---------------------------------------------------------------------------------

_Limit = date | int | None
"""The series' end: the last allowed date (endDate), a count (numbered) or None (noEnd)."""


def _range(range_: Mapping[str, Any]) -> tuple[date, _Limit]:
    kind = _enum(range_.get("type"), _RANGE_TYPES, "range.type")
    first = _date(range_.get("startDate"), "range.startDate")
    if kind == "endDate":
        last = _date(range_.get("endDate"), "range.endDate")
        if last < first:
            raise InvalidGraphRecurrence(
                f"range.endDate {last.isoformat()} is before range.startDate {first.isoformat()}"
            )
        return first, last
    if kind == "numbered":
        return first, _positive(range_.get("numberOfOccurrences"), "range.numberOfOccurrences")
    return first, None


def _zone(range_: Mapping[str, Any], start: datetime, resolve: ZoneResolver) -> tzinfo:
    name = range_.get("recurrenceTimeZone")
    if name is None or name == "":
        assert start.tzinfo is not None  # check_time rejected naive values
        return start.tzinfo
    if not isinstance(name, str):
        raise InvalidGraphRecurrence(f"range.recurrenceTimeZone must be a string, got {name!r}")
    try:
        return resolve(name)
    # timezones.UnknownTimeZone is a ValueError; a plain ZoneInfo resolver raises a KeyError.
    except (KeyError, ValueError) as exc:
        raise InvalidGraphRecurrence(f"range.recurrenceTimeZone {name!r}: {exc}") from exc


def _first_match(rule: str, dtstart: datetime, limit: _Limit) -> datetime:
    """The first wall-clock start on or after ``dtstart`` (naive) that the pattern produces.

    dateutil, unlike RFC 5545, does not count a non-matching DTSTART, and it anchors INTERVAL at
    DTSTART's period, which is exactly Graph's "first matching date on or after startDate".
    """
    first: datetime | None = rrulestr(rule, dtstart=dtstart).after(dtstart, inc=True)
    if first is None or (isinstance(limit, date) and first.date() > limit):
        raise InvalidGraphRecurrence(
            "the pattern has no occurrence between range.startDate and range.endDate"
        )
    return first


def _end(limit: _Limit, zone: tzinfo | None) -> str:
    if limit is None:
        return ""
    if isinstance(limit, int):
        return f";COUNT={limit}"
    if zone is None:
        return f";UNTIL={limit:%Y%m%d}"
    # endDate is inclusive and a date in the recurrence zone: stop at the last second of that
    # day there, written in UTC as RFC 5545 requires for a zoned DTSTART.
    last = datetime.combine(limit, time(23, 59, 59)).replace(tzinfo=zone).astimezone(UTC)
    return f";UNTIL={last:%Y%m%dT%H%M%SZ}"


# --- field readers -------------------------------------------------------------------------


def _mapping(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        raise InvalidGraphRecurrence(f"{key} must be an object, got {value!r}")
    return value


def _enum(value: object, allowed: Sequence[str], field: str) -> str:
    if isinstance(value, str):
        for name in allowed:
            if name.lower() == value.lower():
                return name
    raise InvalidGraphRecurrence(f"{field}: unknown value {value!r}; expected one of {allowed}")


def _int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidGraphRecurrence(f"{field} must be an integer, got {value!r}")
    return value


def _positive(value: object, field: str) -> int:
    number = _int(value, field)
    if number < 1:
        raise InvalidGraphRecurrence(f"{field} must be at least 1, got {number}")
    return number


def _date(value: object, field: str) -> date:
    if isinstance(value, str):
        try:
            # Edm.Date is YYYY-MM-DD; tolerate a time part some serialisers append.
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise InvalidGraphRecurrence(f"{field} must be a date YYYY-MM-DD, got {value!r}")
