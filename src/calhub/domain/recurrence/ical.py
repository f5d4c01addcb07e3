"""Read iCalendar text (RFC 5545) into domain events and expand whole calendars.

``read_calendar(text, tenant_id=..., calendar_id=...)`` parses with the ``icalendar`` library
(which resolves TZIDs through the calendar's VTIMEZONE components or the tz database) and gives
a ``CalendarData``: one ``CalendarSeries`` per UID holding the master VEVENT (a series when it
has RRULE/RDATE/EXDATE, otherwise a single event) and the VEVENTs with RECURRENCE-ID that
override its instances. Rules followed:

- floating times take ``floating_zone`` (UTC unless told), or the series' zone when they name a
  slot of a zoned series (EXDATE, RDATE, RECURRENCE-ID);
- the de-facto ``X-WR-TIMEZONE`` calendar property (Google exports) moves UTC and floating
  DTSTART/DTEND/RDATE/EXDATE/RECURRENCE-ID values into that zone, so series keep its wall time;
- no DTEND: DURATION (days nominal, the rest exact), else one day for a DATE and zero length for
  a DATE-TIME (section 3.6.1); an end before the start is read as swapped; a DATE mixed with a
  DATE-TIME is read as midnight in the other value's zone;
- an RDATE PERIOD becomes an RDATE plus an override carrying the period's end;
- of several VEVENTs for the same UID and RECURRENCE-ID the highest SEQUENCE wins (the first on
  a tie); STATUS:CANCELLED marks the event or instance cancelled;
- ``RANGE=THISANDFUTURE`` (section 3.8.4.4) is kept in ``CalendarSeries.this_and_future`` and
  applied by ``expand_calendar``: later instances move by the same offset and take its length.

A VEVENT that cannot be read is left out and described in ``CalendarData.problems``; text that
is not an iCalendar object raises ``InvalidCalendar``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from calhub.domain.events import (
    Attendee,
    AttendeeKind,
    Event,
    EventTime,
    InvalidEvent,
    Recurrence,
    ResponseStatus,
    ShowAs,
)
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.recurrence.errors import InvalidRecurrence
from calhub.domain.recurrence.expansion import expand
from calhub.domain.recurrence.rfc5545 import parse_rrule

__all__ = ["CalendarData", "CalendarSeries", "InvalidCalendar", "read_calendar"]


class InvalidCalendar(ValueError):
    """Text that is not a readable iCalendar object."""


@dataclass(frozen=True, slots=True)
class CalendarSeries:
    """Everything one UID says: the master (None if only overrides arrived) and overrides."""

    uid: str
    master: Event | None
    overrides: tuple[Event, ...] = ()
    this_and_future: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class CalendarData:
    series: tuple[CalendarSeries, ...]
    problems: tuple[str, ...] = ()

    def uid_by_event_id(self) -> dict[EventId, str]:
        return {
            event.id: item.uid
            for item in self.series
            for event in ((item.master,) if item.master else ()) + item.overrides
        }


@dataclass(slots=True)
class _Component:
    uid: str
    sequence: int
    recurrence_id: date | datetime | None
    this_and_future: bool
    start: EventTime
    end: EventTime
    rrules: tuple[str, ...]
    rdates: list[date | datetime | tuple[Any, Any]]
    exdates: list[date | datetime]
    has_rules: bool = False
    fields: dict[str, Any] = field(default_factory=dict)


_BAD_COUNT = re.compile(r"(?i)(^|;)COUNT=(-\d+|0+)(?=;|$)")
_PARTSTAT = {
    "ACCEPTED": ResponseStatus.ACCEPTED,
    "DECLINED": ResponseStatus.DECLINED,
    "TENTATIVE": ResponseStatus.TENTATIVE,
    "NEEDS-ACTION": ResponseStatus.NOT_RESPONDED,
}


def read_calendar(
    text: str | bytes,
    *,
    tenant_id: TenantId,
    calendar_id: CalendarId,
    floating_zone: tzinfo = UTC,
) -> CalendarData:
    """Parse one VCALENDAR into series and overrides; see the module docstring for the rules."""
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidCalendar(f"not an iCalendar object: {exc}") from exc
    if getattr(calendar, "name", "") != "VCALENDAR":
        raise InvalidCalendar("the text does not start with BEGIN:VCALENDAR")
    problems: list[str] = []
    wr_zone = _wr_timezone(calendar, problems)
    components: list[_Component] = []
    for index, vevent in enumerate(calendar.walk("VEVENT")):
        try:
            components.append(
                _read_component(vevent, index, wr_zone or floating_zone, wr_zone, problems)
            )
        except (InvalidCalendar, InvalidRecurrence, InvalidEvent, ValueError) as exc:
            problems.append(f"VEVENT {vevent.get('UID', index)!s}: {exc}")
    series = tuple(_group(components, tenant_id, calendar_id, problems))
    return CalendarData(series, tuple(problems))


def _wr_timezone(calendar: Any, problems: list[str]) -> tzinfo | None:
    name = calendar.get("X-WR-TIMEZONE")
    if name is None:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"X-WR-TIMEZONE {name!s} is not a known zone; ignored")
        return None


def _moved(value: Any, wr_zone: tzinfo | None) -> Any:
    """Apply X-WR-TIMEZONE to one DATE-TIME: UTC values change zone, floating ones get it."""
    if wr_zone is None or not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=wr_zone)
    if (value.tzname() or "").upper() == "UTC":
        return value.astimezone(wr_zone)
    return value


def _values(vevent: Any, name: str, wr_zone: tzinfo | None) -> list[Any]:
    prop = vevent.get(name)
    if prop is None:
        return []
    found: list[Any] = []
    for item in prop if isinstance(prop, list) else [prop]:
        for value in item.dts:
            dt = value.dt
            if isinstance(dt, tuple):
                found.append((_moved(dt[0], wr_zone), _moved(dt[1], wr_zone)))
            else:
                found.append(_moved(dt, wr_zone))
    return found


def _aware(value: date | datetime, zone: tzinfo) -> EventTime:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def _plus_duration(start: EventTime, duration: timedelta) -> EventTime:
    """DURATION days are nominal (same wall time), hours and less exact (section 3.3.6)."""
    if not isinstance(start, datetime):
        if duration.seconds or duration.microseconds:
            moment = datetime.combine(start, time(), tzinfo=UTC)
            return moment + duration
        return start + timedelta(days=duration.days)
    nominal = start + timedelta(days=duration.days)
    rest = duration - timedelta(days=duration.days)
    return (nominal.astimezone(UTC) + rest).astimezone(start.tzinfo)


def _same_kind(start: EventTime, end: EventTime) -> tuple[EventTime, EventTime]:
    if isinstance(start, datetime) and not isinstance(end, datetime):
        end = datetime.combine(end, time(), tzinfo=start.tzinfo)
    elif isinstance(end, datetime) and not isinstance(start, datetime):
        start = datetime.combine(start, time(), tzinfo=end.tzinfo)
    if isinstance(start, datetime) and isinstance(end, datetime):
        # Datetimes sharing a tzinfo compare by wall clock, ignoring fold: compare instants.
        if end.astimezone(UTC) < start.astimezone(UTC):
            start, end = end, start
        if end < start:  # ends in the repeated hour, reads earlier: keep the instant in UTC
            end = end.astimezone(UTC)
    elif end < start:
        start, end = end, start
    return start, end


def _read_component(
    vevent: Any, index: int, floating_zone: tzinfo, wr_zone: tzinfo | None, problems: list[str]
) -> _Component:
    if "DTSTART" not in vevent:
        raise InvalidCalendar("VEVENT without DTSTART")
    start = _aware(_moved(vevent["DTSTART"].dt, wr_zone), floating_zone)
    if "DTEND" in vevent:
        end = _aware(_moved(vevent["DTEND"].dt, wr_zone), floating_zone)
    elif "DURATION" in vevent:
        end = _plus_duration(start, vevent["DURATION"].dt)
    elif isinstance(start, datetime):
        end = start
    else:
        end = start + timedelta(days=1)
    start, end = _same_kind(start, end)
    rrules = _rrules(vevent, problems)
    rid_prop = vevent.get("RECURRENCE-ID")
    this_and_future = bool(
        rid_prop is not None and str(rid_prop.params.get("RANGE", "")).upper() == "THISANDFUTURE"
    )
    return _Component(
        uid=str(vevent.get("UID", f"no-uid-{index}")),
        sequence=int(vevent.get("SEQUENCE", 0)),
        recurrence_id=_moved(rid_prop.dt, wr_zone) if rid_prop is not None else None,
        this_and_future=this_and_future,
        start=start,
        end=end,
        rrules=rrules,
        rdates=_values(vevent, "RDATE", wr_zone),
        exdates=_values(vevent, "EXDATE", wr_zone),
        has_rules=any(name in vevent for name in ("RRULE", "RDATE", "EXDATE")),
        fields=_fields(vevent),
    )


def _rrules(vevent: Any, problems: list[str]) -> tuple[str, ...]:
    """The RRULE texts, checked now rather than at every expansion. An empty RRULE means none;
    a COUNT below 1 (seen from real producers) is dropped with a note, as other readers do."""
    found = vevent.get("RRULE")
    texts: list[str] = []
    for rule in found if isinstance(found, list) else [found]:
        if not rule:
            continue
        text = rule.to_ical().decode()
        if _BAD_COUNT.search(text):
            problems.append(f"VEVENT {vevent.get('UID')!s}: ignored COUNT below 1 in {text}")
            text = _BAD_COUNT.sub("", text).strip(";")
        parse_rrule(text)
        texts.append(text)
    return tuple(texts)


def _fields(vevent: Any) -> dict[str, Any]:
    status = str(vevent.get("STATUS", "")).upper()
    klass = str(vevent.get("CLASS", "")).upper()
    fields: dict[str, Any] = {
        "subject": str(vevent.get("SUMMARY", "")),
        "body": str(vevent.get("DESCRIPTION", "")),
        "location": str(vevent.get("LOCATION", "")),
        "is_cancelled": status == "CANCELLED",
        "is_private": klass in {"PRIVATE", "CONFIDENTIAL"},
        "show_as": ShowAs.FREE
        if str(vevent.get("TRANSP", "")).upper() == "TRANSPARENT"
        else ShowAs.BUSY,
        "change_key": str(vevent.get("SEQUENCE", 0)),
    }
    organizer = vevent.get("ORGANIZER")
    if organizer is not None:
        fields["organizer"] = _attendee(organizer, organizer=True)
    attendees = vevent.get("ATTENDEE")
    people = attendees if isinstance(attendees, list) else [attendees] if attendees else []
    fields["attendees"] = tuple(
        person for person in (_attendee(item, organizer=False) for item in people) if person
    )
    return fields


def _attendee(value: Any, *, organizer: bool) -> Attendee | None:
    address = str(value)
    if address.lower().startswith("mailto:"):
        address = address[7:]
    params = getattr(value, "params", {})
    kind = AttendeeKind.REQUIRED
    if str(params.get("CUTYPE", "")).upper() in {"RESOURCE", "ROOM"}:
        kind = AttendeeKind.RESOURCE
    elif str(params.get("ROLE", "")).upper() == "OPT-PARTICIPANT":
        kind = AttendeeKind.OPTIONAL
    response = (
        ResponseStatus.ORGANIZER
        if organizer
        else _PARTSTAT.get(str(params.get("PARTSTAT", "")).upper(), ResponseStatus.NONE)
    )
    try:
        return Attendee(address, str(params.get("CN", "")), kind, response)
    except InvalidEvent:
        return None


def _event_id(calendar_id: CalendarId, uid: str, recurrence_id: EventTime | None) -> EventId:
    suffix = "" if recurrence_id is None else "\n" + recurrence_id.isoformat()
    return EventId(uuid.uuid5(calendar_id, uid + suffix))


def _zone_name(value: EventTime) -> str:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return str(getattr(value.tzinfo, "key", None) or value.tzname() or "UTC")
    return "UTC"


def _slot(value: Any, master: _Component | None) -> Any:
    """Place a slot value (EXDATE, RDATE, RECURRENCE-ID) in the series' terms."""
    zone = master.start.tzinfo if master and isinstance(master.start, datetime) else UTC
    if isinstance(value, datetime):
        return _aware(value, zone or UTC)
    if master is not None and isinstance(master.start, datetime):
        return datetime.combine(value, time(), tzinfo=zone)
    return value


def _group(
    components: Iterable[_Component],
    tenant_id: TenantId,
    calendar_id: CalendarId,
    problems: list[str],
) -> Iterator[CalendarSeries]:
    masters: dict[str, _Component] = {}
    changes: dict[str, dict[Any, _Component]] = {}
    order: list[str] = []
    for component in components:
        if component.uid not in masters and component.uid not in changes:
            order.append(component.uid)
        if component.recurrence_id is None:
            current = masters.get(component.uid)
            if current is None or component.sequence > current.sequence:
                masters[component.uid] = component
        else:
            by_slot = changes.setdefault(component.uid, {})
            key = _slot_key(component.recurrence_id)
            current_change = by_slot.get(key)
            if current_change is None or component.sequence > current_change.sequence:
                by_slot[key] = component
    for uid in order:
        try:
            yield _build(uid, masters.get(uid), changes.get(uid, {}), tenant_id, calendar_id)
        except (InvalidEvent, InvalidRecurrence, ValueError) as exc:
            problems.append(f"UID {uid}: {exc}")


def _slot_key(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _build(
    uid: str,
    master: _Component | None,
    changes: dict[Any, _Component],
    tenant_id: TenantId,
    calendar_id: CalendarId,
) -> CalendarSeries:
    master_event: Event | None = None
    overrides: list[Event] = []
    series_id = _event_id(calendar_id, uid, None)
    if master is not None:
        recurrence = None
        rdates: list[EventTime] = []
        for value in master.rdates:
            if isinstance(value, tuple):
                begin = _slot(value[0], master)
                finish = value[1] if isinstance(value[1], datetime | date) else None
                rdates.append(begin)
                end = _plus_duration(begin, value[1]) if finish is None else _slot(finish, master)
                overrides.append(
                    _event(uid, series_id, begin, begin, end, master, tenant_id, calendar_id)
                )
            else:
                rdates.append(_slot(value, master))
        if master.rrules or master.rdates or master.exdates:
            recurrence = Recurrence(
                rrules=master.rrules,
                rdates=tuple(rdates),
                exdates=tuple(_slot(value, master) for value in master.exdates),
            )
        master_event = Event(
            id=series_id,
            tenant_id=tenant_id,
            calendar_id=calendar_id,
            provider_event_id=uid,
            start=master.start,
            end=master.end,
            time_zone=_zone_name(master.start),
            recurrence=recurrence,
            **master.fields,
        )
    replaced = {override.recurrence_id for override in overrides}
    future: list[Event] = []
    for change in changes.values():
        rid = _slot(change.recurrence_id, master)
        if master and master_event and _is_stale(change, master, master_event, rid):
            continue
        event = _event(
            uid, series_id, rid, change.start, change.end, change, tenant_id, calendar_id
        )
        if rid in replaced:
            overrides = [item for item in overrides if item.recurrence_id != rid]
        overrides.append(event)
        if change.this_and_future and master is not None:
            future.append(event)
    return CalendarSeries(uid, master_event, tuple(overrides), tuple(future))


def _is_stale(change: _Component, master: _Component, series: Event, rid: EventTime) -> bool:
    """An override that carries its own rules, is older (lower SEQUENCE) than the master and
    names no slot the master still has was left behind by an edit of the series: drop it."""
    if not change.has_rules or change.sequence >= master.sequence:
        return False
    moment = rid if isinstance(rid, datetime) else datetime.combine(rid, time(), tzinfo=UTC)
    around = expand(series, (), moment, moment + timedelta(seconds=1), limit=10)
    return all(occurrence.original_start != rid for occurrence in around.occurrences)


def _event(
    uid: str,
    series_id: EventId,
    recurrence_id: EventTime,
    start: EventTime,
    end: EventTime,
    source: _Component,
    tenant_id: TenantId,
    calendar_id: CalendarId,
) -> Event:
    start, end = _same_kind(start, end)
    return Event(
        id=_event_id(calendar_id, uid, recurrence_id),
        tenant_id=tenant_id,
        calendar_id=calendar_id,
        provider_event_id=f"{uid}/{recurrence_id.isoformat()}",
        start=start,
        end=end,
        time_zone=_zone_name(start),
        series_id=series_id,
        recurrence_id=recurrence_id,
        **source.fields,
    )
