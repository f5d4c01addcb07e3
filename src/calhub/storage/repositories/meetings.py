"""Meetings lists: the occurrences of a person's meetings or of one calendar in a window, each
read in one query (issue 6, "Meetings list").

- ``for_person``: every occurrence of an event that lists the address as attendee or organizer
  (``event_attendee_index``) or sits in a calendar the address owns, one per meeting occurrence
  (``calhub.domain.meetings.copies``: copies share the blind index of the series' iCalendar UID;
  the person's own copy wins, then the organizer's). Duplicates are dropped before anything is
  decrypted.
- ``for_calendar``: the occurrences of one calendar (a device's room or user).
- ``is_known_address``: whether the tenant has a calendar or attendee entry for the address.

Each row also carries the join details of another copy of the same meeting (same UID, the
organizer's first), opened only when the copy's own say nothing to join with: a room mailbox may
strip the body. Cancelled events are left out. Body and location are never read; the subject only
where the viewer may see it (``title_visible_to``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, exists, func, or_, select, true, union

from calhub.domain.events import Event, Occurrence
from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.joinlinks.model import JoinDetails
from calhub.domain.meetings.copies import Copy, one_copy_each
from calhub.domain.meetings.model import has_join_info, title_visible_to
from calhub.storage.crypto.fields import TenantKeys
from calhub.storage.mappers import (
    LISTED_EVENT_TIMES,
    join_from_sealed,
    listed_event_from_row,
    listed_subject,
    occurrence_from_row,
)
from calhub.storage.repositories.base import Scope, overlaps_window
from calhub.storage.tables import calendars, event_attendee_index, events, occurrences


@dataclasses.dataclass(frozen=True, slots=True)
class MeetingCopy:
    """One stored copy of a meeting occurrence. ``event`` has no body or location, and its
    subject only where the viewer may see it; ``fallback_join`` is another copy's join details,
    set when this copy has none to join with."""

    event: Event
    occurrence: Occurrence
    fallback_join: JoinDetails | None = None


_MASTER = events.alias("master")
_SIBLING = events.alias("sibling")
_LISTED_EVENT_COLUMNS = [
    events.c[name]
    for name in (
        "provider_event_id", "time_zone", "show_as", "is_private", "is_cancelled", "recurrence",
        "series_id", "recurrence_id_at", "recurrence_id_date", "change_key", "subject",
        "organizer", "attendees", "body_format", "is_organizer", "join_details",
    )
]  # fmt: skip


def _listing(tenant_id: TenantId, start: datetime, end: datetime) -> Select[Any]:
    """Occurrences in ``[start, end)`` with their (not cancelled) events and another copy's join
    details; callers add which occurrences."""
    e, o = events, occurrences
    sibling = (
        select(_SIBLING.c.id, _SIBLING.c.join_details)
        .where(
            _SIBLING.c.tenant_id == e.c.tenant_id,
            _SIBLING.c.ical_uid_index == e.c.ical_uid_index,
            _SIBLING.c.id != e.c.id,
            _SIBLING.c.join_details.is_not(None),
        )
        .order_by(_SIBLING.c.is_organizer.desc(), _SIBLING.c.id)
        .limit(1)
        .lateral("sibling_copy")
    )
    return (
        select(
            o.c.event_id,
            o.c.tenant_id,
            o.c.calendar_id,
            o.c.start_at,
            o.c.end_at,
            o.c.start_date,
            o.c.end_date,
            o.c.original_start_at,
            o.c.original_start_date,
            o.c.is_override,
            *(e.c[name].label(f"event_{name}") for name in LISTED_EVENT_TIMES),
            *_LISTED_EVENT_COLUMNS,
            func.coalesce(_MASTER.c.ical_uid_index, e.c.ical_uid_index).label("meeting_uid"),
            func.coalesce(e.c.series_id, e.c.id).label("root_id"),
            sibling.c.id.label("sibling_id"),
            sibling.c.join_details.label("sibling_join"),
        )
        .select_from(
            o.join(e, e.c.id == o.c.event_id)
            .outerjoin(_MASTER, _MASTER.c.id == e.c.series_id)
            .outerjoin(sibling, true())
        )
        .where(
            o.c.tenant_id == tenant_id,
            e.c.tenant_id == tenant_id,
            e.c.is_cancelled.is_(False),
            overlaps_window(o.c.start_at, o.c.end_at, start, end),
        )
        .order_by(o.c.start_at, o.c.event_id, o.c.original_start_at)
    )


def _blobs(rows: Sequence[Row[Any]]) -> list[bytes | None]:
    return [
        blob
        for row in rows
        for blob in (row.subject, row.organizer, row.attendees, row.join_details, row.sibling_join)
    ]


def _copy(row: Row[Any], keys: TenantKeys, viewer: str | None) -> MeetingCopy:
    event = listed_event_from_row(row, keys)
    if title_visible_to(event, viewer):
        event = dataclasses.replace(event, subject=listed_subject(row, keys))
    fallback = None
    if row.sibling_join is not None and not has_join_info(event.join):
        fallback = join_from_sealed(row.sibling_join, keys, row.sibling_id)
    return MeetingCopy(event, occurrence_from_row(row, row.time_zone), fallback)


class MeetingRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def _own_calendars(self, tenant_id: TenantId, email_index: bytes) -> Select[Any]:
        return select(calendars.c.id).where(
            calendars.c.tenant_id == tenant_id, calendars.c.owner_email_index == email_index
        )

    def _listed(self, tenant_id: TenantId, email_index: bytes) -> Select[Any]:
        return select(event_attendee_index.c.event_id).where(
            event_attendee_index.c.tenant_id == tenant_id,
            event_attendee_index.c.email_index == email_index,
        )

    async def is_known_address(self, tenant_id: TenantId, email: str) -> bool:
        """Whether a calendar of the tenant belongs to ``email`` or an event lists it."""
        index = (await self._scope.keys(tenant_id)).email_index(email)
        known = select(
            or_(
                exists(self._own_calendars(tenant_id, index)),
                exists(self._listed(tenant_id, index)),
            )
        )
        return bool(await self._scope.conn.scalar(known))

    async def for_person(
        self, tenant_id: TenantId, email: str, start: datetime, end: datetime
    ) -> list[MeetingCopy]:
        """One copy of each meeting occurrence of ``email`` in ``[start, end)``, by start."""
        keys = await self._scope.keys(tenant_id)
        index = keys.email_index(email)
        own = self._own_calendars(tenant_id, index)
        in_own_calendars = events.c.calendar_id.in_(own)
        candidates = union(
            self._listed(tenant_id, index),
            select(events.c.id).where(events.c.tenant_id == tenant_id, in_own_calendars),
        )
        query = _listing(tenant_id, start, end).add_columns(in_own_calendars.label("own"))
        rows = (
            await self._scope.conn.execute(query.where(occurrences.c.event_id.in_(candidates)))
        ).all()
        chosen = one_copy_each(
            Copy(
                meeting_key=row.meeting_uid if row.meeting_uid is not None else row.root_id,
                original_start=row.original_start_date or row.original_start_at,
                in_own_calendar=row.own,
                is_organizer_copy=row.is_organizer,
                tiebreak=str(row.event_id),
                item=row,
            )
            for row in rows
        )
        chosen.sort(key=lambda row: (row.start_at, str(row.event_id)))
        return await self._decode(tenant_id, chosen, email)

    async def for_calendar(
        self, tenant_id: TenantId, calendar_id: CalendarId, start: datetime, end: datetime
    ) -> list[MeetingCopy]:
        """The occurrences of the calendar's meetings in ``[start, end)`` as a device sees
        them (no viewer: private subjects are not read), by start."""
        query = _listing(tenant_id, start, end).where(occurrences.c.calendar_id == calendar_id)
        rows = (await self._scope.conn.execute(query)).all()
        return await self._decode(tenant_id, rows, None)

    async def _decode(
        self, tenant_id: TenantId, rows: Sequence[Row[Any]], viewer: str | None
    ) -> list[MeetingCopy]:
        keys = await self._scope.keys(tenant_id, _blobs(rows))
        return [_copy(row, keys, viewer) for row in rows]
