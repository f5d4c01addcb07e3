"""Bring one calendar's mirror up to date with its provider (ARCHITECTURE.md §4, step 2).

A pass reads one whole round of changes, from the saved cursor or, without one, everything in the
mirror window; plans it with the pure planner (``calhub.domain.sync.planner``); and applies the
plan, the new cursor, the calendar's sync status, the notifications it answers, the join
writes the new mirror calls for (ARCHITECTURE.md §4, step 3; ``domain.joinlinks.writeback``) and,
for a calendar with devices, its ``meeting.*`` events and join prompts (``sync.meeting_feed``) in
one transaction, so a crash in the middle leaves the mirror and the cursor as they were and the
next pass repeats the round. An expired cursor (``CursorInvalid``, Graph's 410
``SyncStateNotFound``) turns the pass into a full resync of the window, which also removes
mirrored events the provider no longer reports.

The caller guarantees that one calendar never syncs concurrently with itself (the worker task
takes a Procrastinate ``lock`` per calendar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from calhub.domain.calendars import Calendar
from calhub.domain.clock import Clock
from calhub.domain.ids import CalendarId, DeviceId, EventId, TenantId, new_id
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.writeback import JoinAction, decide_join_write
from calhub.domain.sync.changes import Change, Removal, SyncPlan
from calhub.domain.sync.planner import plan_changes, provider_ids_to_load
from calhub.providers.base import CalendarProvider, CalendarRef, CursorInvalid, Window
from calhub.storage.repositories.mirror import StalePlan
from calhub.storage.repositories.notifications import PendingNotifications
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory
from calhub.sync.meeting_feed import prepare_feed

DEFAULT_JOIN_SETTINGS = JoinSettings()


@dataclass(frozen=True, slots=True)
class MirrorWindow:
    """How far the mirror reaches around now (issue 4: one day back to 180 days ahead)."""

    days_back: int = 1
    days_ahead: int = 180

    def around(self, now: datetime) -> Window:
        return Window(now - timedelta(days=self.days_back), now + timedelta(days=self.days_ahead))


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    full: bool
    pages: int
    changes: int
    upserted: int
    deleted: int
    problems: tuple[str, ...]
    join_writes: int = 0  # join-block writes queued for workers
    announced: bool = False  # the calendar's devices were told (meeting.* events, prompts)


@dataclass(frozen=True, slots=True)
class _Round:
    changes: list[Change]
    cursor: str
    pages: int
    problems: list[str]
    whole_series: bool  # a changed series comes with all its exceptions (Capabilities)


async def sync_calendar(
    uow_factory: UnitOfWorkFactory,
    provider: CalendarProvider,
    calendar: Calendar,
    *,
    clock: Clock,
    window: MirrorWindow,
    occurrence_limit: int,
    answering: PendingNotifications | None = None,
    join_settings: JoinSettings = DEFAULT_JOIN_SETTINGS,
    device_ids: Sequence[DeviceId] | None = None,
) -> SyncOutcome:
    """One sync pass; raises the provider's errors (``ConsentRevoked``, ``RateLimited``, ...)
    for the caller to record and react to, with nothing applied. ``answering``: the
    notifications that asked for the pass, read before it began; they are marked processed with
    it, and the oldest sets the calendar's lag. ``join_settings``: the tenant's keywords (for
    the join details detected on each event) and whether invites get join blocks.
    ``device_ids``: the calendar's devices, read before the pass began (None: read in its
    transaction); the pass's status update checks they are still the calendar's, and the pass
    is applied once more, reading them afresh, when a device came or went meanwhile."""
    ref = CalendarRef(owner=calendar.provider_calendar_id)
    span = window.around(clock.now())
    full = calendar.sync_cursor is None
    try:
        round_ = await _read_round(provider, ref, calendar.sync_cursor, span)
    except CursorInvalid:
        full = True
        round_ = await _read_round(provider, ref, None, span)
    apply = (
        uow_factory,
        calendar,
        round_,
        span,
        full,
        clock,
        occurrence_limit,
        answering,
        join_settings,
    )
    try:
        return await _apply(*apply, device_ids)
    except StalePlan:
        # The mirror (or the calendar's devices) moved between planning and writing: plan once
        # more from what is stored.
        return await _apply(*apply, None)


async def _read_round(
    provider: CalendarProvider, ref: CalendarRef, cursor: str | None, span: Window
) -> _Round:
    changes: list[Change] = []
    problems: list[str] = []
    pages = 0
    async for page in provider.changes(ref, cursor=cursor, window=span):
        pages += 1
        changes.extend(page.changes)
        problems.extend(page.problems)
        if page.cursor is not None:
            whole_series = provider.capabilities.series_reported_whole
            return _Round(changes, page.cursor, pages, problems, whole_series)
    raise CursorInvalid("the provider ended a round without a cursor")


async def _apply(
    uow_factory: UnitOfWorkFactory,
    calendar: Calendar,
    round_: _Round,
    span: Window,
    full: bool,
    clock: Clock,
    occurrence_limit: int,
    answering: PendingNotifications | None,
    join_settings: JoinSettings,
    device_ids: Sequence[DeviceId] | None,
) -> SyncOutcome:
    tenant_id, calendar_id = calendar.tenant_id, calendar.id
    now = clock.now()
    async with uow_factory() as uow:
        changes: Sequence[Change] = round_.changes
        if full:
            # A full round lists everything the provider still has; the rest is gone.
            reported = {change.provider_event_id for change in changes}
            mirrored = await uow.events.provider_ids(tenant_id, calendar_id)
            changes = [*changes, *(Removal(pid) for pid in mirrored if pid not in reported)]
        current = await uow.mirror.load_for_planning(
            tenant_id, calendar_id, sorted(provider_ids_to_load(changes))
        )
        plan = plan_changes(
            current,
            changes,
            window_start=span.start,
            window_end=span.end,
            tenant_id=tenant_id,
            calendar_id=calendar_id,
            new_event_id=lambda: EventId(new_id(now)),
            occurrence_limit=occurrence_limit,
            keywords=join_settings.keywords,
            whole_series=round_.whole_series,
        )
        feed = await prepare_feed(uow, tenant_id, calendar_id, current, plan, now, device_ids)
        applied = await uow.mirror.apply(tenant_id, calendar_id, plan, now)
        if feed is not None:
            await feed.publish(uow, now)
        join_writes = await _queue_join_writes(
            uow, tenant_id, calendar_id, plan, join_settings, now
        )
        await uow.sync_status.record_sync(
            tenant_id,
            calendar_id,
            now,
            cursor=round_.cursor,
            full=full,
            change_seen_at=None if answering is None else answering.oldest_received_at,
            answered_through=None if answering is None else answering.newest_id,
            devices_seen=device_ids,
        )
        await uow.commit()
    return SyncOutcome(
        full=full,
        pages=round_.pages,
        changes=len(round_.changes),
        upserted=applied.upserted,
        deleted=applied.deleted,
        problems=(*round_.problems, *plan.problems),
        join_writes=join_writes,
        announced=feed is not None,
    )


async def _queue_join_writes(
    uow: UnitOfWork,
    tenant_id: TenantId,
    calendar_id: CalendarId,
    plan: SyncPlan,
    settings: JoinSettings,
    now: datetime,
) -> int:
    """Queue a join write for every upserted invite that may need its block written or removed
    (``decide_join_write`` without the marker property, which delta never returns), except
    those still carrying the change key calhub's own last write gave them: that change is the
    edit calhub made, not one to act on."""
    candidates = [
        event
        for event in plan.upserts
        if decide_join_write(
            location=event.location,
            body=event.body,
            is_organizer=event.is_organizer,
            is_cancelled=event.is_cancelled,
            is_instance=event.recurrence_id is not None,
            settings=settings,
        ).action
        is not JoinAction.LEAVE
    ]
    if not candidates:
        return 0
    own = await uow.join_writes.written_change_keys(tenant_id, [e.id for e in candidates])
    wanted = [(e.id, e.provider_event_id) for e in candidates if own.get(e.id) != e.change_key]
    return await uow.join_writes.add(tenant_id, calendar_id, wanted, now)
