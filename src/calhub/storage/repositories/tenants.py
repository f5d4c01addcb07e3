"""Tenants; adding one also creates its first data key."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from calhub.domain.ids import TenantId
from calhub.domain.tenants import Tenant
from calhub.storage.mappers import tenant_from_row, tenant_values
from calhub.storage.repositories.base import Scope
from calhub.storage.repositories.data_keys import DataKeyRepository
from calhub.storage.tables import tenants


class TenantRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add(self, tenant: Tenant) -> None:
        await self._scope.conn.execute(tenants.insert().values(tenant_values(tenant)))
        await DataKeyRepository(self._scope).add_version(tenant.id, tenant.created_at)

    async def get(self, tenant_id: TenantId) -> Tenant | None:
        row = (
            await self._scope.conn.execute(select(tenants).where(tenants.c.id == tenant_id))
        ).one_or_none()
        return None if row is None else tenant_from_row(row)

    async def list(self) -> Sequence[Tenant]:
        rows = await self._scope.conn.execute(select(tenants).order_by(tenants.c.created_at))
        return [tenant_from_row(row) for row in rows]

    async def list_ids(self) -> Sequence[TenantId]:
        rows = await self._scope.conn.execute(select(tenants.c.id).order_by(tenants.c.id))
        return [TenantId(row.id) for row in rows]
