"""The sync planner: one page chain of provider changes, plus the mirrored events it touches,
turned into one ``SyncPlan`` (issue 4, "Sync"; provider facts in graph.md section 3.2).

``plan_changes`` is a pure function: no I/O, no clock; fresh ids come from the caller. The sync
engine reads the chain, loads from the mirror the events named by ``provider_ids_to_load``
together with every member (master and exceptions) of each series among them, calls the planner
and applies the plan in one transaction. The rules, in the order they are applied:

- Within a chain the last report of a provider id wins; occurrence items are ignored (the hub
  expands series itself); removals of ids the mirror does not hold are ignored.
- Known provider ids keep their ``EventId``; new ones get ``new_event_id()``, called in
  provider-id order so a chain always maps to the same sequence of calls.
- A removal deletes the event; removing a series master deletes its exceptions too.
- A top-level item (single or series master) is a series when it carries a recurrence; a master's
  ``cancelled_starts`` join its recurrence's EXDATEs.
- The mirror keeps what the provider reports, whatever its times: Graph's delta reports only
  items with instances in the window and removes those that leave it, so nothing is filtered here.
- With ``whole_series`` (Graph), a reported series is whole: Graph reports a changed series as
  its master followed by every occurrence and exception in the window (graph.md section 3.2, the
  emulator's ``delta``), and editing a master's times or rule drops its exceptions. So when a
  master (or an item that used to be one) is reported, its mirrored exceptions not reported in
  the same chain are deleted. Known limit: an exception moved out of the window is
  indistinguishable from a dropped one. Without it (Google), an incremental sync reports only
  what changed, so a reported master leaves its exceptions as they are; the provider reports an
  exception it dropped as a cancelled instance.
- A cancelled exception (Google's cancelled instance of a series) is mirrored as a cancelled
  event: it has no occurrence, and its slot is taken out of the series.
- An exception names its master by provider id; the master may come in the same chain (before or
  after it) or be in the mirror. An exception whose master is nowhere (or is not a series) is not
  mirrored and becomes a problem line: mirrored as a single event it would count twice once the
  master arrives, and Graph always reports a master with its exceptions.
- An exception whose original start is cancelled on its master is deleted (Graph turns a deleted
  exception into a cancelled occurrence of the master, and the exception's id is gone).
- Occurrences (see ``calhub.domain.sync.occurrences``) are recomputed for every single event
  reported and for every member of every series touched (master or exception reported or
  removed); a rule that cannot be expanded or one cut short by the limit is a problem line, the
  events stay mirrored. Cancelled events have no occurrences.
- An item that does not make a valid ``Event`` (end before start, ...) is a problem line; the
  mirror keeps what it had for it.
- Each event carries the join details detected in it (``calhub.domain.joinlinks``), keywords
  read with the tenant's table; on an overridden instance keywords are not read (a keyword on
  one occurrence is ignored, as Hybrid Calendar does), its links and join block are.
- Events equal to their mirrored version are not upserted, so planning an applied chain again
  gives a plan without upserts or deletes and with the same occurrence sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from datetime import datetime

from calhub.domain.events import Event, EventTime, InvalidEvent, Recurrence
from calhub.domain.ids import CalendarId, EventId, TenantId
from calhub.domain.joinlinks import DEFAULT_KEYWORDS, KeywordTable, detect_join
from calhub.domain.sync.changes import (
    Change,
    ItemKind,
    ProviderEvent,
    Removal,
    SeriesOccurrences,
    SyncPlan,
)
from calhub.domain.sync.occurrences import MirrorWindow, expand_members

__all__ = ["plan_changes", "provider_ids_to_load"]

NO_KEYWORDS = KeywordTable()


def provider_ids_to_load(changes: Iterable[Change]) -> frozenset[str]:
    """The provider ids whose mirrored events the planner needs: every id the changes name and
    the master of every exception. The caller adds every member of each series it finds."""
    needed: set[str] = set()
    for change in changes:
        needed.add(change.provider_event_id)
        if isinstance(change, ProviderEvent) and change.series_provider_id is not None:
            needed.add(change.series_provider_id)
    return frozenset(needed)


def plan_changes(
    current: Mapping[str, Event],
    changes: Sequence[Change],
    *,
    window_start: datetime,
    window_end: datetime,
    tenant_id: TenantId,
    calendar_id: CalendarId,
    new_event_id: Callable[[], EventId],
    occurrence_limit: int,
    keywords: KeywordTable = DEFAULT_KEYWORDS,
    whole_series: bool = True,
) -> SyncPlan:
    """The plan that brings the mirror of one calendar up to date with one page chain.

    ``current`` maps provider ids to the mirrored events (as loaded per the module docstring);
    ``occurrence_limit`` caps the occurrences kept per event in ``[window_start, window_end)``;
    ``keywords`` is the tenant's keyword table for the join details found on each event;
    ``whole_series`` says the provider reports a changed series with all its exceptions.
    """
    window = MirrorWindow(window_start, window_end, occurrence_limit)
    planner = _Planner(
        current, window, tenant_id, calendar_id, new_event_id, keywords, whole_series
    )
    return planner.plan(changes)


def _latest(changes: Sequence[Change]) -> dict[str, Change]:
    latest: dict[str, Change] = {}
    for change in changes:
        if isinstance(change, ProviderEvent) and change.kind is ItemKind.OCCURRENCE:
            continue
        latest[change.provider_event_id] = change
    return {key: latest[key] for key in sorted(latest)}


class _Planner:
    """The mirror as the chain leaves it (``final``), built up one rule at a time."""

    def __init__(
        self,
        current: Mapping[str, Event],
        window: MirrorWindow,
        tenant_id: TenantId,
        calendar_id: CalendarId,
        new_event_id: Callable[[], EventId],
        keywords: KeywordTable,
        whole_series: bool,
    ) -> None:
        self.current = current
        self.final: dict[str, Event] = dict(current)
        self.window = window
        self.tenant_id = tenant_id
        self.calendar_id = calendar_id
        self.new_event_id = new_event_id
        self.keywords = keywords
        self.reported: dict[str, None] = {}  # provider ids upserted, top-level items first
        self.reported_masters: set[EventId] = set()  # ids of reported top-level items
        self.touched_series: set[EventId] = set()
        self.problems: list[str] = []
        self.whole_series = whole_series

    def plan(self, changes: Sequence[Change]) -> SyncPlan:
        latest = _latest(changes)
        items = [change for change in latest.values() if isinstance(change, ProviderEvent)]
        removed = {
            self._remove(change.provider_event_id)
            for change in latest.values()
            if isinstance(change, Removal)
        }
        self._delete_exceptions(of=removed - {None}, keep=set())
        for item in items:
            if item.kind is not ItemKind.EXCEPTION:
                self._put_top_level(item)
        for item in items:
            if item.kind is ItemKind.EXCEPTION:
                self._put_exception(item)
        self._drop_unreported_exceptions()
        self._drop_cancelled_exceptions()
        return SyncPlan(
            upserts=tuple(
                self.final[key]
                for key in self.reported
                if key in self.final and self.final[key] != self.current.get(key)
            ),
            deletes=tuple(
                self.current[key].id for key in sorted(self.current) if key not in self.final
            ),
            occurrences=self._occurrences(),
            problems=tuple(self.problems),
        )

    # --- building the final state ---------------------------------------------------------

    def _remove(self, provider_event_id: str) -> EventId | None:
        """Take the event out of the mirror; its id, whose exceptions must go too."""
        event = self.final.pop(provider_event_id, None)
        if event is None:
            return None
        if event.series_id is not None:
            self.touched_series.add(event.series_id)
        return event.id

    def _put_top_level(self, item: ProviderEvent) -> None:
        known = self.current.get(item.provider_event_id)
        try:
            event = self._event(item, known, _recurrence_of(item), series_id=None)
        except InvalidEvent as error:
            self.problems.append(f"event {item.provider_event_id} not mirrored: {error}")
            return
        self._moved_from_series(known)
        self.final[item.provider_event_id] = event
        self.reported[item.provider_event_id] = None
        self.reported_masters.add(event.id)
        if event.recurrence is not None:
            self.touched_series.add(event.id)

    def _put_exception(self, item: ProviderEvent) -> None:
        key = item.provider_event_id
        master = self.final.get(item.series_provider_id or "")
        if master is None or master.recurrence is None:
            self.problems.append(
                f"exception {key} not mirrored: its series {item.series_provider_id} "
                "is not known as a recurring event"
            )
            return
        if item.original_start is None:
            self.problems.append(f"exception {key} not mirrored: it has no original start")
            return
        try:
            event = self._event(
                item, self.current.get(key), None, master.id, recurrence_id=item.original_start
            )
        except InvalidEvent as error:
            self.problems.append(f"exception {key} not mirrored: {error}")
            return
        self._moved_from_series(self.current.get(key))
        self.final[key] = event
        self.reported[key] = None
        self.touched_series.add(master.id)

    def _moved_from_series(self, known: Event | None) -> None:
        # An exception that becomes a single event, or changes series, leaves a slot behind.
        if known is not None and known.series_id is not None:
            self.touched_series.add(known.series_id)

    def _event(
        self,
        item: ProviderEvent,
        known: Event | None,
        recurrence: Recurrence | None,
        series_id: EventId | None,
        recurrence_id: EventTime | None = None,
    ) -> Event:
        return Event(
            id=known.id if known is not None else self.new_event_id(),
            tenant_id=self.tenant_id,
            calendar_id=self.calendar_id,
            provider_event_id=item.provider_event_id,
            start=item.start,
            end=item.end,
            time_zone=item.time_zone,
            subject=item.subject,
            body=item.body,
            location=item.location,
            organizer=item.organizer,
            attendees=item.attendees,
            show_as=item.show_as,
            is_private=item.is_private,
            is_cancelled=item.is_cancelled,
            recurrence=recurrence,
            series_id=series_id,
            recurrence_id=recurrence_id,
            change_key=item.change_key,
            body_format=item.body_format,
            is_organizer=item.is_organizer,
            ical_uid=item.ical_uid,
            join=detect_join(
                item.location,
                item.body,
                item.body_format,
                hints=item.hints,
                # A keyword on one instance of a series is not acted on (Hybrid Calendar does
                # the same); the instance still reports the links and the block it carries.
                keywords=self.keywords if recurrence_id is None else NO_KEYWORDS,
            ),
        )

    def _drop_unreported_exceptions(self) -> None:
        if self.whole_series:
            self._delete_exceptions(of=self.reported_masters, keep=self.reported.keys())

    def _drop_cancelled_exceptions(self) -> None:
        cancelled = {
            event.id: set(event.recurrence.exdates)
            for event in self.final.values()
            if event.recurrence is not None
        }
        for key, event in list(self.final.items()):
            if event.series_id is not None and event.recurrence_id in cancelled.get(
                event.series_id, ()
            ):
                del self.final[key]

    def _delete_exceptions(self, of: AbstractSet[EventId | None], keep: AbstractSet[str]) -> None:
        if not of:
            return
        for key, event in list(self.final.items()):
            if event.series_id is not None and event.series_id in of and key not in keep:
                del self.final[key]

    # --- occurrences ----------------------------------------------------------------------

    def _occurrences(self) -> tuple[SeriesOccurrences, ...]:
        exceptions: dict[EventId, list[Event]] = {}
        for event in self.final.values():
            if event.series_id is not None:
                exceptions.setdefault(event.series_id, []).append(event)
        sets: list[SeriesOccurrences] = []
        for _, event in sorted(self.final.items()):
            single = event.recurrence is None and event.series_id is None
            if single and event.provider_event_id not in self.reported:
                continue
            if not single and event.id not in self.touched_series:
                continue
            members = sorted(exceptions.get(event.id, ()), key=lambda e: e.provider_event_id)
            expanded = expand_members(event, members, self.window)
            sets.extend(expanded.sets)
            if expanded.problem is not None:
                self.problems.append(expanded.problem)
        return tuple(sets)


def _recurrence_of(item: ProviderEvent) -> Recurrence | None:
    if item.recurrence is None:
        return None
    exdates = tuple(dict.fromkeys((*item.recurrence.exdates, *item.cancelled_starts)))
    return replace(item.recurrence, exdates=exdates)
