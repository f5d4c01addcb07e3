"""Tenants: the unit of isolation. Creating one also creates its data key (in storage)."""

from __future__ import annotations

from calhub.domain.clock import Clock
from calhub.domain.ids import TenantId, new_id
from calhub.domain.tenants import Tenant
from calhub.storage.unit_of_work import UnitOfWorkFactory


class InvalidTenantName(ValueError):
    """Tenant names are 1 to 200 printable characters."""


async def create_tenant(uow_factory: UnitOfWorkFactory, clock: Clock, name: str) -> Tenant:
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise InvalidTenantName("a tenant name is 1 to 200 printable characters")
    now = clock.now()
    tenant = Tenant(id=TenantId(new_id(now)), name=name, created_at=now)
    async with uow_factory() as uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    return tenant


async def list_tenants(uow_factory: UnitOfWorkFactory) -> list[Tenant]:
    async with uow_factory() as uow:
        return list(await uow.tenants.list())


async def get_tenant(uow_factory: UnitOfWorkFactory, tenant_id: TenantId) -> Tenant | None:
    async with uow_factory() as uow:
        return await uow.tenants.get(tenant_id)
