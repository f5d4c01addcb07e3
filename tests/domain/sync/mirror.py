"""An in-memory mirror for planner tests: loads what the sync engine loads, applies plans as the
storage layer does (deletes, then upserts, then occurrence sets replaced per event)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from calhub.domain.events import Event, Occurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.sync.changes import Change, SyncPlan
from calhub.domain.sync.planner import plan_changes, provider_ids_to_load

TENANT = TenantId(uuid.UUID(int=1))
CALENDAR = CalendarId(uuid.UUID(int=2))
WINDOW_START = datetime(2024, 1, 10, tzinfo=UTC)
WINDOW_END = datetime(2024, 3, 10, tzinfo=UTC)
LIMIT = 500


@dataclass
class Mirror:
    events: dict[EventId, Event] = field(default_factory=dict)
    occurrences: dict[EventId, tuple[Occurrence, ...]] = field(default_factory=dict)
    truncated: set[EventId] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    whole_series: bool = True  # the provider reports a changed series whole (Graph)

    def new_event_id(self) -> EventId:
        return EventId(uuid.UUID(int=next(self._ids)))

    def by_provider_id(self) -> dict[str, Event]:
        return {event.provider_event_id: event for event in self.events.values()}

    def load(self, changes: Sequence[Change]) -> dict[str, Event]:
        """The events named by the changes, and every member of each series among them."""
        wanted = provider_ids_to_load(changes)
        found = [e for e in self.events.values() if e.provider_event_id in wanted]
        series = {e.id for e in found if e.recurrence is not None}
        series |= {e.series_id for e in found if e.series_id is not None}
        found += [e for e in self.events.values() if e.id in series or e.series_id in series]
        return {event.provider_event_id: event for event in found}

    def plan(self, changes: Sequence[Change], *, limit: int = LIMIT) -> SyncPlan:
        return plan_changes(
            self.load(changes),
            changes,
            window_start=WINDOW_START,
            window_end=WINDOW_END,
            tenant_id=TENANT,
            calendar_id=CALENDAR,
            new_event_id=self.new_event_id,
            occurrence_limit=limit,
            whole_series=self.whole_series,
        )

    def apply(self, plan: SyncPlan) -> None:
        for event_id in plan.deletes:
            del self.events[event_id]
            self.occurrences.pop(event_id, None)
            self.truncated.discard(event_id)
        for event in plan.upserts:
            clash = self.by_provider_id().get(event.provider_event_id)
            assert clash is None or clash.id == event.id, "provider id mirrored twice"
            self.events[event.id] = event
        for owned in plan.occurrences:
            assert owned.event_id in self.events, "occurrences of an event not mirrored"
            assert all(o.event_id == owned.event_id for o in owned.occurrences)
            self.occurrences[owned.event_id] = owned.occurrences
            if owned.truncated:
                self.truncated.add(owned.event_id)
            else:
                self.truncated.discard(owned.event_id)
        for event in self.events.values():
            if event.series_id is not None:
                assert event.series_id in self.events, "exception without its master"

    def sync(self, changes: Sequence[Change], *, limit: int = LIMIT) -> SyncPlan:
        plan = self.plan(changes, limit=limit)
        self.apply(plan)
        return plan
