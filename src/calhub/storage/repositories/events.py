"""Events: upserted in batches by (calendar, provider event id), content sealed per column.

Ciphertexts are bound to the row id. ``upsert`` seals with the ids the events carry (the sync
planner knows the stored ones); a row stored under another id is left untouched by the INSERT,
and sealed again with its stored id after one lookup. The returned events carry the stored ids.
The attendee index holds a blind index of every attendee's and the organizer's address.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Row,
    any_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, Insert, insert
from sqlalchemy.sql.dml import ReturningInsert

from calhub.domain.events import Event
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.storage.mappers import event_addresses, event_from_row, event_row_blobs, event_values
from calhub.storage.repositories.base import (
    Scope,
    batches,
    column_arrays,
    overlaps_window,
    unnested_rows,
)
from calhub.storage.tables import event_attendee_index, events, occurrences

_KEPT_ON_UPDATE = {"id", "tenant_id", "calendar_id", "provider_event_id", "created_at"}
_MAX_ATTEMPTS = 3


def _upsert_statement() -> ReturningInsert[Any]:
    # Executed with a list of rows: SQLAlchemy's "insertmanyvalues" sends multi-row INSERTs from
    # this one compiled statement.
    statement = insert(events)
    return statement.on_conflict_do_update(
        index_elements=[events.c.calendar_id, events.c.provider_event_id],
        set_={
            c.name: statement.excluded[c.name]
            for c in events.columns
            if c.name not in _KEPT_ON_UPDATE
        },
        # A row stored under another id must not get ciphertexts sealed for this id: it is
        # skipped, and sealed again with the id that is stored.
        where=(events.c.id == statement.excluded.id),
    ).returning(events.c.id)


def _attendee_index_statement() -> Insert:
    # One statement makes the index of some events exactly the rows given: entries no longer
    # wanted go, new ones come, the ones that stay are left alone (a DELETE and an INSERT of the
    # same key cannot share a statement). The DELETE names events just stored for the tenant by
    # id only: with a tenant predicate, a generic plan built on lagging statistics scanned the
    # tenant's whole index through (tenant_id, email_index) on every sync.
    index = event_attendee_index
    wanted = unnested_rows(index, ["event_id", "email_index"]).cte("wanted")
    unwanted = (
        delete(index)
        .where(
            index.c.event_id == any_(bindparam("event_ids", type_=ARRAY(index.c.event_id.type))),
            tuple_(index.c.event_id, index.c.email_index).not_in(
                select(wanted.c.event_id, wanted.c.email_index)
            ),
        )
        .cte("unwanted")
    )
    rows = select(
        bindparam("tenant_id", type_=index.c.tenant_id.type),
        wanted.c.event_id,
        wanted.c.email_index,
    )
    return (
        insert(index)
        .from_select(["tenant_id", "event_id", "email_index"], rows)
        .on_conflict_do_nothing()
        .add_cte(unwanted)
    )


def _with_series_statement() -> CompoundSelect[Any]:
    """The events of a calendar with some provider ids, and every member of their series.

    Three index lookups (by provider id, by id, by series id) rather than one query with an
    OR, which no index answers: the planner then scanned the tenant's whole mirror. The roots
    are the tenant's own ids, so the lookups by them need (and must not offer the planner) no
    tenant predicate. Built once, with the ids as one array: one text for any number of ids."""
    in_same_calendar = events.c.calendar_id == bindparam(
        "calendar_id", type_=events.c.calendar_id.type
    )
    named_here = (
        events.c.tenant_id == bindparam("tenant_id", type_=events.c.tenant_id.type),
        in_same_calendar,
        events.c.provider_event_id
        == any_(bindparam("provider_event_ids", type_=ARRAY(events.c.provider_event_id.type))),
    )
    named = (
        select(func.coalesce(events.c.series_id, events.c.id).label("root"))
        .where(*named_here)
        .cte("named")
    )
    return union_all(
        select(events).where(*named_here),
        select(events).join(named, events.c.id == named.c.root).where(in_same_calendar),
        select(events).join(named, events.c.series_id == named.c.root).where(in_same_calendar),
    )


_UPSERT = _upsert_statement()
_REPLACE_ATTENDEE_INDEX = _attendee_index_statement()
_WITH_SERIES = _with_series_statement()


class EventRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def _decode(self, tenant_id: TenantId, rows: Sequence[Row[Any]]) -> list[Event]:
        keys = await self._scope.keys(tenant_id, [b for row in rows for b in event_row_blobs(row)])
        return [event_from_row(row, keys) for row in rows]

    async def _stored_ids(
        self, tenant_id: TenantId, batch: Sequence[Event]
    ) -> dict[tuple[CalendarId, str], EventId]:
        natural = [(e.calendar_id, e.provider_event_id) for e in batch]
        rows = await self._scope.conn.execute(
            select(events.c.id, events.c.calendar_id, events.c.provider_event_id).where(
                events.c.tenant_id == tenant_id,
                tuple_(events.c.calendar_id, events.c.provider_event_id).in_(natural),
            )
        )
        return {(row.calendar_id, row.provider_event_id): EventId(row.id) for row in rows}

    async def upsert(
        self, tenant_id: TenantId, batch: Sequence[Event], now: datetime
    ) -> list[Event]:
        """Insert or update ``batch``; the last of duplicates wins. Returns the stored events."""
        if any(e.tenant_id != tenant_id for e in batch):
            raise ValueError("every event must belong to the tenant it is stored for")
        unique = list({(e.calendar_id, e.provider_event_id): e for e in batch}.values())
        stored: list[Event] = []
        for chunk in batches(unique):
            stored.extend(await self._upsert_chunk(tenant_id, chunk, now))
        await self._index_attendees(tenant_id, stored)
        return stored

    async def _upsert_chunk(
        self, tenant_id: TenantId, chunk: Sequence[Event], now: datetime
    ) -> list[Event]:
        keys = await self._scope.keys(tenant_id)
        pending, done = list(chunk), list[Event]()
        for attempt in range(_MAX_ATTEMPTS):
            if attempt:  # some rows are stored under other ids: seal those again with them
                ids = await self._stored_ids(tenant_id, pending)
                pending = [
                    dataclasses.replace(e, id=ids.get((e.calendar_id, e.provider_event_id), e.id))
                    for e in pending
                ]
            rows = await self._scope.conn.execute(
                _UPSERT, [event_values(e, keys, now) for e in pending]
            )
            written = {row.id for row in rows}
            done.extend(e for e in pending if e.id in written)
            pending = [e for e in pending if e.id not in written]
            if not pending:
                return done
        raise RuntimeError("events kept changing identity while being stored")

    async def _index_attendees(self, tenant_id: TenantId, stored: Sequence[Event]) -> None:
        if not stored:
            return
        keys = await self._scope.keys(tenant_id)
        rows = list(
            {
                (e.id, index): {"event_id": e.id, "email_index": index}
                for e in stored
                for index in (keys.email_index(address) for address in event_addresses(e))
            }.values()
        )
        await self._scope.conn.execute(
            _REPLACE_ATTENDEE_INDEX,
            {
                "tenant_id": tenant_id,
                "event_ids": [e.id for e in stored],
                **column_arrays(rows, ["event_id", "email_index"]),
            },
        )

    async def get(self, tenant_id: TenantId, event_id: EventId) -> Event | None:
        rows = (
            await self._scope.conn.execute(
                select(events).where(events.c.tenant_id == tenant_id, events.c.id == event_id)
            )
        ).all()
        found = await self._decode(tenant_id, rows)
        return found[0] if found else None

    async def get_by_provider_id(
        self, tenant_id: TenantId, calendar_id: CalendarId, provider_event_id: str
    ) -> Event | None:
        rows = (
            await self._scope.conn.execute(
                select(events).where(
                    events.c.tenant_id == tenant_id,
                    events.c.calendar_id == calendar_id,
                    events.c.provider_event_id == provider_event_id,
                )
            )
        ).all()
        found = await self._decode(tenant_id, rows)
        return found[0] if found else None

    async def list_overrides(self, tenant_id: TenantId, series_id: EventId) -> list[Event]:
        """The changed instances stored for a series (events whose ``series_id`` names it)."""
        rows = (
            await self._scope.conn.execute(
                select(events)
                .where(events.c.tenant_id == tenant_id, events.c.series_id == series_id)
                .order_by(events.c.recurrence_id_at, events.c.id)
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def get_many(self, tenant_id: TenantId, event_ids: Sequence[EventId]) -> list[Event]:
        rows = (
            await self._scope.conn.execute(
                select(events).where(
                    events.c.tenant_id == tenant_id, events.c.id.in_(list(event_ids))
                )
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def list_for_calendar(self, tenant_id: TenantId, calendar_id: CalendarId) -> list[Event]:
        rows = (
            await self._scope.conn.execute(
                select(events)
                .where(events.c.tenant_id == tenant_id, events.c.calendar_id == calendar_id)
                .order_by(events.c.provider_event_id)
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def provider_ids(
        self, tenant_id: TenantId, calendar_id: CalendarId
    ) -> dict[str, EventId]:
        """Every stored event of the calendar: provider id to hub id (nothing decrypted)."""
        rows = await self._scope.conn.execute(
            select(events.c.provider_event_id, events.c.id).where(
                events.c.tenant_id == tenant_id, events.c.calendar_id == calendar_id
            )
        )
        return {row.provider_event_id: EventId(row.id) for row in rows}

    async def list_with_series(
        self, tenant_id: TenantId, calendar_id: CalendarId, provider_event_ids: Sequence[str]
    ) -> list[Event]:
        """The calendar's events with these provider ids, plus every member of their series:
        the master of an exception and all exceptions of a master."""
        if not provider_event_ids:  # a round that brought no changes: nothing to read
            return []
        parameters = {
            "tenant_id": tenant_id,
            "calendar_id": calendar_id,
            "provider_event_ids": list(provider_event_ids),
        }
        found = {row.id: row for row in await self._scope.conn.execute(_WITH_SERIES, parameters)}
        rows = sorted(found.values(), key=lambda row: row.provider_event_id)
        return await self._decode(tenant_id, rows)

    async def delete_with_exceptions(
        self, tenant_id: TenantId, calendar_id: CalendarId, event_ids: Sequence[EventId]
    ) -> int:
        """Delete these events of the calendar and the exceptions of any series among them
        (occurrences and index entries go with them); returns how many rows went."""
        result = await self._scope.conn.execute(
            delete(events).where(
                events.c.tenant_id == tenant_id,
                events.c.calendar_id == calendar_id,
                or_(events.c.id.in_(list(event_ids)), events.c.series_id.in_(list(event_ids))),
            )
        )
        return result.rowcount

    async def delete(self, tenant_id: TenantId, event_id: EventId) -> bool:
        """Delete the event with its occurrences and index entries."""
        result = await self._scope.conn.execute(
            delete(events)
            .where(events.c.tenant_id == tenant_id, events.c.id == event_id)
            .returning(events.c.id)
        )
        return result.first() is not None

    async def delete_by_provider_ids(
        self, tenant_id: TenantId, calendar_id: CalendarId, provider_event_ids: Sequence[str]
    ) -> int:
        result = await self._scope.conn.execute(
            delete(events)
            .where(
                events.c.tenant_id == tenant_id,
                events.c.calendar_id == calendar_id,
                events.c.provider_event_id.in_(list(provider_event_ids)),
            )
            .returning(events.c.id)
        )
        return len(result.all())

    async def list_in_window(
        self, tenant_id: TenantId, calendar_id: CalendarId, start: datetime, end: datetime
    ) -> list[Event]:
        """Events of the calendar that touch [start, end): by their own times, or for a series
        by a stored occurrence in the window."""
        has_occurrence = exists().where(
            occurrences.c.tenant_id == tenant_id,
            occurrences.c.event_id == events.c.id,
            occurrences.c.start_at < end,
            occurrences.c.end_at > start,
        )
        rows = (
            await self._scope.conn.execute(
                select(events)
                .where(
                    events.c.tenant_id == tenant_id,
                    events.c.calendar_id == calendar_id,
                    or_(
                        overlaps_window(events.c.start_at, events.c.end_at, start, end),
                        has_occurrence,
                    ),
                )
                .order_by(events.c.start_at, events.c.id)
            )
        ).all()
        return await self._decode(tenant_id, rows)

    async def find_by_attendee_email(self, tenant_id: TenantId, email: str) -> list[Event]:
        """The tenant's events with ``email`` (any case) as attendee or organizer."""
        keys = await self._scope.keys(tenant_id)
        indexed = select(event_attendee_index.c.event_id).where(
            event_attendee_index.c.tenant_id == tenant_id,
            event_attendee_index.c.email_index == keys.email_index(email),
        )
        rows = (
            await self._scope.conn.execute(
                select(events)
                .where(events.c.tenant_id == tenant_id, events.c.id.in_(indexed))
                .order_by(events.c.start_at, events.c.id)
            )
        ).all()
        return await self._decode(tenant_id, rows)
