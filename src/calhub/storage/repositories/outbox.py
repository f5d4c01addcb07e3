"""The outbox of domain events (``connection.disabled``, ``obtp.join``, ``meeting.*``, ...).

Code that changes state adds an event in the same transaction, so an event exists exactly when
its change was committed. An event may name the one device it is for (``device_id``: a join
prompt, a device's bookings changing); a device's stream reads only those. Payloads are plain
JSON: ids and states only, never personal data or secrets (docs/feeds.md, "Events").

Every ``add``/``add_many`` also runs ``NOTIFY calhub_outbox, '<tenant id>'`` in the same
transaction: PostgreSQL delivers it when (and only if) the transaction commits, so the API
processes' listeners wake the tenant's streams the moment its events are visible.

Two readers: the API's event stream reads a tenant's (or a device's) events after an id
(``list_after``; ``ids_after`` first, so a stream that re-reads a settling window fetches only
what it has not sent yet), and webhook fan-out takes events not fanned out yet in order
(``undelivered``, locked with ``SKIP LOCKED`` against other workers) and marks them
(``mark_delivered``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, func, literal, select, update

from calhub.domain.ids import DeviceId, TenantId
from calhub.storage.repositories.base import Scope, column_arrays, unnested_rows
from calhub.storage.tables import outbox

OUTBOX_CHANNEL: Final = "calhub_outbox"
"""The NOTIFY channel; the payload is the tenant id whose events were committed."""

OutboxRow = tuple[str, Mapping[str, Any], DeviceId | None]
"""What ``add_many`` takes per event: kind, payload, the device it is for (or None)."""


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    tenant_id: TenantId
    kind: str
    payload: Mapping[str, Any]
    created_at: datetime
    delivered_at: datetime | None = None  # fanned out to the tenant's webhook endpoints
    device_id: DeviceId | None = None


def _event(row: Row[Any]) -> OutboxEvent:
    return OutboxEvent(
        id=row.id,
        tenant_id=TenantId(row.tenant_id),
        kind=row.kind,
        payload=row.payload,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        device_id=None if row.device_id is None else DeviceId(row.device_id),
    )


_NEW_COLUMNS = ("kind", "payload", "device_id")


class OutboxRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def notify(self, tenant_id: TenantId) -> None:
        """Wake the tenant's streams when the transaction commits (once per transaction, however
        often it is called). ``add``/``add_many`` call it; code inserting events in a statement
        of its own (firing join prompts) calls it itself."""
        await self._scope.conn.execute(select(func.pg_notify(OUTBOX_CHANNEL, str(tenant_id))))

    async def add(
        self,
        tenant_id: TenantId,
        kind: str,
        payload: Mapping[str, Any],
        now: datetime,
        device_id: DeviceId | None = None,
    ) -> int:
        result = await self._scope.conn.execute(
            outbox.insert()
            .values(
                tenant_id=tenant_id,
                kind=kind,
                payload=dict(payload),
                created_at=now,
                device_id=device_id,
            )
            .returning(outbox.c.id)
        )
        event_id = int(result.scalar_one())
        await self.notify(tenant_id)
        return event_id

    async def add_many(
        self, tenant_id: TenantId, rows: Sequence[OutboxRow], now: datetime
    ) -> list[int]:
        """Add every event in one statement; their ids, in the order of ``rows``."""
        if not rows:
            return []
        wanted = unnested_rows(outbox, _NEW_COLUMNS).cte("wanted")
        # unnest yields the rows in the order given, and the sequence numbers them in that order.
        statement = (
            outbox.insert()
            .from_select(
                ["tenant_id", "kind", "payload", "device_id", "created_at"],
                select(
                    literal(tenant_id).label("tenant_id"),
                    wanted.c.kind,
                    wanted.c.payload,
                    wanted.c.device_id,
                    literal(now).label("created_at"),
                ),
            )
            .returning(outbox.c.id)
        )
        values = [
            {"kind": kind, "payload": dict(payload), "device_id": device_id}
            for kind, payload, device_id in rows
        ]
        result = await self._scope.conn.execute(statement, column_arrays(values, _NEW_COLUMNS))
        ids = sorted(int(event_id) for event_id in result.scalars())
        await self.notify(tenant_id)
        return ids

    @staticmethod
    def _readable_by(tenant_id: TenantId, device_id: DeviceId | None) -> ColumnElement[bool]:
        where = outbox.c.tenant_id == tenant_id
        if device_id is not None:
            where = where & (outbox.c.device_id == device_id)
        return where

    async def list_after(
        self,
        tenant_id: TenantId,
        after_id: int,
        *,
        device_id: DeviceId | None = None,
        limit: int = 100,
    ) -> list[OutboxEvent]:
        """The tenant's events (only ``device_id``'s if given) with an id above ``after_id``,
        oldest first."""
        rows = await self._scope.conn.execute(
            select(outbox)
            .where(self._readable_by(tenant_id, device_id), outbox.c.id > after_id)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [_event(row) for row in rows]

    async def ids_after(
        self,
        tenant_id: TenantId,
        after_id: int,
        *,
        device_id: DeviceId | None = None,
        limit: int = 1000,
    ) -> list[int]:
        """The ids ``list_after`` would return (up to ``limit``), read from the index only."""
        rows = await self._scope.conn.execute(
            select(outbox.c.id)
            .where(self._readable_by(tenant_id, device_id), outbox.c.id > after_id)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [int(event_id) for event_id in rows.scalars()]

    async def last_id(self, tenant_id: TenantId, *, device_id: DeviceId | None = None) -> int:
        """The newest event id the tenant (or device) can read; 0 when there is none."""
        result = await self._scope.conn.execute(
            select(func.max(outbox.c.id)).where(self._readable_by(tenant_id, device_id))
        )
        return int(result.scalar_one() or 0)

    async def get_many(self, tenant_id: TenantId, event_ids: Sequence[int]) -> list[OutboxEvent]:
        """The tenant's events among ``event_ids``, oldest first."""
        if not event_ids:
            return []
        rows = await self._scope.conn.execute(
            select(outbox)
            .where(outbox.c.tenant_id == tenant_id, outbox.c.id.in_(list(event_ids)))
            .order_by(outbox.c.id)
        )
        return [_event(row) for row in rows]

    async def undelivered(self, limit: int = 100) -> list[OutboxEvent]:
        """Every tenant's events not fanned out yet, oldest first, locked against other
        workers until this unit of work ends."""
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
