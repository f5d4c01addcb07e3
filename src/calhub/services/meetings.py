"""Meetings lists: a person's meetings and a device's RoomOS bookings (issue 6, "Meetings list";
shared/reference/joinlinks.md §1.8 and §4).

- ``person_meetings``: the occurrences of every meeting the address organises or attends in a
  window (default: today to 7 days ahead in the viewer's zone), one per occurrence however many
  mailboxes hold a copy, without cancelled meetings and ones the person declined. A private
  meeting's title shows only to its organizer.
- ``device_bookings``: the RoomOS ``Bookings List`` result of a device's calendar, from now (in
  progress included) to the end of the device's day plus 8 hours (``days`` widens it), each
  booking's ``StartTimeBuffer`` the join-prompt lead time of the device's calendar.

Both read through ``UnitOfWorkFactory.reading``: one query for the list (plus one to tell an
unknown address from one without meetings, and the device and settings lookups).

Errors: ``InvalidWindow`` (names the parameter), ``UnknownAddress``, and ``DeviceNotFound`` from
``calhub.services.devices``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from calhub.domain.devices import Device
from calhub.domain.ids import DeviceId, TenantId
from calhub.domain.meetings.model import (
    Meeting,
    declined_by,
    meeting_for_device,
    meeting_from_event,
)
from calhub.domain.meetings.roomos import bookings_list, roomos_booking
from calhub.domain.meetings.windows import (
    DEFAULT_USER_DAYS,
    InvalidWindow,
    device_window,
    parse_zone,
    user_window,
)
from calhub.domain.timezones import UnknownTimeZone, resolve_zone
from calhub.services.context import HubContext
from calhub.services.devices import DeviceNotFound

__all__ = [
    "DeviceBookings",
    "DeviceNotFound",
    "InvalidWindow",
    "PersonMeetings",
    "UnknownAddress",
    "device_bookings",
    "person_meetings",
]


class UnknownAddress(LookupError):
    """No calendar or meeting is known for this address in the tenant."""


@dataclass(frozen=True, slots=True)
class PersonMeetings:
    zone: ZoneInfo  # the viewer's, in which the window was read
    start: datetime
    end: datetime
    meetings: list[Meeting]


@dataclass(frozen=True, slots=True)
class DeviceBookings:
    device: Device
    start: datetime
    end: datetime
    result: dict[str, Any]  # the RoomOS ``Bookings List`` result, JSON-ready


async def person_meetings(
    ctx: HubContext,
    tenant_id: TenantId,
    email: str,
    *,
    start: str | None = None,
    end: str | None = None,
    tz: str = "UTC",
    days: int = DEFAULT_USER_DAYS,
) -> PersonMeetings:
    """The meetings of ``email`` in the window ``start``..``end`` (ISO text, read in ``tz``;
    without ``end``, ``days`` days from the start)."""
    zone = parse_zone(tz)
    window_start, window_end = user_window(ctx.clock.now(), zone, start, end, days)
    async with ctx.uow.reading() as uow:
        copies = await uow.meetings.for_person(tenant_id, email, window_start, window_end)
        if not copies and not await uow.meetings.is_known_address(tenant_id, email):
            raise UnknownAddress("no calendar or meeting is known for this address")
    meetings = [
        meeting_from_event(
            copy.event, copy.occurrence, viewer=email, fallback_join=copy.fallback_join
        )
        for copy in copies
        if not declined_by(copy.event, email)
    ]
    return PersonMeetings(zone, window_start, window_end, meetings)


def _device_zone(device: Device) -> ZoneInfo:
    try:
        return resolve_zone(device.time_zone)
    except UnknownTimeZone:  # registration checks the zone; a tzdata update may drop one
        return ZoneInfo("UTC")


async def device_bookings(
    ctx: HubContext, tenant_id: TenantId, device_id: DeviceId, *, days: int = 1
) -> DeviceBookings:
    """The device's bookings over ``days`` days (1-7) in RoomOS shape."""
    now = ctx.clock.now()
    async with ctx.uow.reading() as uow:
        device = await uow.devices.get(tenant_id, device_id)
        if device is None:
            raise DeviceNotFound(f"no device {device_id} in this tenant")
        start, end = device_window(now, _device_zone(device), days)
        copies = await uow.meetings.for_calendar(tenant_id, device.calendar_id, start, end)
        settings = await uow.meeting_settings.get(tenant_id)
    lead_s = int(settings.lead_for(device.calendar_id).total_seconds())
    bookings = [
        roomos_booking(
            meeting_for_device(copy.event, copy.occurrence, fallback_join=copy.fallback_join),
            start_buffer_s=lead_s,
        )
        for copy in copies
    ]
    return DeviceBookings(device, start, end, bookings_list(bookings, now))
