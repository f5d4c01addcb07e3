"""Devices: the room systems and users' clients that read a meetings feed (docs/meetings.md).

A ``Device`` reads the feed of exactly one calendar: a room device its room's calendar, a client
(a user's desktop or mobile app) its user's calendar. Each has its own bearer token, which
reads ``chd_<device id hex>_<secret>`` and is kept only as a SHA-256 digest; a device token
opens that device's bookings and stream and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from calhub.domain.ids import CalendarId, DeviceId, TenantId

DEVICE_TOKEN_PREFIX = "chd"  # noqa: S105 - a prefix, not a secret


class DeviceKind(enum.StrEnum):
    ROOM = "room"  # a room system (RoomOS codec, panel) showing the room's bookings
    CLIENT = "client"  # a user's app showing the user's meetings


@dataclass(frozen=True, slots=True)
class Device:
    """``name`` may name a person ("Ana's laptop"): stored sealed, left out of the repr."""

    id: DeviceId
    tenant_id: TenantId
    calendar_id: CalendarId
    kind: DeviceKind
    name: str
    time_zone: str  # IANA; where "end of the day" is for the device's bookings window
    created_at: datetime
    last_seen_at: datetime | None = None

    def __repr__(self) -> str:
        return f"Device(id={self.id}, kind={self.kind.value}, calendar_id={self.calendar_id})"
