"""API keys, stored as hashes computed by ``calhub.services.apikeys``.

``get`` and ``mark_used`` take only the key id: authentication finds the key before it knows the
tenant, then checks the hash. Everything else is tenant-scoped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from calhub.domain.ids import ApiKeyId, TenantId
from calhub.domain.tenants import ApiKey
from calhub.storage.mappers import api_key_from_row, api_key_values
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import api_keys


class ApiKeyRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add(self, key: ApiKey) -> None:
        await self._scope.conn.execute(api_keys.insert().values(api_key_values(key)))

    async def get(self, key_id: ApiKeyId) -> ApiKey | None:
        """The key with this id in any tenant (for authentication only)."""
        row = (
            await self._scope.conn.execute(select(api_keys).where(api_keys.c.id == key_id))
        ).one_or_none()
        return None if row is None else api_key_from_row(row)

    async def mark_used(self, key_id: ApiKeyId, now: datetime) -> None:
        await self._scope.conn.execute(
            update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now)
        )

    async def revoke(self, tenant_id: TenantId, key_id: ApiKeyId, now: datetime) -> bool:
        """Revoke the tenant's key; False if it does not exist or was already revoked."""
        result = await self._scope.conn.execute(
            update(api_keys)
            .where(
                api_keys.c.tenant_id == tenant_id,
                api_keys.c.id == key_id,
                api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .returning(api_keys.c.id)
        )
        return result.first() is not None

    async def list_for_tenant(self, tenant_id: TenantId) -> Sequence[ApiKey]:
        rows = await self._scope.conn.execute(
            select(api_keys).where(api_keys.c.tenant_id == tenant_id).order_by(api_keys.c.id)
        )
        return [api_key_from_row(row) for row in rows]
