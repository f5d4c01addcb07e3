"""Tenants and their API keys.

A tenant is the unit of isolation: every calendar, event and key belongs to exactly one. An API
key is stored as a hash of its secret; the plaintext is shown once when it is issued
(``calhub.services.apikeys``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calhub.domain.ids import ApiKeyId, TenantId


@dataclass(frozen=True, slots=True)
class Tenant:
    id: TenantId
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A tenant's API key. ``secret_hash`` is computed by the service; never the secret itself."""

    id: ApiKeyId
    tenant_id: TenantId
    name: str
    secret_hash: bytes
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def __repr__(self) -> str:
        # The hash is not the secret, but it has no business in logs either.
        return (
            f"ApiKey(id={self.id}, tenant_id={self.tenant_id}, name={self.name!r}, "
            f"revoked={self.revoked_at is not None})"
        )

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
