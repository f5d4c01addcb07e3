"""The mirror of one calendar: applying a ``SyncPlan`` and reading back what the planner needs.

``apply`` runs in the caller's unit of work, so a page chain lands in one transaction with the
cursor saved after it (issue 4, "Sync"); ``apply_many`` applies several calendars' plans (of one
tenant) at once, with one statement for all their events and one for all their occurrences. It
deletes first (a master takes its exceptions, and every deleted event its occurrences and
attendee index entries), then upserts through
``EventRepository`` (which seals the content, docs/foundation.md "Encryption at rest") and
finally replaces the occurrence set of each event the plan names. A plan built on a mirror that
changed since (an event stored under another id, occurrences for an event that is not there)
raises ``StalePlan`` and the transaction must be rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from calhub.domain.events import Event, Occurrence
from calhub.domain.ids import CalendarId, TenantId
from calhub.domain.sync.changes import SyncPlan
from calhub.storage.repositories.events import EventRepository
from calhub.storage.repositories.occurrences import OccurrenceRepository


class StalePlan(Exception):
    """The plan does not fit the mirror it is applied to; plan again from fresh state."""


@dataclass(frozen=True, slots=True)
class AppliedPlan:
    upserted: int
    deleted: int  # events removed, exceptions of removed series included
    occurrence_sets: int


@dataclass(frozen=True, slots=True)
class MirrorSnapshot:
    """A calendar's whole mirror, decrypted, keyed by provider event id (occurrences by start)."""

    events: dict[str, Event]
    occurrences: dict[str, tuple[Occurrence, ...]]


class MirrorRepository:
    def __init__(self, events: EventRepository, occurrences: OccurrenceRepository) -> None:
        self._events = events
        self._occurrences = occurrences

    async def apply(
        self, tenant_id: TenantId, calendar_id: CalendarId, plan: SyncPlan, now: datetime
    ) -> AppliedPlan:
        return (await self.apply_many(tenant_id, [(calendar_id, plan)], now))[0]

    async def apply_many(
        self,
        tenant_id: TenantId,
        plans: Sequence[tuple[CalendarId, SyncPlan]],
        now: datetime,
    ) -> list[AppliedPlan]:
        """``apply`` for several calendars of one tenant: their upserts and occurrence sets in
        one statement each."""
        for calendar_id, plan in plans:
            if any(e.calendar_id != calendar_id for e in plan.upserts):
                raise ValueError("every upserted event must belong to the calendar being applied")
        deleted: list[int] = []
        for calendar_id, plan in plans:
            deleted.append(
                await self._events.delete_with_exceptions(tenant_id, calendar_id, plan.deletes)
                if plan.deletes
                else 0
            )
        stored = await self._events.upsert(
            tenant_id, [e for _, plan in plans for e in plan.upserts], now
        )
        planned = {(e.calendar_id, e.provider_event_id): e.id for _, p in plans for e in p.upserts}
        if any(planned[(e.calendar_id, e.provider_event_id)] != e.id for e in stored):
            raise StalePlan("an upserted event is already stored under another id")
        targets = {e.id: e for e in stored}
        others = [s.event_id for _, p in plans for s in p.occurrences if s.event_id not in targets]
        if others:
            targets.update((e.id, e) for e in await self._events.get_many(tenant_id, others))
        expanded = []
        for calendar_id, plan in plans:
            for s in plan.occurrences:
                target = targets.get(s.event_id)
                if target is None or target.calendar_id != calendar_id:
                    raise StalePlan("occurrences for an event that is not in the calendar")
                expanded.append((target, s.occurrences))
        if expanded:
            await self._occurrences.replace_for_events(tenant_id, expanded)
        counts: dict[CalendarId, int] = {}
        for e in stored:
            counts[e.calendar_id] = counts.get(e.calendar_id, 0) + 1
        return [
            AppliedPlan(counts.get(calendar_id, 0), gone, len(plan.occurrences))
            for (calendar_id, plan), gone in zip(plans, deleted, strict=True)
        ]

    async def load_for_planning(
        self, tenant_id: TenantId, calendar_id: CalendarId, provider_event_ids: Sequence[str]
    ) -> dict[str, Event]:
        """The stored events with these provider ids and every member of their series."""
        found = await self._events.list_with_series(tenant_id, calendar_id, provider_event_ids)
        return {e.provider_event_id: e for e in found}

    async def mirror_snapshot(self, tenant_id: TenantId, calendar_id: CalendarId) -> MirrorSnapshot:
        found = await self._events.list_for_calendar(tenant_id, calendar_id)
        by_event = await self._occurrences.list_for_calendar(tenant_id, calendar_id)
        return MirrorSnapshot(
            events={e.provider_event_id: e for e in found},
            occurrences={e.provider_event_id: tuple(by_event.get(e.id, ())) for e in found},
        )
