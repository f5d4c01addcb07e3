"""What a sync pass tells the devices of its calendar: ``meeting.*`` events and join prompts
(issue 6, "Delivery": "Feeds also emit meeting.created/updated/cancelled as the mirror
changes"; docs/obtp.md, "Meeting events").

The engine calls ``prepare_feed`` before it applies a plan and ``MirrorFeed.publish`` after, in
the same transaction. A calendar without devices costs one index lookup and nothing else.

For each changed event with an occurrence in the next ``FEED_DAYS`` days, before or after the
change, every device of the calendar gets one event (``device_id`` set):

- ``meeting.created``: the event was not in the mirror before;
- ``meeting.cancelled``: it was deleted, or is now cancelled;
- ``meeting.updated``: anything else;

with payload ``{"device_id", "event_id", "booking_ids"}``, ``booking_ids`` the occurrences
affected (before and after the change), so a device re-reads ``GET /api/v1/devices/{id}/bookings``
as a RoomOS device does on ``Bookings Updated``. Then the prompts of the changed meetings are
reconciled (``calhub.sync.prompts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from calhub.domain.events import Event, EventTime
from calhub.domain.ids import CalendarId, DeviceId, EventId, TenantId
from calhub.domain.meetings.model import booking_id
from calhub.domain.sync.changes import SyncPlan
from calhub.storage.unit_of_work import UnitOfWork
from calhub.sync.prompts import PromptChanges, reconcile_prompts

FEED_DAYS: Final = 8
MEETING_CREATED: Final = "meeting.created"
MEETING_UPDATED: Final = "meeting.updated"
MEETING_CANCELLED: Final = "meeting.cancelled"

Slots = Mapping[EventId, Sequence[tuple[EventId, EventTime]]]


@dataclass(frozen=True, slots=True)
class MirrorFeed:
    """A sync pass's changes to one calendar with devices, with the booking slots of the
    changed events as they were before the plan was applied."""

    tenant_id: TenantId
    calendar_id: CalendarId
    devices: Sequence[DeviceId]
    before: Mapping[str, Event]
    plan: SyncPlan
    slots_before: Slots

    async def publish(self, uow: UnitOfWork, now: datetime) -> PromptChanges:
        """Add the ``meeting.*`` events and reconcile the changed meetings' prompts."""
        upserted = [event.id for event in self.plan.upserts]
        slots_after = await uow.join_prompts.booking_slots(
            self.tenant_id, upserted, now, now + timedelta(days=FEED_DAYS)
        )
        existed = {event.id for event in self.before.values()}
        changes = [(event.id, _kind(event, existed)) for event in self.plan.upserts] + [
            (event_id, MEETING_CANCELLED) for event_id in self.plan.deletes
        ]
        rows: list[tuple[str, Mapping[str, Any], DeviceId | None]] = []
        for event_id, kind in changes:
            slots = {*self.slots_before.get(event_id, ()), *slots_after.get(event_id, ())}
            if not slots:
                continue  # nothing a device shows changed
            booking_ids = sorted({booking_id(meeting, start) for meeting, start in slots})
            rows.extend(
                (
                    kind,
                    {
                        "device_id": str(device_id),
                        "event_id": str(event_id),
                        "booking_ids": booking_ids,
                    },
                    device_id,
                )
                for device_id in self.devices
            )
        if rows:
            await uow.outbox.add_many(self.tenant_id, rows, now)
        meetings = {
            event.series_id or event.id for event in (*self.before.values(), *self.plan.upserts)
        }
        return await reconcile_prompts(
            uow,
            self.tenant_id,
            [self.calendar_id],
            now,
            meeting_ids=meetings,
            targets={self.calendar_id: self.devices},
        )


def _kind(event: Event, existed: set[EventId]) -> str:
    if event.is_cancelled:
        return MEETING_CANCELLED
    return MEETING_UPDATED if event.id in existed else MEETING_CREATED


async def prepare_feed(
    uow: UnitOfWork,
    tenant_id: TenantId,
    calendar_id: CalendarId,
    before: Mapping[str, Event],
    plan: SyncPlan,
    now: datetime,
    device_ids: Sequence[DeviceId] | None = None,
) -> MirrorFeed | None:
    """The feed of a plan about to be applied; None when the calendar has no device (or the
    plan changes nothing). ``device_ids``: the calendar's devices as the pass read them with the
    calendar (then nothing is read here); None: looked up now, in the transaction."""
    if not (plan.upserts or plan.deletes):
        return None
    devices = (
        list(device_ids)
        if device_ids is not None
        else (await uow.join_prompts.targets(tenant_id, [calendar_id])).get(calendar_id)
    )
    if not devices:
        return None
    changed = sorted({*(e.id for e in before.values()), *plan.deletes})
    slots = await uow.join_prompts.booking_slots(
        tenant_id, changed, now, now + timedelta(days=FEED_DAYS)
    )
    return MirrorFeed(tenant_id, calendar_id, devices, before, plan, slots)
