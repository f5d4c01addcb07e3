"""Identifiers: typed UUIDs, so a calendar id can never be passed where an event id is wanted.

``new_id`` uses UUIDv7-style time ordering (48-bit millisecond timestamp, then randomness) so
primary keys stay index-friendly; the time comes from the injected clock, the randomness from
``secrets``.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import NewType

TenantId = NewType("TenantId", uuid.UUID)
ApiKeyId = NewType("ApiKeyId", uuid.UUID)
ConnectionId = NewType("ConnectionId", uuid.UUID)
CalendarId = NewType("CalendarId", uuid.UUID)
EventId = NewType("EventId", uuid.UUID)
OccurrenceId = NewType("OccurrenceId", uuid.UUID)
SubscriptionId = NewType("SubscriptionId", uuid.UUID)
DeviceId = NewType("DeviceId", uuid.UUID)
WebhookEndpointId = NewType("WebhookEndpointId", uuid.UUID)


def new_id(now: datetime) -> uuid.UUID:
    """A fresh time-ordered UUID (version 7 layout, RFC 9562 section 5.7) stamped with ``now``."""
    if now.tzinfo is None or now.utcoffset() is None:
        # A naive datetime's timestamp() silently assumes the host's zone.
        raise ValueError(f"new_id needs a timezone-aware datetime, got {now.isoformat()}")
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    rand_a, rand_b = rand >> 62, rand & ((1 << 62) - 1)  # 12 + 62 random bits
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def parse_id(text: str) -> uuid.UUID:
    """Parse an id from its canonical text; raises ``ValueError`` for anything else."""
    return uuid.UUID(text)
