"""Bring calendars' join prompts in line with their mirror (issue 6, "OBTP"; docs/obtp.md,
"Reconciling").

``reconcile_prompts`` is the one way prompts are scheduled, moved and withdrawn, used by the
sync pass (the changed meetings of one calendar, in the sync's own transaction), after a device
is added or removed (``reconcile_calendar_prompts``), after the meeting settings change and by
the periodic horizon pass (whole calendars). It reads, for the calendars' devices:

1. what the mirror calls for: every occurrence overlapping [now, now + ``PROMPT_HORIZON``) whose
   event gets a join button, as the device's feed shows it (``MeetingRepository.for_calendar``,
   with another copy's join details when the room's copy has none), times every device of its
   calendar, firing at start − the calendar's lead (``MeetingSettings.lead_for``);
2. the live prompts of those devices, locked;

and applies ``plan_prompts``: new versions, deleted schedules, and withdrawals, each withdrawal
with an ``obtp.withdrawn`` outbox event in the same transaction. Reconciles of one calendar are
serialised by a transaction-scoped advisory lock, so two never race to add the same version.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from calhub.domain.ids import CalendarId, DeviceId, EventId, TenantId
from calhub.domain.meetings.model import Meeting, gets_join_button, meeting_for_device
from calhub.domain.meetings.prompts import (
    PROMPT_HORIZON,
    WITHDRAWN_EVENT,
    PromptPlan,
    join_fingerprint,
    plan_prompts,
    prompt_payload,
    wanted_prompt,
)
from calhub.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class PromptChanges:
    """How many prompts a reconcile created, deleted unsent and withdrew."""

    created: int = 0
    deleted: int = 0
    withdrawn: int = 0

    def __add__(self, other: PromptChanges) -> PromptChanges:
        return PromptChanges(
            self.created + other.created,
            self.deleted + other.deleted,
            self.withdrawn + other.withdrawn,
        )

    @classmethod
    def of(cls, plan: PromptPlan) -> PromptChanges:
        return cls(len(plan.create), len(plan.delete), len(plan.withdraw))


async def reconcile_prompts(
    uow: UnitOfWork,
    tenant_id: TenantId,
    calendar_ids: Sequence[CalendarId],
    now: datetime,
    *,
    meeting_ids: Collection[EventId] | None = None,
    targets: Mapping[CalendarId, Sequence[DeviceId]] | None = None,
) -> PromptChanges:
    """Reconcile the prompts of these calendars' devices, only for the meetings (series or
    single events) ``meeting_ids`` when given, in ``uow``'s transaction (the caller commits).
    ``targets``: the calendars' devices when the caller already read them."""
    if targets is None:
        targets = await uow.join_prompts.targets(tenant_id, calendar_ids)
    if not targets:
        return PromptChanges()
    await uow.join_prompts.lock_calendars(list(targets))
    settings = await uow.meeting_settings.get(tenant_id)
    meetings: list[Meeting] = []
    for calendar_id in targets:
        listed = await uow.meetings.for_calendar(tenant_id, calendar_id, now, now + PROMPT_HORIZON)
        for copy in listed:
            if not gets_join_button(copy.event, copy.fallback_join):
                continue
            meeting = meeting_for_device(
                copy.event, copy.occurrence, fallback_join=copy.fallback_join
            )
            if meeting_ids is None or (meeting.series_id or meeting.event_id) in meeting_ids:
                meetings.append(meeting)
    fingerprints = [join_fingerprint(m.join, _at(m.start), _at(m.end)) for m in meetings]
    digests = await uow.join_prompts.digests(tenant_id, fingerprints)
    wanted = [
        wanted_prompt(meeting, device_id, settings.lead_for(meeting.calendar_id), digest)
        for meeting, digest in zip(meetings, digests, strict=True)
        for device_id in targets[meeting.calendar_id]
    ]
    device_ids = [device_id for devices in targets.values() for device_id in devices]
    scope = None if meeting_ids is None else sorted(meeting_ids)
    live = await uow.join_prompts.live(tenant_id, device_ids, now, scope)
    plan = plan_prompts(wanted, live, now)
    await uow.join_prompts.apply(tenant_id, plan, now)
    if plan.withdraw:
        events = [
            (
                WITHDRAWN_EVENT,
                prompt_payload(
                    p.id, p.target, p.version, fire_at=p.fire_at, start=p.start, end=p.end
                ),
                p.target.device_id,
            )
            for p in plan.withdraw
        ]
        await uow.outbox.add_many(tenant_id, events, now)
    return PromptChanges.of(plan)


def _at(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError("a meeting with a join button has timed start and end")
    return value


async def reconcile_calendar_prompts(
    uow: UnitOfWork, tenant_id: TenantId, calendar_id: CalendarId, now: datetime
) -> PromptChanges:
    """Every prompt of the calendar's devices (after a device was added or removed), in
    ``uow``'s transaction."""
    return await reconcile_prompts(uow, tenant_id, [calendar_id], now)
