"""Explicit row <-> domain mapping: the only place that knows both shapes.

``*_values`` functions turn a domain object into column values, sealing sensitive fields with the
tenant's ``TenantKeys``; ``*_from_row`` functions do the reverse and decrypt explicitly. Timed
values are stored as ``timestamptz`` and come back in the event's zone; all-day values keep their
``date`` in a ``*_date`` column next to an instant (midnight in the event's zone) used for window
queries.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Row

from calhub.domain.calendars import (
    Calendar,
    CalendarKind,
    CalendarSyncStatus,
    Connection,
    ConnectionStatus,
    MailboxScope,
    ProviderKind,
    RoomDetails,
    ScopeKind,
    Secret,
    Subscription,
    SubscriptionStatus,
)
from calhub.domain.events import (
    Attendee,
    AttendeeKind,
    Event,
    EventTime,
    Occurrence,
    Recurrence,
    ResponseStatus,
    ShowAs,
)
from calhub.domain.ids import (
    ApiKeyId,
    CalendarId,
    ConnectionId,
    EventId,
    SubscriptionId,
    TenantId,
)
from calhub.domain.joinlinks import JoinDetails
from calhub.domain.tenants import ApiKey, Tenant
from calhub.storage.crypto.fields import TenantKeys

Values = dict[str, Any]


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or UTC for names zoneinfo does not know."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def instant(value: EventTime, time_zone: str) -> datetime:
    """An aware instant for ``value``: itself, or midnight of the date in ``time_zone``."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=zone(time_zone))


def _date_part(value: EventTime) -> date | None:
    return None if isinstance(value, datetime) else value


def _event_time(at: datetime, on: date | None, time_zone: str) -> EventTime:
    return on if on is not None else at.astimezone(zone(time_zone))


def _time_text(value: EventTime) -> str:
    return value.isoformat()


def _time_from_text(text: str) -> EventTime:
    return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)


# --- tenants and API keys -------------------------------------------------------------------


def tenant_values(tenant: Tenant) -> Values:
    return {"id": tenant.id, "name": tenant.name, "created_at": tenant.created_at}


def tenant_from_row(row: Row[Any]) -> Tenant:
    return Tenant(id=TenantId(row.id), name=row.name, created_at=row.created_at)


def api_key_values(key: ApiKey) -> Values:
    return {
        "id": key.id,
        "tenant_id": key.tenant_id,
        "name": key.name,
        "secret_hash": key.secret_hash,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "revoked_at": key.revoked_at,
    }


def api_key_from_row(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=ApiKeyId(row.id),
        tenant_id=TenantId(row.tenant_id),
        name=row.name,
        secret_hash=bytes(row.secret_hash),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


# --- connections and calendars --------------------------------------------------------------


def scope_json(scope: MailboxScope) -> str:
    return json.dumps(
        {"kind": scope.kind.value, "mailboxes": list(scope.mailboxes), "group_id": scope.group_id}
    )


def _scope_from_json(text: str) -> MailboxScope:
    data = json.loads(text)
    return MailboxScope(
        kind=ScopeKind(data["kind"]),
        mailboxes=tuple(data["mailboxes"]),
        group_id=data["group_id"],
    )


def connection_values(connection: Connection, keys: TenantKeys) -> Values:
    return {
        "id": connection.id,
        "tenant_id": connection.tenant_id,
        "provider": connection.provider.value,
        "status": connection.status.value,
        "credentials": keys.seal(
            connection.credentials.reveal(),
            table="connections",
            column="credentials",
            row_id=connection.id,
        ).blob,
        "settings": dict(connection.settings),
        "created_at": connection.created_at,
        "updated_at": connection.updated_at,
        "provider_tenant_id": connection.provider_tenant_id,
        "scope": keys.seal(
            scope_json(connection.scope), table="connections", column="scope", row_id=connection.id
        ).blob,
        "consented_at": connection.consented_at,
    }


def connection_from_row(row: Row[Any], keys: TenantKeys) -> Connection:
    return Connection(
        id=ConnectionId(row.id),
        tenant_id=TenantId(row.tenant_id),
        provider=ProviderKind(row.provider),
        status=ConnectionStatus(row.status),
        credentials=Secret(
            keys.open(row.credentials, table="connections", column="credentials", row_id=row.id)
        ),
        settings=row.settings,
        created_at=row.created_at,
        updated_at=row.updated_at,
        provider_tenant_id=row.provider_tenant_id,
        scope=MailboxScope()
        if row.scope is None
        else _scope_from_json(
            keys.open(row.scope, table="connections", column="scope", row_id=row.id)
        ),
        consented_at=row.consented_at,
    )


def calendar_values(calendar: Calendar, keys: TenantKeys) -> Values:
    def seal(column: str, value: str) -> bytes:
        return keys.seal(value, table="calendars", column=column, row_id=calendar.id).blob

    return {
        "id": calendar.id,
        "tenant_id": calendar.tenant_id,
        "connection_id": calendar.connection_id,
        "provider_calendar_index": keys.lookup_index("calendar", calendar.provider_calendar_id),
        "provider_calendar_id": seal("provider_calendar_id", calendar.provider_calendar_id),
        "kind": calendar.kind.value,
        "owner_email": seal("owner_email", calendar.owner_email),
        "owner_email_index": keys.email_index(calendar.owner_email),
        "name": seal("name", calendar.name),
        "sync_cursor": None
        if calendar.sync_cursor is None
        else seal("sync_cursor", calendar.sync_cursor),
        "created_at": calendar.created_at,
        "updated_at": calendar.updated_at,
        "last_synced_at": calendar.last_synced_at,
        **room_values(calendar.room),
        "missing_since": calendar.missing_since,
        "out_of_scope_reason": calendar.out_of_scope_reason,
        "out_of_scope_since": calendar.out_of_scope_since,
    }


def room_values(room: RoomDetails | None) -> Values:
    return {
        "room_capacity": None if room is None else room.capacity,
        "room_building": None if room is None else room.building,
        "room_floor_number": None if room is None else room.floor_number,
        "room_floor_label": None if room is None else room.floor_label,
        "room_bookable": None if room is None else room.bookable,
    }


def _room_from_row(row: Row[Any]) -> RoomDetails | None:
    if row.room_bookable is None:
        return None
    return RoomDetails(
        capacity=row.room_capacity,
        building=row.room_building,
        floor_number=row.room_floor_number,
        floor_label=row.room_floor_label,
        bookable=row.room_bookable,
    )


def calendar_from_row(row: Row[Any], keys: TenantKeys) -> Calendar:
    def open_(column: str) -> str:
        return keys.open(getattr(row, column), table="calendars", column=column, row_id=row.id)

    return Calendar(
        id=CalendarId(row.id),
        tenant_id=TenantId(row.tenant_id),
        connection_id=ConnectionId(row.connection_id),
        provider_calendar_id=open_("provider_calendar_id"),
        kind=CalendarKind(row.kind),
        owner_email=open_("owner_email"),
        name=open_("name"),
        created_at=row.created_at,
        updated_at=row.updated_at,
        sync_cursor=None if row.sync_cursor is None else open_("sync_cursor"),
        last_synced_at=row.last_synced_at,
        room=_room_from_row(row),
        missing_since=row.missing_since,
        out_of_scope_reason=row.out_of_scope_reason,
        out_of_scope_since=row.out_of_scope_since,
    )


def sync_status_from_row(row: Row[Any]) -> CalendarSyncStatus:
    return CalendarSyncStatus(
        calendar_id=CalendarId(row.id),
        tenant_id=TenantId(row.tenant_id),
        connection_id=ConnectionId(row.connection_id),
        kind=CalendarKind(row.kind),
        last_synced_at=row.last_synced_at,
        last_full_sync_at=row.last_full_sync_at,
        last_notification_at=row.last_notification_at,
        last_change_seen_at=row.last_change_seen_at,
        lag_seconds=row.sync_lag_seconds,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        consecutive_failures=row.consecutive_failures,
        missing_since=row.missing_since,
        out_of_scope_reason=row.out_of_scope_reason,
    )


# --- subscriptions --------------------------------------------------------------------------


def subscription_values(subscription: Subscription, keys: TenantKeys, state_hash: bytes) -> Values:
    return {
        "id": subscription.id,
        "tenant_id": subscription.tenant_id,
        "calendar_id": subscription.calendar_id,
        "provider_subscription_id": subscription.provider_subscription_id,
        "client_state": keys.seal(
            subscription.client_state.reveal(),
            table="subscriptions",
            column="client_state",
            row_id=subscription.id,
        ).blob,
        "client_state_hash": state_hash,
        "status": subscription.status.value,
        "expires_at": subscription.expires_at,
        "created_at": subscription.created_at,
        "renewed_at": subscription.renewed_at,
    }


def subscription_from_row(row: Row[Any], keys: TenantKeys) -> Subscription:
    return Subscription(
        id=SubscriptionId(row.id),
        tenant_id=TenantId(row.tenant_id),
        calendar_id=CalendarId(row.calendar_id),
        provider_subscription_id=row.provider_subscription_id,
        client_state=Secret(
            keys.open(row.client_state, table="subscriptions", column="client_state", row_id=row.id)
        ),
        expires_at=row.expires_at,
        created_at=row.created_at,
        renewed_at=row.renewed_at,
        status=SubscriptionStatus(row.status),
    )


# --- events ---------------------------------------------------------------------------------

SEALED_EVENT_COLUMNS = ("subject", "body", "location", "organizer", "attendees")


def _attendee_json(attendee: Attendee) -> dict[str, str]:
    return {
        "email": attendee.email,
        "name": attendee.name,
        "kind": attendee.kind.value,
        "response": attendee.response.value,
    }


def _attendee_from_json(data: dict[str, str]) -> Attendee:
    return Attendee(
        email=data["email"],
        name=data["name"],
        kind=AttendeeKind(data["kind"]),
        response=ResponseStatus(data["response"]),
    )


def _recurrence_json(recurrence: Recurrence | None) -> dict[str, list[str]] | None:
    if recurrence is None:
        return None
    return {
        "rrules": list(recurrence.rrules),
        "rdates": [_time_text(v) for v in recurrence.rdates],
        "exdates": [_time_text(v) for v in recurrence.exdates],
    }


def _recurrence_from_json(data: dict[str, list[str]] | None) -> Recurrence | None:
    if data is None:
        return None
    return Recurrence(
        rrules=tuple(data["rrules"]),
        rdates=tuple(_time_from_text(v) for v in data["rdates"]),
        exdates=tuple(_time_from_text(v) for v in data["exdates"]),
    )


def event_values(event: Event, keys: TenantKeys, now: datetime) -> Values:
    """Column values for ``event``; ``created_at`` and ``updated_at`` are both ``now``."""
    plain = {
        "subject": event.subject,
        "body": event.body,
        "location": event.location,
        "organizer": json.dumps(
            None if event.organizer is None else _attendee_json(event.organizer)
        ),
        "attendees": json.dumps([_attendee_json(a) for a in event.attendees]),
    }
    rid = event.recurrence_id
    return {
        "id": event.id,
        "tenant_id": event.tenant_id,
        "calendar_id": event.calendar_id,
        "provider_event_id": event.provider_event_id,
        "start_at": instant(event.start, event.time_zone),
        "end_at": instant(event.end, event.time_zone),
        "start_date": _date_part(event.start),
        "end_date": _date_part(event.end),
        "time_zone": event.time_zone,
        "is_all_day": event.is_all_day,
        "show_as": event.show_as.value,
        "is_private": event.is_private,
        "is_cancelled": event.is_cancelled,
        "recurrence": _recurrence_json(event.recurrence),
        "series_id": event.series_id,
        "recurrence_id_at": None if rid is None else instant(rid, event.time_zone),
        "recurrence_id_date": None if rid is None else _date_part(rid),
        "change_key": event.change_key,
        **{
            column: keys.seal(text, table="events", column=column, row_id=event.id).blob
            for column, text in plain.items()
        },
        "body_format": event.body_format,
        "is_organizer": event.is_organizer,
        "join_details": None
        if event.join is None
        else keys.seal(
            json.dumps(_join_json(event.join)),
            table="events",
            column="join_details",
            row_id=event.id,
        ).blob,
        "ical_uid_index": None
        if event.ical_uid is None
        else keys.lookup_index("ical_uid", event.ical_uid),
        "created_at": now,
        "updated_at": now,
    }


def _join_json(join: JoinDetails) -> dict[str, str]:
    return {name: value for name, value in asdict(join).items() if value is not None}


def _join_from_json(data: dict[str, str]) -> JoinDetails:
    return JoinDetails(**data)  # type: ignore[arg-type]  # written by _join_json


def event_from_row(row: Row[Any], keys: TenantKeys) -> Event:
    return _event(row, keys, row.id, times="", content=True)


def _event(
    row: Row[Any], keys: TenantKeys, event_id: uuid.UUID, *, times: str, content: bool
) -> Event:
    """The event in ``row``: its times in the columns named ``<times>start_at`` etc., its
    subject, body and location read only with ``content``."""

    def open_(column: str) -> str:
        return keys.open(getattr(row, column), table="events", column=column, row_id=event_id)

    def when(name: str) -> EventTime:
        return _event_time(
            getattr(row, f"{times}{name}_at"), getattr(row, f"{times}{name}_date"), tz
        )

    organizer = json.loads(open_("organizer"))
    tz = row.time_zone
    rid: EventTime | None = None
    if row.recurrence_id_at is not None:
        rid = _event_time(row.recurrence_id_at, row.recurrence_id_date, tz)
    return Event(
        id=EventId(event_id),
        tenant_id=TenantId(row.tenant_id),
        calendar_id=CalendarId(row.calendar_id),
        provider_event_id=row.provider_event_id,
        start=when("start"),
        end=when("end"),
        time_zone=tz,
        subject=open_("subject") if content else "",
        body=open_("body") if content else "",
        location=open_("location") if content else "",
        organizer=None if organizer is None else _attendee_from_json(organizer),
        attendees=tuple(_attendee_from_json(a) for a in json.loads(open_("attendees"))),
        show_as=ShowAs(row.show_as),
        is_private=row.is_private,
        is_cancelled=row.is_cancelled,
        recurrence=_recurrence_from_json(row.recurrence),
        series_id=None if row.series_id is None else EventId(row.series_id),
        recurrence_id=rid,
        change_key=row.change_key,
        body_format="text" if row.body_format == "text" else "html",
        is_organizer=row.is_organizer,
        join=None
        if row.join_details is None
        else join_from_sealed(row.join_details, keys, event_id),
    )


def event_addresses(event: Event) -> set[str]:
    """Addresses the attendee index covers: every attendee and the organizer."""
    found = {a.email for a in event.attendees}
    if event.organizer is not None:
        found.add(event.organizer.email)
    return found


def event_row_blobs(row: Row[Any]) -> list[bytes]:
    blobs = [getattr(row, column) for column in SEALED_EVENT_COLUMNS]
    return blobs if row.join_details is None else [*blobs, row.join_details]


LISTED_EVENT_TIMES = ("start_at", "end_at", "start_date", "end_date")
"""Event columns a meetings list selects as ``event_<name>`` next to the occurrence's own."""


def listed_event_from_row(row: Row[Any], keys: TenantKeys) -> Event:
    """The event of a meetings-list row (an occurrence joined with its event, the event's times
    labelled ``event_*``), reading only what a list shows: organizer, attendees and join
    details. Subject, body and location stay empty; ``listed_subject`` reads the subject."""
    return _event(row, keys, row.event_id, times="event_", content=False)


def listed_subject(row: Row[Any], keys: TenantKeys) -> str:
    """The subject of a meetings-list row's event."""
    return keys.open(row.subject, table="events", column="subject", row_id=row.event_id)


def join_from_sealed(blob: bytes, keys: TenantKeys, event_id: uuid.UUID) -> JoinDetails:
    """The join details sealed in ``events.join_details`` of the event ``event_id``."""
    text = keys.open(blob, table="events", column="join_details", row_id=event_id)
    return _join_from_json(json.loads(text))


# --- occurrences ----------------------------------------------------------------------------


def occurrence_values(
    occurrence: Occurrence,
    tenant_id: uuid.UUID,
    calendar_id: uuid.UUID,
    time_zone: str,
) -> Values:
    return {
        "tenant_id": tenant_id,
        "event_id": occurrence.event_id,
        "calendar_id": calendar_id,
        "start_at": instant(occurrence.start, time_zone),
        "end_at": instant(occurrence.end, time_zone),
        "start_date": _date_part(occurrence.start),
        "end_date": _date_part(occurrence.end),
        "original_start_at": instant(occurrence.original_start, time_zone),
        "original_start_date": _date_part(occurrence.original_start),
        "is_override": occurrence.is_override,
    }


def occurrence_from_row(row: Row[Any], time_zone: str = "UTC") -> Occurrence:
    return Occurrence(
        event_id=EventId(row.event_id),
        start=_event_time(row.start_at, row.start_date, time_zone),
        end=_event_time(row.end_at, row.end_date, time_zone),
        original_start=_event_time(row.original_start_at, row.original_start_date, time_zone),
        is_override=row.is_override,
    )
