"""Connections to provider accounts; credentials are sealed, settings are plain JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update

from calhub.domain.calendars import Connection, ConnectionStatus, Secret
from calhub.domain.ids import ConnectionId, TenantId
from calhub.storage.mappers import connection_from_row, connection_values
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import connections


class ConnectionRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def add(self, connection: Connection) -> None:
        keys = await self._scope.keys(connection.tenant_id)
        await self._scope.conn.execute(
            connections.insert().values(connection_values(connection, keys))
        )

    async def get(self, tenant_id: TenantId, connection_id: ConnectionId) -> Connection | None:
        row = (
            await self._scope.conn.execute(
                select(connections).where(
                    connections.c.tenant_id == tenant_id, connections.c.id == connection_id
                )
            )
        ).one_or_none()
        if row is None:
            return None
        return connection_from_row(row, await self._scope.keys(tenant_id, [row.credentials]))

    async def list(self, tenant_id: TenantId) -> Sequence[Connection]:
        rows = (
            await self._scope.conn.execute(
                select(connections)
                .where(connections.c.tenant_id == tenant_id)
                .order_by(connections.c.id)
            )
        ).all()
        keys = await self._scope.keys(tenant_id, [row.credentials for row in rows])
        return [connection_from_row(row, keys) for row in rows]

    async def set_status(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        status: ConnectionStatus,
        now: datetime,
    ) -> bool:
        result = await self._scope.conn.execute(
            update(connections)
            .where(connections.c.tenant_id == tenant_id, connections.c.id == connection_id)
            .values(status=status.value, updated_at=now)
            .returning(connections.c.id)
        )
        return result.first() is not None

    async def set_credentials(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        credentials: Secret,
        now: datetime,
    ) -> bool:
        keys = await self._scope.keys(tenant_id)
        sealed = keys.seal(
            credentials.reveal(), table="connections", column="credentials", row_id=connection_id
        )
        result = await self._scope.conn.execute(
            update(connections)
            .where(connections.c.tenant_id == tenant_id, connections.c.id == connection_id)
            .values(credentials=sealed.blob, updated_at=now)
            .returning(connections.c.id)
        )
        return result.first() is not None

    async def delete(self, tenant_id: TenantId, connection_id: ConnectionId) -> bool:
        """Delete the connection with its calendars, events and occurrences."""
        result = await self._scope.conn.execute(
            delete(connections)
            .where(connections.c.tenant_id == tenant_id, connections.c.id == connection_id)
            .returning(connections.c.id)
        )
        return result.first() is not None
