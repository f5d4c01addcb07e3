"""A tenant's meeting settings, one JSON document per tenant in ``meeting_settings``.

The document is ``calhub.domain.meetings.settings_json``'s: the join-prompt lead time and its
per-room overrides. It holds no personal data, so it is stored in the clear (migration 0005). A
tenant without a row has the defaults.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from calhub.domain.ids import TenantId
from calhub.domain.meetings.settings import MeetingSettings
from calhub.domain.meetings.settings_json import settings_from_json, settings_to_json
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import meeting_settings


class MeetingSettingsRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def get(self, tenant_id: TenantId) -> MeetingSettings:
        """The tenant's settings; ``MeetingSettings()`` when none were ever put."""
        document = (
            await self._scope.conn.execute(
                select(meeting_settings.c.settings).where(meeting_settings.c.tenant_id == tenant_id)
            )
        ).scalar_one_or_none()
        return MeetingSettings() if document is None else settings_from_json(document)

    async def put(self, tenant_id: TenantId, settings: MeetingSettings, now: datetime) -> None:
        """Replace the tenant's settings (or store its first)."""
        document = settings_to_json(settings)
        statement = insert(meeting_settings).values(
            tenant_id=tenant_id, settings=document, updated_at=now
        )
        await self._scope.conn.execute(
            statement.on_conflict_do_update(
                index_elements=[meeting_settings.c.tenant_id],
                set_={"settings": document, "updated_at": now},
            )
        )
