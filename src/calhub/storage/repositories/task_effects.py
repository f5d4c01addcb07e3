"""Task effects: rows that background tasks write so the queue path can be seen end to end
(``calhub.services.pings``). Payloads are plain JSON: never put sensitive values in them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select

from calhub.domain.ids import TenantId
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import task_effects


@dataclass(frozen=True, slots=True)
class TaskEffect:
    id: int
    tenant_id: TenantId | None
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime


def _effect(row: Row[Any]) -> TaskEffect:
    return TaskEffect(
        id=row.id,
        tenant_id=None if row.tenant_id is None else TenantId(row.tenant_id),
        kind=row.kind,
        payload=row.payload,
        created_at=row.created_at,
    )


class TaskEffectRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add(
        self,
        tenant_id: TenantId | None,
        kind: str,
        payload: Mapping[str, Any],
        now: datetime | None = None,
    ) -> int:
        """Record an effect; ``now`` defaults to the database's transaction time."""
        result = await self._scope.conn.execute(
            task_effects.insert()
            .values(
                tenant_id=tenant_id,
                kind=kind,
                payload=dict(payload),
                created_at=func.now() if now is None else now,
            )
            .returning(task_effects.c.id)
        )
        return int(result.scalar_one())

    async def find(
        self, tenant_id: TenantId | None, kind: str, key: str, value: str
    ) -> Sequence[TaskEffect]:
        """The tenant's effects of ``kind`` whose payload has ``key`` equal to ``value``."""
        owner = (
            task_effects.c.tenant_id.is_(None)
            if tenant_id is None
            else task_effects.c.tenant_id == tenant_id
        )
        rows = await self._scope.conn.execute(
            select(task_effects)
            .where(owner, task_effects.c.kind == kind, task_effects.c.payload[key].astext == value)
            .order_by(task_effects.c.id)
        )
        return [_effect(row) for row in rows]

    async def list(
        self, *, kind: str | None = None, tenant_id: TenantId | None = None
    ) -> Sequence[TaskEffect]:
        query = select(task_effects).order_by(task_effects.c.id)
        if kind is not None:
            query = query.where(task_effects.c.kind == kind)
        if tenant_id is not None:
            query = query.where(task_effects.c.tenant_id == tenant_id)
        return [_effect(row) for row in await self._scope.conn.execute(query)]
