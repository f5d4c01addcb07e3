"""Connections to calendar systems and the calendars reached through them.

A ``Connection`` is one authorised link from a tenant to a provider account (a Microsoft 365
tenant, a Google Workspace domain, the in-memory fake); its credentials are held in a ``Secret``
so they never show up in a ``repr`` or a log line. A ``Calendar`` is one mailbox calendar or room
resource reached through a connection, with the provider's sync cursor, its room details and
whether it is in scope. ``CalendarSyncStatus`` is how a calendar's sync is doing (for the API and
metrics); a ``Subscription`` is the provider's change-notification subscription for a calendar.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calhub.domain.ids import CalendarId, ConnectionId, SubscriptionId, TenantId


@dataclass(frozen=True, slots=True)
class Secret:
    """A sensitive string (tokens, credentials JSON): hidden by ``repr``, read by ``reveal()``."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


class ProviderKind(enum.StrEnum):
    MSGRAPH = "msgraph"
    GOOGLE = "google"
    FAKE = "fake"


class ConnectionStatus(enum.StrEnum):
    CONSENT_PENDING = "consent_pending"  # created; the admin has not granted consent yet
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    CONSENT_REVOKED = "consent_revoked"  # consent withdrawn or app deleted; secrets purged
    DISABLED = "disabled"


class ScopeKind(enum.StrEnum):
    ALL_MAILBOXES = "all"
    MAILBOXES = "mailboxes"  # the addresses listed
    GROUP = "group"  # the members of one directory group


@dataclass(frozen=True, slots=True)
class MailboxScope:
    """Which mailboxes a connection syncs. Addresses are personal data: stored sealed."""

    kind: ScopeKind = ScopeKind.ALL_MAILBOXES
    mailboxes: tuple[str, ...] = ()
    group_id: str | None = None


class CalendarKind(enum.StrEnum):
    USER = "user"
    ROOM = "room"


@dataclass(frozen=True, slots=True)
class Connection:
    """``settings`` holds non-sensitive configuration only (tenant ids, scopes, base URLs)."""

    id: ConnectionId
    tenant_id: TenantId
    provider: ProviderKind
    status: ConnectionStatus
    credentials: Secret
    settings: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    provider_tenant_id: str | None = None  # e.g. the Microsoft tenant id, known after consent
    scope: MailboxScope = field(default_factory=MailboxScope)
    consented_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RoomDetails:
    """Directory facts about a room (not sensitive: the whole organisation can read them)."""

    capacity: int | None = None
    building: str | None = None
    floor_number: int | None = None
    floor_label: str | None = None
    bookable: bool = True


@dataclass(frozen=True, slots=True)
class Calendar:
    """``sync_cursor`` is the provider's delta token; None until the first full sync.

    ``missing_since`` is set when discovery no longer finds the calendar (kept with its
    history); ``out_of_scope_reason`` when the provider refuses access to the mailbox."""

    id: CalendarId
    tenant_id: TenantId
    connection_id: ConnectionId
    provider_calendar_id: str
    kind: CalendarKind
    owner_email: str
    name: str
    created_at: datetime
    updated_at: datetime
    sync_cursor: str | None = None
    last_synced_at: datetime | None = None
    room: RoomDetails | None = None
    missing_since: datetime | None = None
    out_of_scope_reason: str | None = None
    out_of_scope_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class CalendarSyncStatus:
    """How a calendar's sync is doing. ``lag_seconds`` is the time from the provider's change
    (as first reported) to the mirror, for the last applied change; ``last_error`` is a
    sentence without personal data."""

    calendar_id: CalendarId
    tenant_id: TenantId
    connection_id: ConnectionId
    kind: CalendarKind
    last_synced_at: datetime | None = None
    last_full_sync_at: datetime | None = None
    last_notification_at: datetime | None = None
    last_change_seen_at: datetime | None = None
    lag_seconds: float | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    missing_since: datetime | None = None
    out_of_scope_reason: str | None = None


class SubscriptionStatus(enum.StrEnum):
    ACTIVE = "active"
    REAUTHORIZATION_REQUIRED = "reauthorization_required"
    REMOVED = "removed"  # the provider dropped it: recreate and resync


@dataclass(frozen=True, slots=True)
class Subscription:
    """A provider change-notification subscription for one calendar. ``client_state`` is the
    random secret the provider echoes in every notification."""

    id: SubscriptionId
    tenant_id: TenantId
    calendar_id: CalendarId
    provider_subscription_id: str
    client_state: Secret
    expires_at: datetime
    created_at: datetime
    renewed_at: datetime | None = None
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
