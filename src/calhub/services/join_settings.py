"""A tenant's join settings: read them, replace them with a checked document (issue 5, "Meetings
for keyword invites" and "Write-back"; the document is ``calhub.domain.joinlinks.settings_json``'s).

    settings = await get_join_settings(uow_factory, tenant_id)
    settings = await set_join_settings(uow_factory, tenant_id, document, clock.now())

A document that cannot be used raises ``InvalidJoinSettings`` naming the field and why, and
nothing is stored; a tenant id that does not exist raises ``UnknownTenant``.
"""

from __future__ import annotations

from datetime import datetime

from calhub.domain.ids import TenantId
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.settings_json import InvalidJoinSetting, settings_from_json
from calhub.services.apikeys import UnknownTenant
from calhub.storage.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["InvalidJoinSettings", "UnknownTenant", "get_join_settings", "set_join_settings"]


class InvalidJoinSettings(ValueError):
    """A join-settings document that cannot be used: ``location`` is the field's path in the
    document (``("keywords", 2, "backend")``; empty for the document itself), ``reason`` says why.
    """

    def __init__(self, location: tuple[str | int, ...], reason: str, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.reason = reason


async def get_join_settings(uow_factory: UnitOfWorkFactory, tenant_id: TenantId) -> JoinSettings:
    """The tenant's settings, the defaults if it never set any."""
    async with uow_factory.reading() as uow:
        await _require_tenant(uow, tenant_id)
        return await uow.join_settings.get(tenant_id)


async def set_join_settings(
    uow_factory: UnitOfWorkFactory, tenant_id: TenantId, document: object, now: datetime
) -> JoinSettings:
    """Replace the tenant's settings with ``document`` (parsed JSON; absent fields take their
    defaults) and return what is stored."""
    try:
        settings = settings_from_json(document)
    except InvalidJoinSetting as exc:
        raise InvalidJoinSettings(exc.location, exc.reason, str(exc)) from exc
    async with uow_factory() as uow:
        await _require_tenant(uow, tenant_id)
        await uow.join_settings.put(tenant_id, settings, now)
        await uow.commit()
    return settings


async def _require_tenant(uow: UnitOfWork, tenant_id: TenantId) -> None:
    if await uow.tenants.get(tenant_id) is None:
        raise UnknownTenant(str(tenant_id))
