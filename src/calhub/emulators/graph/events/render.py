"""Events as Graph JSON (graph.md §1.1, §1.6 and the representative GET response).

Every v1.0 property is present with Graph's defaults, in the live service's order. Times render in
the ``Prefer: outlook.timezone`` zone (UTC by default), bodies as HTML unless text was preferred,
and single-value extended properties only when ``$expand`` asked for them by id (§1.5).
Occurrences show their master's content with their own id, times, ``originalStart`` and
``iCalUId``; in a delta round they shrink to the handful of properties Graph sends for them
(microsoft-graph-docs issues #7632 and #22197).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from calhub.emulators.graph.events.bodies import rendered_body
from calhub.emulators.graph.events.ids import occurrence_ical_uid
from calhub.emulators.graph.events.model import EventTime, Instance, StoredEvent
from calhub.emulators.graph.events.series import single_instance
from calhub.emulators.graph.events.times import (
    UTC_ZONE,
    Zone,
    format_utc,
    format_utc_seconds,
    instant,
    render_time,
    windows_name,
)

GRAPH_ROOT = "https://graph.microsoft.com/v1.0"
EVENT_TYPE = "#microsoft.graph.event"
EVENT_PROPERTIES = frozenset(
    {
        "allowNewTimeProposals", "attendees", "body", "bodyPreview", "cancelledOccurrences",
        "categories", "changeKey", "createdDateTime", "end", "hasAttachments", "hideAttendees",
        "iCalUId", "id", "importance", "isAllDay", "isCancelled", "isDraft", "isOnlineMeeting",
        "isOrganizer", "isReminderOn", "lastModifiedDateTime", "location", "locations",
        "onlineMeeting", "onlineMeetingProvider", "onlineMeetingUrl", "organizer",
        "originalEndTimeZone", "originalStart", "originalStartTimeZone", "recurrence",
        "reminderMinutesBeforeStart", "responseRequested", "responseStatus", "sensitivity",
        "seriesMasterId", "showAs", "start", "subject", "transactionId", "type", "webLink",
    }
)  # fmt: skip
_WEB_LINK = "https://outlook.office365.com/owa/?itemid={id}&exvsurl=1&path=/calendar/item"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How a request wants events rendered."""

    zone: Zone = UTC_ZONE
    text_body: bool = False
    select: frozenset[str] | None = None
    extended_ids: tuple[str, ...] = ()  # lower-cased ids from $expand=...($filter=id eq '...')
    delta: bool = False  # items of a delta round carry @odata.type


def render_instance(instance: Instance, options: RenderOptions) -> dict[str, Any]:
    source, master = instance.source, instance.master
    if instance.kind == "singleInstance":
        return _render(source, options, instance)
    assert master is not None
    assert instance.original_start is not None
    if options.delta and instance.kind == "occurrence":
        return {
            "@odata.type": EVENT_TYPE,
            "@odata.etag": master.etag,
            "id": instance.id,
            "seriesMasterId": master.id,
            "type": "occurrence",
            "start": render_time(instance.start, options.zone),
            "end": render_time(instance.end, options.zone),
        }
    return _render(source, options, instance)


def render_item(item: StoredEvent, options: RenderOptions) -> dict[str, Any]:
    """A top-level item (single event or series master) as ``GET /events/{id}`` shows it."""
    return _render(item, options, single_instance(item) if item.plan is None else None)


def removed(item_id: str) -> dict[str, Any]:
    return {"@odata.type": EVENT_TYPE, "id": item_id, "@removed": {"reason": "deleted"}}


def _render(
    source: StoredEvent, options: RenderOptions, instance: Instance | None
) -> dict[str, Any]:
    props = source.props
    zone = options.zone
    if instance is None:  # a series master
        kind, event_id, start, end = "seriesMaster", source.id, source.start, source.end
        master_id, original, uid = None, None, source.ical_uid
    else:
        kind, event_id, start, end = instance.kind, instance.id, instance.start, instance.end
        master_id = instance.master.id if instance.master else None
        original = instance.original_start
        uid = source.ical_uid
        if instance.master is not None and original is not None:
            day = _local_date(original, instance.master)
            uid = occurrence_ical_uid(instance.master.ical_uid, day)
    change_key = source.change_key
    body: dict[str, Any] = {}
    if options.delta:
        body["@odata.type"] = EVENT_TYPE
    body["@odata.etag"] = f'W/"{change_key}"'
    body["id"] = event_id
    full: dict[str, Any] = {
        "createdDateTime": format_utc(source.created),
        "lastModifiedDateTime": format_utc(source.modified),
        "changeKey": change_key,
        "categories": props["categories"],
        "transactionId": source.transaction_id,
        "originalStartTimeZone": windows_name(source.zone),
        "originalEndTimeZone": windows_name(source.end_zone),
        "iCalUId": uid,
        "reminderMinutesBeforeStart": props["reminderMinutesBeforeStart"],
        "isReminderOn": props["isReminderOn"],
        "hasAttachments": props["hasAttachments"],
        "subject": props["subject"],
        "bodyPreview": props["bodyPreview"],
        "importance": props["importance"],
        "sensitivity": props["sensitivity"],
        "isAllDay": source.is_all_day,
        "isCancelled": props["isCancelled"],
        "isOrganizer": props["isOrganizer"],
        "responseRequested": props["responseRequested"],
        "seriesMasterId": master_id,
        "showAs": props["showAs"],
        "type": kind,
        "webLink": _WEB_LINK.format(id=_quote(event_id)),
        "onlineMeetingUrl": props["onlineMeetingUrl"],
        "isOnlineMeeting": props["isOnlineMeeting"],
        "onlineMeetingProvider": props["onlineMeetingProvider"],
        "allowNewTimeProposals": props["allowNewTimeProposals"],
        "isDraft": props["isDraft"],
        "hideAttendees": props["hideAttendees"],
        "cancelledOccurrences": _cancelled(source) if kind == "seriesMaster" else [],
        "responseStatus": props["responseStatus"],
        "body": rendered_body(props["body"], options.text_body),
        "start": render_time(start, zone),
        "end": render_time(end, zone),
        "location": props["location"],
        "locations": props["locations"],
        "recurrence": source.recurrence if kind == "seriesMaster" else None,
        "attendees": props["attendees"],
        "organizer": props["organizer"],
        "onlineMeeting": props["onlineMeeting"],
    }
    if original is not None:
        full["originalStart"] = format_utc_seconds(instant(original, source.zone.info))
    if options.select is None:
        body.update(full)
    else:
        body.update((name, full[name]) for name in full if name in options.select)
    if options.extended_ids:
        found = [
            {"id": source.extended[key][0], "value": source.extended[key][1]}
            for key in options.extended_ids
            if key in source.extended
        ]
        if found:
            body["singleValueExtendedProperties@odata.context"] = (
                f"{GRAPH_ROOT}/$metadata#users('{source.mailbox_id}')/events('{_quote(event_id)}')"
                "/singleValueExtendedProperties"
            )
            body["singleValueExtendedProperties"] = found
    return body


def _cancelled(master: StoredEvent) -> list[str]:
    return [
        f"OID.{master.id}.{_local_date(original, master).isoformat()}"
        for _, original in sorted(master.cancelled.items())
    ]


def _local_date(value: EventTime, master: StoredEvent) -> date:
    """The date of an original start in the series' zone (iCalUId and cancelledOccurrences)."""
    if isinstance(value, datetime):
        zone = master.plan.zone if master.plan is not None else master.zone.info
        return value.astimezone(zone).date()
    return value


def _quote(event_id: str) -> str:
    return event_id.replace("=", "%3D").replace("+", "%2B").replace("/", "%2F")
