"""Connections to calendar systems and the calendars reached through them.

A ``Connection`` is one authorised link from a tenant to a provider account (a Microsoft 365
tenant, a Google Workspace domain, the in-memory fake); its credentials are held in a ``Secret``
so they never show up in a ``repr`` or a log line. A ``Calendar`` is one mailbox calendar or room
resource reached through a connection, with the provider's sync cursor.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calhub.domain.ids import CalendarId, ConnectionId, TenantId


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
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    DISABLED = "disabled"


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


@dataclass(frozen=True, slots=True)
class Calendar:
    """``sync_cursor`` is the provider's delta token; None until the first full sync."""

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
