"""``/api/v1/tenant``: who the presented API key belongs to."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.problems import Problem
from calhub.services.tenants import get_tenant

router = APIRouter(prefix="/api/v1", tags=["tenant"])


class TenantOut(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    api_key_id: UUID
    api_key_name: str


@router.get("/tenant", response_model=TenantOut, summary="The tenant of the calling API key")
async def read_tenant(runtime: RuntimeDep, api_key: ApiKeyDep) -> TenantOut:
    tenant = await get_tenant(runtime.uow, api_key.tenant_id)
    if tenant is None:
        raise Problem("not-found", "The key's tenant no longer exists.")
    return TenantOut(
        id=tenant.id,
        name=tenant.name,
        created_at=tenant.created_at,
        api_key_id=api_key.id,
        api_key_name=api_key.name,
    )
