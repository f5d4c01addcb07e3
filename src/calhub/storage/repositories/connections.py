"""Connections to provider accounts: credentials, the mailbox scope and the token cache are
sealed (docs/foundation.md, "Encryption at rest"); settings and the provider's tenant id are plain.

The token cache is kept apart from ``Connection`` so it is read only by the code that needs it;
``purge_credentials`` (consent revoked, app deleted) overwrites the credentials with a sealed
empty value and drops the cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update

from calhub.domain.calendars import Connection, ConnectionStatus, MailboxScope, Secret
from calhub.domain.ids import ConnectionId, TenantId
from calhub.storage.mappers import connection_from_row, connection_values, scope_json
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
        keys = await self._scope.keys(tenant_id, [row.credentials, row.scope])
        return connection_from_row(row, keys)

    async def list(self, tenant_id: TenantId) -> Sequence[Connection]:
        rows = (
            await self._scope.conn.execute(
                select(connections)
                .where(connections.c.tenant_id == tenant_id)
                .order_by(connections.c.id)
            )
        ).all()
        keys = await self._scope.keys(
            tenant_id, [blob for row in rows for blob in (row.credentials, row.scope)]
        )
        return [connection_from_row(row, keys) for row in rows]

    async def active(self) -> Sequence[tuple[TenantId, ConnectionId]]:
        """Every tenant's active connections (for periodic jobs), without opening secrets."""
        rows = await self._scope.conn.execute(
            select(connections.c.tenant_id, connections.c.id)
            .where(connections.c.status == ConnectionStatus.ACTIVE.value)
            .order_by(connections.c.tenant_id, connections.c.id)
        )
        return [(TenantId(row.tenant_id), ConnectionId(row.id)) for row in rows]

    async def count_by_status(self) -> dict[ConnectionStatus, int]:
        """How many connections are in each status, across tenants (metrics export)."""
        rows = await self._scope.conn.execute(
            select(connections.c.status, func.count()).group_by(connections.c.status)
        )
        return {ConnectionStatus(row[0]): int(row[1]) for row in rows}

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

    async def _update(
        self, tenant_id: TenantId, connection_id: ConnectionId, **values: object
    ) -> bool:
        result = await self._scope.conn.execute(
            update(connections)
            .where(connections.c.tenant_id == tenant_id, connections.c.id == connection_id)
            .values(**values)
            .returning(connections.c.id)
        )
        return result.first() is not None

    async def record_consent(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        provider_tenant_id: str,
        now: datetime,
    ) -> bool:
        """The admin granted consent for ``provider_tenant_id``: the connection becomes active."""
        return await self._update(
            tenant_id,
            connection_id,
            status=ConnectionStatus.ACTIVE.value,
            provider_tenant_id=provider_tenant_id,
            consented_at=now,
            updated_at=now,
        )

    async def set_scope(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        scope: MailboxScope,
        now: datetime,
    ) -> bool:
        keys = await self._scope.keys(tenant_id)
        sealed = keys.seal(
            scope_json(scope), table="connections", column="scope", row_id=connection_id
        )
        return await self._update(tenant_id, connection_id, scope=sealed.blob, updated_at=now)

    async def purge_credentials(
        self, tenant_id: TenantId, connection_id: ConnectionId, now: datetime
    ) -> bool:
        """Overwrite the stored secret with a sealed empty value and drop cached tokens."""
        keys = await self._scope.keys(tenant_id)
        empty = keys.seal("", table="connections", column="credentials", row_id=connection_id)
        return await self._update(
            tenant_id, connection_id, credentials=empty.blob, token_cache=None, updated_at=now
        )

    async def save_token_cache(
        self, tenant_id: TenantId, connection_id: ConnectionId, cache: Secret | None
    ) -> bool:
        """Store the serialised token cache (None clears it); does not count as an update."""
        keys = await self._scope.keys(tenant_id)
        sealed = (
            None
            if cache is None
            else keys.seal(
                cache.reveal(), table="connections", column="token_cache", row_id=connection_id
            ).blob
        )
        return await self._update(tenant_id, connection_id, token_cache=sealed)

    async def load_token_cache(
        self, tenant_id: TenantId, connection_id: ConnectionId
    ) -> Secret | None:
        blob = (
            await self._scope.conn.execute(
                select(connections.c.token_cache).where(
                    connections.c.tenant_id == tenant_id, connections.c.id == connection_id
                )
            )
        ).scalar_one_or_none()
        if blob is None:
            return None
        keys = await self._scope.keys(tenant_id, [blob])
        return Secret(
            keys.open(blob, table="connections", column="token_cache", row_id=connection_id)
        )

    async def delete(self, tenant_id: TenantId, connection_id: ConnectionId) -> bool:
        """Delete the connection with its calendars, events and occurrences."""
        result = await self._scope.conn.execute(
            delete(connections)
            .where(connections.c.tenant_id == tenant_id, connections.c.id == connection_id)
            .returning(connections.c.id)
        )
        return result.first() is not None
