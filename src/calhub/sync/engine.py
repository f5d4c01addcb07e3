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

Passes that run at the same time in one process can share their transaction (``SyncApplier``,
one per ``HubContext``): each job reads its own round, then hands it over; the applier's task
applies the rounds waiting (of one tenant, each calendar once, up to ``MAX_GROUP``) in one
transaction, where the events, attendee index and occurrences of all of them are written by one
statement each; rounds handed over meanwhile go in the next (docs/sync.md, "Several passes in
one transaction"). When that transaction fails (a ``StalePlan`` of one member, a deadlock,
anything), it is rolled back and each member applies alone, as without the applier.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import structlog

from calhub.domain.calendars import Calendar
from calhub.domain.clock import Clock
from calhub.domain.ids import CalendarId, DeviceId, EventId, TenantId, new_id
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.writeback import JoinAction, decide_join_write
from calhub.domain.sync.changes import Change, Removal, SyncPlan
from calhub.domain.sync.planner import plan_changes, provider_ids_to_load
from calhub.providers.base import CalendarProvider, CalendarRef, CursorInvalid, Window
from calhub.storage.repositories.mirror import AppliedPlan, StalePlan
from calhub.storage.repositories.notifications import PendingNotifications
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory
from calhub.sync.meeting_feed import MirrorFeed, prepare_feed

DEFAULT_JOIN_SETTINGS = JoinSettings()
MAX_GROUP: Final = 16  # passes in one transaction
GATHER_S: Final = 0.002  # how long a round alone waits for company

log = structlog.get_logger("calhub.sync")


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
    applier: SyncApplier | None = None,
) -> SyncOutcome:
    """One sync pass; raises the provider's errors (``ConsentRevoked``, ``RateLimited``, ...)
    for the caller to record and react to, with nothing applied. ``answering``: the
    notifications that asked for the pass, read before it began; they are marked processed with
    it, and the oldest sets the calendar's lag. ``join_settings``: the tenant's keywords (for
    the join details detected on each event) and whether invites get join blocks.
    ``device_ids``: the calendar's devices, read before the pass began (None: read in its
    transaction); the pass's status update checks they are still the calendar's, and the pass
    is applied once more, reading them afresh, when a device came or went meanwhile.
    ``applier``: the process's ``SyncApplier``, to share the transaction with concurrent passes
    (None: the pass has its own)."""
    ref = CalendarRef(owner=calendar.provider_calendar_id)
    span = window.around(clock.now())
    full = calendar.sync_cursor is None
    try:
        round_ = await _read_round(provider, ref, calendar.sync_cursor, span)
    except CursorInvalid:
        full = True
        round_ = await _read_round(provider, ref, None, span)
    pass_ = _Pass(calendar, round_, span, full, answering, join_settings, device_ids)
    if applier is not None:
        try:
            return await applier.apply(pass_)
        except GroupFailed:
            pass  # rolled back: apply alone
    try:
        return (await _apply(uow_factory, [pass_], clock, occurrence_limit))[0]
    except StalePlan:
        # The mirror (or the calendar's devices) moved between planning and writing: plan once
        # more from what is stored.
        fresh = dataclasses.replace(pass_, device_ids=None)
        return (await _apply(uow_factory, [fresh], clock, occurrence_limit))[0]


@dataclass(frozen=True, slots=True)
class _Pass:
    """A round read and what applying it needs (``sync_calendar``'s arguments)."""

    calendar: Calendar
    round_: _Round
    span: Window
    full: bool
    answering: PendingNotifications | None
    join_settings: JoinSettings
    device_ids: Sequence[DeviceId] | None


_Waiting = tuple[_Pass, asyncio.Future[SyncOutcome]]  # a pass handed over, and its answer


class GroupFailed(Exception):
    """The shared transaction failed and was rolled back; the pass is to be applied alone."""


class SyncApplier:
    """Applies the rounds of one process's concurrent passes in shared transactions (module
    doc). When fewer than ``gather_up_to`` rounds wait (by default: one alone), they wait
    ``gather_s`` for company before they are applied."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        occurrence_limit: int,
        *,
        max_group: int = MAX_GROUP,
        gather_s: float = GATHER_S,
        gather_up_to: int = 2,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._occurrence_limit = occurrence_limit
        self._max_group = max_group
        self._gather_s = gather_s
        self._gather_up_to = gather_up_to
        self._waiting: list[_Waiting] = []
        self._applying: asyncio.Task[None] | None = None

    async def apply(self, pass_: _Pass) -> SyncOutcome:
        """The pass applied with whatever else waits; raises ``GroupFailed`` when that
        transaction failed."""
        loop = asyncio.get_running_loop()
        outcome: asyncio.Future[SyncOutcome] = loop.create_future()
        self._waiting.append((pass_, outcome))
        applying = self._applying
        if applying is None or applying.done() or applying.get_loop() is not loop:
            self._applying = asyncio.create_task(self._apply_waiting())
        return await outcome

    async def _apply_waiting(self) -> None:
        group: list[_Waiting] = []
        try:
            while self._waiting:
                if len(self._waiting) < self._gather_up_to:
                    await asyncio.sleep(self._gather_s)
                group = self._take_group()
                try:
                    passes = [pass_ for pass_, _ in group]
                    outcomes = await _apply(
                        self._uow_factory, passes, self._clock, self._occurrence_limit
                    )
                except Exception as exc:  # whatever failed, each member can still apply alone
                    log.info("sync_group_failed", passes=len(group), error=type(exc).__name__)
                    _fail(group)
                    continue
                for (_, outcome), result in zip(group, outcomes, strict=True):
                    if not outcome.done():  # its job may have been cancelled meanwhile
                        outcome.set_result(result)
        finally:  # cancelled (the process is stopping): no pass is left waiting for an answer
            _fail([*group, *self._waiting])
            self._waiting.clear()

    def _take_group(self) -> list[_Waiting]:
        """The first waiting pass and those of its tenant, each calendar once, at most
        ``max_group``, in calendar id order; the rest keep waiting. In that order the group's
        transaction updates the calendars' rows, as the intake does (``record_notifications``),
        so the two never wait for each other in a circle."""
        tenant_id = self._waiting[0][0].calendar.tenant_id
        group: list[_Waiting] = []
        rest: list[_Waiting] = []
        calendars: set[CalendarId] = set()
        for item in self._waiting:
            calendar = item[0].calendar
            if (
                len(group) < self._max_group
                and calendar.tenant_id == tenant_id
                and calendar.id not in calendars
            ):
                group.append(item)
                calendars.add(calendar.id)
            else:
                rest.append(item)
        self._waiting = rest
        return sorted(group, key=lambda item: item[0].calendar.id)


def _fail(group: Sequence[_Waiting]) -> None:
    for _, outcome in group:
        if not outcome.done():
            outcome.set_exception(GroupFailed())


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
    passes: Sequence[_Pass],
    clock: Clock,
    occurrence_limit: int,
) -> list[SyncOutcome]:
    """Plan and apply ``passes`` (of one tenant, each calendar once) in one transaction."""
    tenant_id = passes[0].calendar.tenant_id
    now = clock.now()
    async with uow_factory() as uow:
        staged = [await _plan(uow, pass_, now, occurrence_limit) for pass_ in passes]
        applied = await uow.mirror.apply_many(
            tenant_id,
            [(pass_.calendar.id, plan) for pass_, (plan, _) in zip(passes, staged, strict=True)],
            now,
        )
        outcomes = [
            await _record(uow, pass_, plan, feed, done, now)
            for pass_, (plan, feed), done in zip(passes, staged, applied, strict=True)
        ]
        await uow.commit()
    return outcomes


async def _plan(
    uow: UnitOfWork, pass_: _Pass, now: datetime, occurrence_limit: int
) -> tuple[SyncPlan, MirrorFeed | None]:
    """The pass's plan, from the mirror as stored, and its devices' feed."""
    tenant_id, calendar_id = pass_.calendar.tenant_id, pass_.calendar.id
    changes: Sequence[Change] = pass_.round_.changes
    if pass_.full:
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
        window_start=pass_.span.start,
        window_end=pass_.span.end,
        tenant_id=tenant_id,
        calendar_id=calendar_id,
        new_event_id=lambda: EventId(new_id(now)),
        occurrence_limit=occurrence_limit,
        keywords=pass_.join_settings.keywords,
        whole_series=pass_.round_.whole_series,
    )
    feed = await prepare_feed(uow, tenant_id, calendar_id, current, plan, now, pass_.device_ids)
    return plan, feed


async def _record(
    uow: UnitOfWork,
    pass_: _Pass,
    plan: SyncPlan,
    feed: MirrorFeed | None,
    applied: AppliedPlan,
    now: datetime,
) -> SyncOutcome:
    """After the mirror: the devices' feed, join writes, cursor and status of the pass."""
    tenant_id, calendar_id = pass_.calendar.tenant_id, pass_.calendar.id
    if feed is not None:
        await feed.publish(uow, now)
    join_writes = await _queue_join_writes(
        uow, tenant_id, calendar_id, plan, pass_.join_settings, now
    )
    answering = pass_.answering
    await uow.sync_status.record_sync(
        tenant_id,
        calendar_id,
        now,
        cursor=pass_.round_.cursor,
        full=pass_.full,
        change_seen_at=None if answering is None else answering.oldest_received_at,
        answered_through=None if answering is None else answering.newest_id,
        devices_seen=pass_.device_ids,
    )
    return SyncOutcome(
        full=pass_.full,
        pages=pass_.round_.pages,
        changes=len(pass_.round_.changes),
        upserted=applied.upserted,
        deleted=applied.deleted,
        problems=(*pass_.round_.problems, *plan.problems),
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
