"""A tenant's join settings, one JSON document per tenant in ``join_settings``.

The document is ``calhub.domain.joinlinks.settings_json``'s: keywords, meeting backends, the join
block's header and footer. It holds no personal data, so it is stored in the clear (migration
0004). A tenant without a row has the defaults.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from calhub.domain.ids import TenantId
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.settings_json import settings_from_json, settings_to_json
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import join_settings


class JoinSettingsRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def get(self, tenant_id: TenantId) -> JoinSettings:
        """The tenant's settings; ``JoinSettings()`` when none were ever put."""
        document = (
            await self._scope.conn.execute(
                select(join_settings.c.settings).where(join_settings.c.tenant_id == tenant_id)
            )
        ).scalar_one_or_none()
        return JoinSettings() if document is None else settings_from_json(document)

    async def put(self, tenant_id: TenantId, settings: JoinSettings, now: datetime) -> None:
        """Replace the tenant's settings (or store its first)."""
        document = settings_to_json(settings)
        statement = insert(join_settings).values(
            tenant_id=tenant_id, settings=document, updated_at=now
        )
        await self._scope.conn.execute(
            statement.on_conflict_do_update(
                index_elements=[join_settings.c.tenant_id],
                set_={"settings": document, "updated_at": now},
            )
        )
