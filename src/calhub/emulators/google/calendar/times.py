"""Google's time values: ``EventDateTime`` objects, RFC 3339 query parameters, recurrence lines,
and the expansion of a series into instances with ``calhub.domain.recurrence``.

google.md §1.3: ``dateTime`` needs an offset unless ``timeZone`` is given; §1.4: recurrence lines
are RRULE/EXRULE/RDATE/EXDATE without DTSTART, expanded in ``start.timeZone``; §10: query
timestamps must carry an offset. Instance ids are ``<parent>_<YYYYMMDDTHHMMSSZ>`` (UTC of the
original start) or ``<parent>_<YYYYMMDD>`` for all-day series (§1.4, observed).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calhub.domain.events import Event, EventTime, InvalidEvent, Recurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.recurrence import InvalidRecurrence, expand, parse_rrule
from calhub.emulators.google.errors import GoogleError

EXPANSION_LIMIT = 2500
_NAMESPACE = uuid.UUID("5b0d6c1e-7a57-4c55-9b0e-6f6f676c6531")
_NIL = uuid.UUID(int=0)


def bad_request(message: str, reason: str = "invalid") -> GoogleError:
    return GoogleError(400, reason, message)


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise bad_request(f"Invalid time zone definition: {name}", "timeZoneInvalid") from exc


@dataclass(frozen=True, slots=True)
class When:
    """A parsed ``EventDateTime``: an aware datetime or a date, and the zone name if given."""

    value: EventTime
    time_zone: str | None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.value, datetime)

    def instant(self, frame: tzinfo = UTC) -> datetime:
        """The UTC instant; an all-day value is midnight in ``frame`` (floating, §10)."""
        if isinstance(self.value, datetime):
            return self.value.astimezone(UTC)
        return datetime.combine(self.value, time(), tzinfo=frame).astimezone(UTC)


def parse_when(raw: Any, what: str) -> When:
    if not isinstance(raw, Mapping):
        raise bad_request(f"Missing {what} time.", "required")
    tz_name = raw.get("timeZone") or None
    if raw.get("date") is not None:
        if raw.get("dateTime") is not None:
            raise bad_request(f"Invalid {what} time: both date and dateTime are set.")
        try:
            return When(date.fromisoformat(raw["date"]), tz_name)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"Invalid {what} time.") from exc
    text = raw.get("dateTime")
    if not isinstance(text, str):
        raise bad_request(f"Missing {what} time.", "required")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise bad_request(f"Invalid {what} time.") from exc
    if value.tzinfo is None:
        if tz_name is None:
            raise bad_request(f"Missing time zone definition for {what} time.", "required")
        value = value.replace(tzinfo=zone(tz_name))
    elif tz_name is not None:
        value = value.astimezone(zone(tz_name))
    return When(value, tz_name)


def render_when(when: When) -> dict[str, Any]:
    """Google's echo: dates as given, date-times with a numeric offset in the event's zone."""
    if not isinstance(when.value, datetime):
        return {"date": when.value.isoformat()}
    out: dict[str, Any] = {"dateTime": rfc3339(when.value)}
    if when.time_zone is not None:
        out["timeZone"] = when.time_zone
    return out


def rfc3339(value: datetime) -> str:
    text = value.replace(microsecond=0).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def timestamp(value: datetime) -> str:
    """``created``/``updated``: milliseconds and ``Z`` (google.md §1.1)."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_query_time(text: str, name: str) -> datetime:
    """``timeMin``/``timeMax``/``updatedMin``: RFC 3339 with a mandatory offset (§10)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise GoogleError(
            400, "badRequest", f"Bad Request: {name}", location=name, location_type="parameter"
        )
    return value


def instance_id(parent_id: str, original: EventTime) -> str:
    if isinstance(original, datetime):
        return f"{parent_id}_{original.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return f"{parent_id}_{original.strftime('%Y%m%d')}"


def split_instance_id(event_id: str) -> tuple[str, EventTime] | None:
    """``(parent id, original start)`` for an instance id, else None."""
    parent, sep, suffix = event_id.rpartition("_")
    if not sep or not parent:
        return None
    try:
        if len(suffix) == 16 and suffix.endswith("Z"):
            return parent, datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if len(suffix) == 8 and suffix.isdigit():
            return parent, datetime.strptime(suffix, "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None
    return None


def parse_recurrence(lines: Any, start: When) -> Recurrence:
    """RRULE/RDATE/EXDATE lines (§1.4); DTSTART and anything else → 400."""
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise bad_request("Invalid recurrence rule.")
    rrules: list[str] = []
    rdates: list[EventTime] = []
    exdates: list[EventTime] = []
    default_zone = start.value.tzinfo if isinstance(start.value, datetime) else UTC
    for line in lines:
        head, sep, body = line.partition(":")
        name, *params = head.upper().split(";")
        if not sep or name not in ("RRULE", "RDATE", "EXDATE"):
            raise bad_request("Invalid recurrence rule.")
        if name == "RRULE":
            try:
                parse_rrule(body)
            except InvalidRecurrence as exc:
                raise bad_request("Invalid recurrence rule.") from exc
            rrules.append(body)
            continue
        params_map = dict(p.partition("=")[::2] for p in params)
        tz_name = head.split("TZID=")[1].split(";")[0] if "TZID=" in head.upper() else None
        frame = zone(tz_name) if tz_name else default_zone
        target = rdates if name == "RDATE" else exdates
        for value in body.split(","):
            target.append(_recurrence_value(value.strip(), params_map.get("VALUE"), frame))
    if not rrules and not rdates:
        raise bad_request("Invalid recurrence rule.")
    return Recurrence(tuple(rrules), tuple(rdates), tuple(exdates))


def _recurrence_value(text: str, kind: str | None, frame: tzinfo | None) -> EventTime:
    try:
        if kind == "DATE" or len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC).date()
        if text.endswith("Z"):
            return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=frame or UTC)
    except ValueError as exc:
        raise bad_request("Invalid recurrence rule.") from exc


@dataclass(frozen=True, slots=True)
class Slot:
    """One instance of a series: where it is, and which exception (if any) replaced it."""

    original: EventTime
    start: EventTime
    end: EventTime
    exception_id: str | None


def _domain_id(text: str) -> EventId:
    return EventId(uuid.uuid5(_NAMESPACE, text))


def expand_series(
    series_id: str,
    start: When,
    end: When,
    recurrence: Recurrence,
    exceptions: Sequence[tuple[str, EventTime, When, When, bool]],
    window: tuple[datetime, datetime],
    *,
    frame: tzinfo = UTC,
    limit: int = EXPANSION_LIMIT,
) -> list[Slot]:
    """Instances overlapping ``window``; ``exceptions`` are ``(id, original start, start, end,
    cancelled)``. A cancelled exception is returned too (``Slot.exception_id`` set) so callers
    can show it with ``showDeleted``."""
    ids = {_domain_id(item[0]): item for item in exceptions}
    try:
        series = Event(
            id=_domain_id(series_id),
            tenant_id=TenantId(_NIL),
            calendar_id=CalendarId(_NIL),
            provider_event_id=series_id,
            start=start.value,
            end=end.value,
            recurrence=recurrence,
        )
        overrides = [
            Event(
                id=_domain_id(ex_id),
                tenant_id=TenantId(_NIL),
                calendar_id=CalendarId(_NIL),
                provider_event_id=ex_id,
                start=ex_start.value,
                end=ex_end.value,
                series_id=series.id,
                recurrence_id=original,
                is_cancelled=cancelled,
            )
            for ex_id, original, ex_start, ex_end, cancelled in exceptions
        ]
        lo, hi = window
        result = expand(series, overrides, lo.astimezone(frame), hi.astimezone(frame), limit=limit)
    except (InvalidEvent, InvalidRecurrence) as exc:
        raise bad_request("Invalid recurrence rule.") from exc
    slots = [
        Slot(
            o.original_start,
            o.start,
            o.end,
            ids[o.event_id][0] if o.is_override else None,
        )
        for o in result.occurrences
    ]
    for ex_id, original, ex_start, _, cancelled in exceptions:
        if cancelled and window[0] <= When(original, None).instant(frame) < window[1]:
            slots.append(Slot(original, ex_start.value, ex_start.value, ex_id))
    return slots
