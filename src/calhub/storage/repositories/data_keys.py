"""Tenants' data keys as a repository, so key changes follow the unit of work's transaction."""

from __future__ import annotations

from datetime import datetime

from calhub.domain.ids import TenantId
from calhub.storage.repositories.base import Scope


class DataKeyRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add_version(self, tenant_id: TenantId, now: datetime) -> int:
        """A new active data-key version for the tenant; returns it. Older versions stay."""
        version = await self._scope.keyring.create_data_key(self._scope.conn, tenant_id, now)
        self._scope.new_key_tenants.add(tenant_id)
        return version

    async def rewrap_all(self) -> int:
        """Re-wrap every data key not under the current KEK; returns how many changed."""
        return await self._scope.keyring.rewrap_all(self._scope.conn)
