"""The outbox of domain events (``connection.disabled``, later ``meeting.*``).

Code that changes state adds an event in the same transaction, so an event exists exactly when
its change was committed; the API's event stream reads a tenant's events after an id, and
webhook delivery takes undelivered ones in order and marks them delivered. Payloads are plain
JSON: ids and states only, never personal data or secrets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update

from calhub.domain.ids import TenantId
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import outbox


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    tenant_id: TenantId
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime
    delivered_at: datetime | None = None


def _event(row: Row[Any]) -> OutboxEvent:
    return OutboxEvent(
        id=row.id,
        tenant_id=TenantId(row.tenant_id),
        kind=row.kind,
        payload=row.payload,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


class OutboxRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add(
        self, tenant_id: TenantId, kind: str, payload: Mapping[str, Any], now: datetime
    ) -> int:
        result = await self._scope.conn.execute(
            outbox.insert()
            .values(tenant_id=tenant_id, kind=kind, payload=dict(payload), created_at=now)
            .returning(outbox.c.id)
        )
        return int(result.scalar_one())

    async def list_after(
        self, tenant_id: TenantId, after_id: int, limit: int = 100
    ) -> list[OutboxEvent]:
        """The tenant's events with an id above ``after_id``, oldest first."""
        rows = await self._scope.conn.execute(
            select(outbox)
            .where(outbox.c.tenant_id == tenant_id, outbox.c.id > after_id)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [_event(row) for row in rows]

    async def undelivered(self, limit: int = 100) -> list[OutboxEvent]:
        """Every tenant's undelivered events, oldest first, locked against other deliverers."""
        rows = await self._scope.conn.execute(
            select(outbox)
            .where(outbox.c.delivered_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_event(row) for row in rows]

    async def mark_delivered(self, event_ids: Sequence[int], now: datetime) -> int:
        result = await self._scope.conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(list(event_ids)), outbox.c.delivered_at.is_(None))
            .values(delivered_at=now)
        )
        return result.rowcount
