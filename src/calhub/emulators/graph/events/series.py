"""Series: Graph's patterned recurrence expanded into occurrences and exceptions (graph.md §1.3).

A master's ``recurrence`` is translated once per write by ``calhub.domain.recurrence.graph``
(``graph_series``) into the domain's RFC 5545 terms; ``instances`` expands it over the window a
request asks for and nothing more. Exceptions are the master's overrides and cancelled
occurrences its EXDATEs, so the domain's ``expand`` does the bookkeeping.

Every instance has a stable id derived from the master's id and its original start
(``ids.instance_id``); an exception keeps the id of the occurrence it replaced, as on Graph.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast

from calhub.domain.events import Event as DomainEvent
from calhub.domain.events import Recurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.recurrence import expand
from calhub.domain.recurrence.graph import GraphSeries, InvalidGraphRecurrence, graph_series
from calhub.domain.timezones import UnknownTimeZone, resolve_zone
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.ids import epoch_seconds, instance_id
from calhub.emulators.graph.events.model import EventTime, Instance, SeriesPlan, StoredEvent
from calhub.emulators.graph.events.times import instant

EXPANSION_LIMIT = 5_000
"""Occurrences of one series in one window; more are cut off (a year of daily events is 366)."""

_NOWHERE = cast(TenantId, uuid.UUID(int=0))
_NO_CALENDAR = cast(CalendarId, uuid.UUID(int=0))

_PATTERN_DEFAULTS: dict[str, Any] = {
    "type": None,
    "interval": 1,
    "month": 0,
    "dayOfMonth": 0,
    "daysOfWeek": [],
    "firstDayOfWeek": "sunday",
    "index": "first",
}
_ENUMS = {
    "pattern": (
        "daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly",
        "relativeYearly",
    ),
    "range": ("endDate", "noEnd", "numbered"),
    "day": ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"),
    "index": ("first", "second", "third", "fourth", "last"),
}  # fmt: skip


def first_occurrence(
    recurrence: dict[str, Any], start: EventTime, end: EventTime, zone_name: str
) -> tuple[dict[str, Any], GraphSeries]:
    """The normalised recurrence (Graph's placeholders filled in) and the series it defines.

    Raises Graph's 400 for a recurrence Graph would refuse.
    """
    normalised = normalise_recurrence(recurrence, zone_name)
    try:
        series = graph_series(normalised, start, end, resolve_zone=resolve_zone)
    except (InvalidGraphRecurrence, UnknownTimeZone, ValueError) as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"Invalid recurrence: {exc}") from None
    return normalised, series


def normalise_recurrence(raw: dict[str, Any], zone_name: str) -> dict[str, Any]:
    """``{pattern, range}`` with every field present and enums in camelCase (§1.3 OBSERVED)."""
    pattern_in = _lower_keys(raw.get("pattern"), "recurrence.pattern")
    range_in = _lower_keys(raw.get("range"), "recurrence.range")
    pattern = {
        name: pattern_in.get(name.lower(), default) for name, default in _PATTERN_DEFAULTS.items()
    }
    pattern["type"] = _enum(pattern["type"], "pattern")
    pattern["firstDayOfWeek"] = _enum(pattern["firstDayOfWeek"] or "sunday", "day")
    pattern["index"] = _enum(pattern["index"] or "first", "index")
    days = pattern["daysOfWeek"] or []
    if not isinstance(days, list):
        raise GraphError(400, "ErrorInvalidRequest", "recurrence.pattern.daysOfWeek must be a list")
    pattern["daysOfWeek"] = [_enum(day, "day") for day in days]
    for name in ("month", "dayOfMonth", "interval"):
        if pattern[name] is None:
            pattern[name] = _PATTERN_DEFAULTS[name]
    range_type = _enum(range_in.get("type"), "range")
    range_ = {
        "type": range_type,
        "startDate": range_in.get("startdate"),
        "endDate": range_in.get("enddate") if range_type == "endDate" else "0001-01-01",
        "recurrenceTimeZone": range_in.get("recurrencetimezone") or zone_name,
        "numberOfOccurrences": (
            range_in.get("numberofoccurrences") if range_type == "numbered" else 0
        ),
    }
    return {"pattern": pattern, "range": range_}


def build_plan(master: StoredEvent) -> SeriesPlan:
    """The domain view of ``master`` with its exceptions and cancellations."""
    assert master.recurrence is not None
    series = graph_series(master.recurrence, master.start, master.end, resolve_zone=resolve_zone)
    zone = series.start.tzinfo if isinstance(series.start, datetime) else master.zone.info
    assert zone is not None
    exdates = tuple(master.cancelled.values())
    domain_master = DomainEvent(
        id=cast(EventId, master.key),
        tenant_id=_NOWHERE,
        calendar_id=_NO_CALENDAR,
        provider_event_id=master.id,
        start=series.start,
        end=series.end,
        recurrence=Recurrence(rrules=series.recurrence.rrules, exdates=exdates),
    )
    overrides = tuple(
        DomainEvent(
            id=cast(EventId, exception.key),
            tenant_id=_NOWHERE,
            calendar_id=_NO_CALENDAR,
            provider_event_id=exception.id,
            start=exception.start,
            end=exception.end,
            series_id=cast(EventId, master.key),
            recurrence_id=exception.original_start,
        )
        for exception in master.exceptions.values()
    )
    by_key = {exception.key: exception for exception in master.exceptions.values()}
    return SeriesPlan(domain_master, overrides, by_key, zone)


def with_plan(master: StoredEvent) -> StoredEvent:
    return replace(master, plan=build_plan(master))


def instances(item: StoredEvent, window_start: datetime, window_end: datetime) -> list[Instance]:
    """The item's instances overlapping ``[window_start, window_end)``, by start."""
    if item.plan is None:
        if overlaps(item.start_instant, item.end_instant, window_start, window_end):
            return [single_instance(item)]
        return []
    plan = item.plan
    zone = plan.zone
    expansion = expand(
        plan.series,
        plan.overrides,
        window_start.astimezone(zone),
        window_end.astimezone(zone),
        limit=EXPANSION_LIMIT,
    )
    found: list[Instance] = []
    for occurrence in expansion.occurrences:
        if occurrence.is_override:
            exception = plan.exceptions_by_key[occurrence.event_id]
            found.append(exception_instance(item, exception))
        else:
            found.append(occurrence_instance(item, occurrence.start, occurrence.end, zone))
    return found


def single_instance(item: StoredEvent) -> Instance:
    return Instance(
        item.id, "singleInstance", item, item.start, item.end, None, None, item.start_instant
    )


def exception_instance(master: StoredEvent, exception: StoredEvent) -> Instance:
    return Instance(
        exception.id,
        "exception",
        exception,
        exception.start,
        exception.end,
        exception.original_start,
        master,
        exception.start_instant,
    )


def occurrence_instance(
    master: StoredEvent, start: EventTime, end: EventTime, zone: tzinfo
) -> Instance:
    return Instance(
        instance_id(master.id, epoch_seconds(start)),
        "occurrence",
        master,
        start,
        end,
        start,
        master,
        instant(start, zone),
    )


def find_instance(master: StoredEvent, slot: int) -> Instance | None:
    """The occurrence or exception of ``master`` whose original start is ``slot``, if any."""
    if master.plan is None or slot in master.cancelled:
        return None
    exception = master.exceptions.get(slot)
    if exception is not None:
        return exception_instance(master, exception)
    plan = master.plan
    at = datetime.fromtimestamp(slot, UTC)
    if not isinstance(plan.series.start, datetime):
        day = at.date()
        lo = datetime(day.year, day.month, day.day, tzinfo=plan.zone)
        candidates = _expand_slots(master, lo, lo + timedelta(days=1))
        return next((c for c in candidates if c.original_start == day), None)
    candidates = _expand_slots(master, at, at + timedelta(seconds=1))
    return next(
        (c for c in candidates if isinstance(c.start, datetime) and epoch_seconds(c.start) == slot),
        None,
    )


def neighbour_days(master: StoredEvent, original: EventTime) -> tuple[date | None, date | None]:
    """The local dates of the occurrences before and after ``original`` (for the crossing
    rule: an exception may not move onto or past an adjacent occurrence's day)."""
    assert master.plan is not None
    zone = master.plan.zone
    at = instant(original, zone)
    span = timedelta(days=400)
    before = _expand_slots(master, at - span, at)
    after = _expand_slots(master, at + timedelta(seconds=1), at + span)
    earlier = [i for i in before if _original_key(i) < epoch_seconds(original)]
    later = [i for i in after if _original_key(i) > epoch_seconds(original)]
    return (
        _local_day(earlier[-1].original_start, zone) if earlier else None,
        _local_day(later[0].original_start, zone) if later else None,
    )


def _expand_slots(master: StoredEvent, lo: datetime, hi: datetime) -> list[Instance]:
    """Instances of the unmodified series (no exceptions) in a window, by original start."""
    assert master.plan is not None
    plan = master.plan
    expansion = expand(
        plan.series, (), lo.astimezone(plan.zone), hi.astimezone(plan.zone), limit=EXPANSION_LIMIT
    )
    return [occurrence_instance(master, o.start, o.end, plan.zone) for o in expansion.occurrences]


def _original_key(item: Instance) -> int:
    assert item.original_start is not None
    return epoch_seconds(item.original_start)


def _local_day(value: EventTime | None, zone: tzinfo) -> date | None:
    if value is None:
        return None
    return value.astimezone(zone).date() if isinstance(value, datetime) else value


def overlaps(start: datetime, end: datetime, lo: datetime, hi: datetime) -> bool:
    """calendarView's rule (§2.1): ``start < hi and end > lo``; a zero-length event counts
    when it starts in the window."""
    if start == end:
        return lo <= start < hi
    return start < hi and end > lo


def _lower_keys(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GraphError(400, "ErrorInvalidRequest", f"{where} must be an object.")
    return {str(key).lower(): item for key, item in value.items()}


def _enum(value: object, kind: str) -> str:
    if isinstance(value, str):
        for name in _ENUMS[kind]:
            if name.lower() == value.lower():
                return name
    raise GraphError(
        400, "ErrorInvalidRequest", f"Invalid recurrence: unsupported {kind} value {value!r}."
    )
