"""Occurrences: the expanded instances of events, replaced per event, queried by window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import any_, bindparam, delete, select
from sqlalchemy.dialects.postgresql import ARRAY, insert

from calhub.domain.events import Event, Occurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.storage.mappers import occurrence_from_row, occurrence_values
from calhub.storage.repositories.base import Scope, column_arrays, overlaps_window, unnested_rows
from calhub.storage.tables import events, occurrences

_COLUMNS = [c.name for c in occurrences.columns if c.name != "id"]
# One statement replaces the occurrences of many events: the DELETE in the WITH clause sees the
# rows as they were before the statement, so it never removes the rows the INSERT adds.
_REPLACE = (
    insert(occurrences)
    .from_select(_COLUMNS, unnested_rows(occurrences, _COLUMNS))
    .add_cte(
        delete(occurrences)
        .where(
            occurrences.c.tenant_id == bindparam("tenant_id"),
            occurrences.c.event_id
            == any_(bindparam("event_ids", type_=ARRAY(occurrences.c.event_id.type))),
        )
        .cte("replaced")
    )
)


class OccurrenceRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def replace_for_event(
        self, tenant_id: TenantId, event: Event, items: Sequence[Occurrence]
    ) -> None:
        """Make ``items`` the event's occurrences (an empty sequence removes them all)."""
        await self.replace_for_events(tenant_id, [(event, items)])

    async def replace_for_events(
        self, tenant_id: TenantId, expanded: Sequence[tuple[Event, Sequence[Occurrence]]]
    ) -> None:
        """``replace_for_event`` for many events, in one statement."""
        for event, items in expanded:
            if event.tenant_id != tenant_id or any(o.event_id != event.id for o in items):
                raise ValueError("occurrences must belong to the event, the event to the tenant")
        if not expanded:
            return
        rows = [
            occurrence_values(o, tenant_id, event.calendar_id, event.time_zone)
            for event, items in expanded
            for o in items
        ]
        await self._scope.conn.execute(
            _REPLACE,
            {
                "tenant_id": tenant_id,
                "event_ids": [event.id for event, _ in expanded],
                **column_arrays(rows, _COLUMNS),
            },
        )

    async def list_in_window(
        self,
        tenant_id: TenantId,
        start: datetime,
        end: datetime,
        calendar_id: CalendarId | None = None,
    ) -> list[Occurrence]:
        """Occurrences overlapping [start, end) (zero-length ones starting in it), by start."""
        query = (
            select(occurrences, events.c.time_zone)
            .join(events, events.c.id == occurrences.c.event_id)
            .where(
                occurrences.c.tenant_id == tenant_id,
                events.c.tenant_id == tenant_id,
                overlaps_window(occurrences.c.start_at, occurrences.c.end_at, start, end),
            )
            .order_by(occurrences.c.start_at, occurrences.c.id)
        )
        if calendar_id is not None:
            query = query.where(occurrences.c.calendar_id == calendar_id)
        rows = await self._scope.conn.execute(query)
        return [occurrence_from_row(row, row.time_zone) for row in rows]

    async def list_for_calendar(
        self, tenant_id: TenantId, calendar_id: CalendarId
    ) -> dict[EventId, list[Occurrence]]:
        """Every stored occurrence of the calendar by event, each list by start."""
        rows = await self._scope.conn.execute(
            select(occurrences, events.c.time_zone)
            .join(events, events.c.id == occurrences.c.event_id)
            .where(
                occurrences.c.tenant_id == tenant_id,
                occurrences.c.calendar_id == calendar_id,
                events.c.tenant_id == tenant_id,
            )
            .order_by(occurrences.c.event_id, occurrences.c.start_at, occurrences.c.id)
        )
        found: dict[EventId, list[Occurrence]] = {}
        for row in rows:
            found.setdefault(EventId(row.event_id), []).append(
                occurrence_from_row(row, row.time_zone)
            )
        return found
