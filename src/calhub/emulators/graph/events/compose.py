"""Building stored event values from checked input: new items, edited items, exceptions.

The rules Graph applies to a whole event live here (graph.md §1.1, §1.3, §1.4):

- start and end are required on create; end may not be before start; an all-day event starts
  and ends at midnight and lasts whole days;
- a series master's times move onto the first occurrence of its pattern; changing a master's
  times or pattern drops its exceptions and cancellations (Exchange rebuilds the series);
- an exception keeps the master's content until edited, may not take a recurrence, and may not
  move onto or past an adjacent occurrence's day (``ErrorOccurrenceCrossingBoundary``);
- ``isOnlineMeeting`` with Teams (the default provider) fills ``onlineMeeting`` once and appends
  the join blob to the body; later changes to those fields are ignored.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.bodies import preview, with_teams_blob
from calhub.emulators.graph.events.ids import new_ical_uid, new_item_id
from calhub.emulators.graph.events.model import EMPTY, EventTime, Instance, StoredEvent
from calhub.emulators.graph.events.parsing import EventInput, empty_location
from calhub.emulators.graph.events.series import first_occurrence, neighbour_days, with_plan
from calhub.emulators.graph.events.times import NEVER, Zone

TEAMS_TOLL_NUMBER = "+1 323-849-4874"


def default_props(display_name: str, address: str) -> dict[str, Any]:
    """A new event's content properties as the organizer's copy shows them."""
    return {
        "categories": [],
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": "",
        "bodyPreview": "",
        "importance": "normal",
        "sensitivity": "normal",
        "isCancelled": False,
        "isOrganizer": True,
        "responseRequested": True,
        "showAs": "busy",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseStatus": {"response": "organizer", "time": NEVER},
        "body": {"contentType": "html", "content": ""},
        "location": empty_location(),
        "locations": [],
        "attendees": [],
        "organizer": {"emailAddress": {"name": display_name, "address": address}},
        "onlineMeeting": None,
    }


def new_item(
    *,
    mailbox_id: str,
    calendar_id: str,
    props: dict[str, Any],
    parsed: EventInput,
    change_key: str,
    now: datetime,
    tenant_id: str,
) -> StoredEvent:
    if parsed.start is None or parsed.end is None:
        missing = "start" if parsed.start is None else "end"
        raise GraphError(
            400, "ErrorInvalidRequest", f"The event must have a {missing} date and time."
        )
    start, end = _checked_times(parsed.start, parsed.end, bool(parsed.is_all_day))
    item = StoredEvent(
        id=new_item_id(mailbox_id),
        mailbox_id=mailbox_id,
        calendar_id=calendar_id,
        kind="singleInstance",
        ical_uid=new_ical_uid(now),
        start=start,
        end=end,
        zone=parsed.start[1],
        end_zone=parsed.end[1],
        props=finish_props(props, tenant_id=tenant_id, organizer_id=mailbox_id),
        change_key=change_key,
        created=now,
        modified=now,
        extended=_extended({}, parsed.extended),
        transaction_id=parsed.transaction_id,
    )
    if parsed.recurrence is not None:
        item = _as_series(item, parsed.recurrence)
    return item


def edited_item(
    item: StoredEvent, parsed: EventInput, props: dict[str, Any], change_key: str, now: datetime
) -> StoredEvent:
    """A single event or master with a PATCH applied."""
    start_pair = parsed.start or _pair(item.start, item.zone)
    end_pair = parsed.end or _pair(item.end, item.end_zone)
    all_day = item.is_all_day if parsed.is_all_day is None else parsed.is_all_day
    start, end = _checked_times(start_pair, end_pair, all_day)
    edited = replace(
        item,
        start=start,
        end=end,
        zone=start_pair[1],
        end_zone=end_pair[1],
        props=props,
        change_key=change_key,
        modified=now,
        extended=_extended(item.extended, parsed.extended),
    )
    recurrence = parsed.recurrence if parsed.recurrence_given else item.recurrence
    if recurrence is None:
        return replace(
            edited, kind="singleInstance", recurrence=None, plan=None,
            exceptions=EMPTY, cancelled=EMPTY,
        )  # fmt: skip
    if parsed.touches_times() or item.recurrence is None:
        edited = replace(edited, exceptions=EMPTY, cancelled=EMPTY)
    return _as_series(edited, dict(recurrence))


def exception_of(
    master: StoredEvent,
    instance: Instance,
    parsed: EventInput | None,
    props: dict[str, Any],
    change_key: str,
    now: datetime,
) -> StoredEvent:
    """The exception an occurrence (or an existing exception) becomes after a PATCH."""
    if parsed is not None and parsed.recurrence_given:
        raise GraphError(
            400, "ErrorInvalidRequest", "An occurrence or exception can't have a recurrence."
        )
    current = instance.source if instance.kind == "exception" else None
    base_zone = current.zone if current else master.zone
    start_pair = (parsed.start if parsed else None) or _pair(instance.start, base_zone)
    end_pair = (parsed.end if parsed else None) or _pair(
        instance.end, current.end_zone if current else master.end_zone
    )
    start, end = _checked_times(start_pair, end_pair, master.is_all_day)
    assert instance.original_start is not None
    if parsed is not None and (parsed.start or parsed.end):
        _check_boundaries(master, instance.original_start, start)
    return StoredEvent(
        id=instance.id,
        mailbox_id=master.mailbox_id,
        calendar_id=master.calendar_id,
        kind="exception",
        ical_uid=master.ical_uid,
        start=start,
        end=end,
        zone=start_pair[1],
        end_zone=end_pair[1],
        props=props,
        change_key=change_key,
        created=current.created if current else master.created,
        modified=now,
        key=current.key if current else uuid.uuid4(),
        extended=_extended(
            current.extended if current else master.extended,
            parsed.extended if parsed else [],
        ),
        series_master_id=master.id,
        original_start=instance.original_start,
    )


def finish_props(props: dict[str, Any], *, tenant_id: str, organizer_id: str) -> dict[str, Any]:
    """Derived content: bodyPreview, and the Teams meeting once it is asked for."""
    wants_teams = props.get("onlineMeetingProvider") in ("teamsForBusiness", "unknown")
    if props.get("isOnlineMeeting") and props.get("onlineMeeting") is None and wants_teams:
        meeting = teams_meeting(tenant_id, organizer_id)
        props["onlineMeetingProvider"] = "teamsForBusiness"
        props["onlineMeeting"] = meeting
        props["body"] = with_teams_blob(props["body"], meeting)
    props["bodyPreview"] = preview(props["body"])
    return props


def teams_meeting(tenant_id: str, organizer_id: str) -> dict[str, Any]:
    thread = base64.b64encode(str(uuid.uuid4()).encode()).decode().rstrip("=")
    context = quote(f'{{"Tid":"{tenant_id}","Oid":"{organizer_id}"}}', safe="").lower()
    conference = str(100_000_000 + secrets.randbelow(900_000_000))
    return {
        "joinUrl": (
            f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0"
            f"?context={context}"
        ),
        "conferenceId": conference,
        "tollNumber": TEAMS_TOLL_NUMBER,
        "tollFreeNumbers": [],
        "quickDial": f"{TEAMS_TOLL_NUMBER},,{conference}#",
        "phones": [{"number": TEAMS_TOLL_NUMBER, "type": "business", "region": None,
                    "language": None}],
    }  # fmt: skip


def merge_props(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """PATCH semantics for content: given properties replace; an online meeting, once made,
    stays (Graph ignores later changes to its fields)."""
    merged = {**current, **changes}
    if current.get("onlineMeeting") is not None:
        merged["isOnlineMeeting"] = True
        merged["onlineMeetingProvider"] = current["onlineMeetingProvider"]
        merged["onlineMeeting"] = current["onlineMeeting"]
    return merged


def _as_series(item: StoredEvent, recurrence: dict[str, Any]) -> StoredEvent:
    normalised, series = first_occurrence(recurrence, item.start, item.end, item.zone.name)
    first_start, first_end = series.start, series.end
    if isinstance(first_start, datetime) and isinstance(first_end, datetime):
        first_start = first_start.astimezone(item.zone.info)
        first_end = first_end.astimezone(item.end_zone.info)
    master = replace(
        item,
        kind="seriesMaster",
        start=first_start,
        end=first_end,
        recurrence=normalised,
    )
    return with_plan(master)


def _checked_times(
    start: tuple[datetime, Zone], end: tuple[datetime, Zone], all_day: bool
) -> tuple[EventTime, EventTime]:
    start_at, end_at = start[0].replace(microsecond=0), end[0].replace(microsecond=0)
    if end_at.astimezone(UTC) < start_at.astimezone(UTC):
        raise GraphError(
            400, "ErrorInvalidRequest", "The end time must not be earlier than the start time."
        )
    if not all_day:
        return start_at, end_at
    if start_at.time() != time(0) or end_at.time() != time(0):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "An all-day event's start and end must be at midnight in their time zones.",
        )
    first, last = start_at.date(), end_at.date()
    if last <= first:
        raise GraphError(400, "ErrorInvalidRequest", "An all-day event must last at least a day.")
    return first, last


def _pair(value: EventTime, zone: Zone) -> tuple[datetime, Zone]:
    if isinstance(value, datetime):
        return value.astimezone(zone.info), zone
    assert isinstance(value, date)
    return datetime.combine(value, time(), tzinfo=zone.info), zone


def _check_boundaries(master: StoredEvent, original: EventTime, new_start: EventTime) -> None:
    previous, following = neighbour_days(master, original)
    assert master.plan is not None
    if isinstance(new_start, datetime):
        day = new_start.astimezone(master.plan.zone).date()
    else:
        day = new_start
    if (previous is not None and day <= previous) or (following is not None and day >= following):
        raise GraphError(
            400,
            "ErrorOccurrenceCrossingBoundary",
            "Modified occurrence is crossing or overlapping adjacent occurrence.",
        )


def _extended(
    current: Mapping[str, tuple[str, str]], given: list[tuple[str, str]]
) -> Mapping[str, tuple[str, str]]:
    if not given:
        return current
    merged = dict(current)
    for prop_id, value in given:
        merged[prop_id.lower()] = (prop_id, value)
    return merged
