"""Outbox events as the messages subscribers receive (docs/feeds.md, "Messages").

Both the server-sent-events stream and outbound webhooks send the same envelope, shaped like
Standard Webhooks' payload (type, timestamp, data)::

    {"type": "obtp.join", "timestamp": "2026-01-05T09:00:00Z",
     "data": {...the event's payload..., ...what rendering adds...}}

The outbox holds ids and states only; rendering adds what a subscriber needs and the outbox
must not hold in the clear, read (and decrypted) at send time:

- ``obtp.join`` / ``obtp.withdrawn``: ``booking``, the RoomOS Bookings record the join prompt
  snapshotted (``uow.join_prompts.snapshots``); left out if the prompt is gone.
- ``presence.changed``: ``email``, the address of the calendar's owner; left out if the
  calendar is gone.

Every other kind (``meeting.*``, ``connection.*``, ``webhook_endpoint.disabled``) is sent as
its payload. ``FeedMessage.body`` is the exact JSON text sent (compact, one line), so an SSE
``data:`` line and a signed webhook body are the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from calhub.domain.ids import CalendarId, TenantId, parse_id
from calhub.storage.repositories.outbox import OutboxEvent
from calhub.storage.unit_of_work import UnitOfWork

JOIN_PROMPT_KINDS: Final = frozenset({"obtp.join", "obtp.withdrawn"})
PRESENCE_CHANGED: Final = "presence.changed"
ENDPOINT_DISABLED: Final = "webhook_endpoint.disabled"


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One event as sent; ``body`` may hold personal data (a booking, an address)."""

    event_id: int
    type: str
    body: str = field(repr=False)


def timestamp_text(at: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as Standard Webhooks' examples write it."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _envelope(event: OutboxEvent, additions: Mapping[str, Any]) -> str:
    envelope = {
        "type": event.kind,
        "timestamp": timestamp_text(event.created_at),
        "data": {**event.payload, **additions},
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def _prompt_id(event: OutboxEvent) -> int | None:
    if event.kind not in JOIN_PROMPT_KINDS:
        return None
    prompt_id = event.payload.get("prompt_id")
    return prompt_id if isinstance(prompt_id, int) else None


def _calendar_id(event: OutboxEvent) -> CalendarId | None:
    if event.kind != PRESENCE_CHANGED:
        return None
    try:
        return CalendarId(parse_id(str(event.payload.get("calendar_id"))))
    except ValueError:
        return None


async def _bookings(
    uow: UnitOfWork, tenant_id: TenantId, events: Sequence[OutboxEvent]
) -> dict[int, dict[str, Any]]:
    prompt_ids = sorted({i for i in map(_prompt_id, events) if i is not None})
    return await uow.join_prompts.snapshots(tenant_id, prompt_ids) if prompt_ids else {}


async def _owner_emails(
    uow: UnitOfWork, tenant_id: TenantId, events: Sequence[OutboxEvent]
) -> dict[CalendarId, str]:
    emails: dict[CalendarId, str] = {}
    for calendar_id in {i for i in map(_calendar_id, events) if i is not None}:
        calendar = await uow.calendars.get(tenant_id, calendar_id)
        if calendar is not None:
            emails[calendar_id] = calendar.owner_email
    return emails


async def render_messages(
    uow: UnitOfWork, tenant_id: TenantId, events: Sequence[OutboxEvent]
) -> list[FeedMessage]:
    """The tenant's ``events`` as messages, in the order given."""
    bookings = await _bookings(uow, tenant_id, events)
    emails = await _owner_emails(uow, tenant_id, events)
    messages = []
    for event in events:
        additions: dict[str, Any] = {}
        prompt_id, calendar_id = _prompt_id(event), _calendar_id(event)
        if prompt_id is not None and prompt_id in bookings:
            additions["booking"] = bookings[prompt_id]
        if calendar_id is not None and calendar_id in emails:
            additions["email"] = emails[calendar_id]
        messages.append(FeedMessage(event.id, event.kind, _envelope(event, additions)))
    return messages
