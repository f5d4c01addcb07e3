"""The keyring: each tenant's data keys, stored wrapped in ``tenant_keys`` and cached unwrapped.

``Keyring(provider)`` is built once per process. Repositories ask it for a tenant's
``TenantKeys`` on their unit of work's connection (``await keyring.for_tenant(conn, tenant_id)``);
unwrapped keys are cached, and reloaded when a ciphertext names a version the cache lacks (another
process rotated). ``create_data_key`` adds a new version and makes it active (the first one when a
tenant is created); ``rewrap_all`` re-wraps every stored data key under the provider's current KEK.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from calhub.storage.crypto.errors import UnknownKeyVersion
from calhub.storage.crypto.fields import TenantKeys, derive_index_key, key_version_of
from calhub.storage.crypto.providers import KeyProvider
from calhub.storage.tables import tenant_keys

DATA_KEY_BYTES = 32


def wrap_associated_data(tenant_id: uuid.UUID, version: int) -> bytes:
    """Binds a wrapped data key to its tenant and version."""
    return b"calhub data key v1\x1f" + tenant_id.bytes + version.to_bytes(4, "big")


class Keyring:
    def __init__(self, provider: KeyProvider) -> None:
        self._provider = provider
        self._cache: dict[uuid.UUID, TenantKeys] = {}

    def __repr__(self) -> str:
        return f"Keyring({self._provider!r}, cached_tenants={len(self._cache)})"

    @property
    def provider(self) -> KeyProvider:
        return self._provider

    def forget(self, tenant_id: uuid.UUID) -> None:
        """Drop a tenant's cached keys (after a rollback that may have created some)."""
        self._cache.pop(tenant_id, None)

    async def for_tenant(
        self, conn: AsyncConnection, tenant_id: uuid.UUID, blobs: Iterable[bytes | None] = ()
    ) -> TenantKeys:
        """The tenant's keys, able to open every one of ``blobs`` (reloading if needed)."""
        keys = self._cache.get(tenant_id)
        needed = {key_version_of(blob) for blob in blobs if blob is not None}
        if keys is None or not needed.issubset(keys.keys):
            keys = await self._load(conn, tenant_id)
            self._cache[tenant_id] = keys
        return keys

    async def _load(self, conn: AsyncConnection, tenant_id: uuid.UUID) -> TenantKeys:
        rows = (
            await conn.execute(
                select(
                    tenant_keys.c.version,
                    tenant_keys.c.wrapped_key,
                    tenant_keys.c.kek_version,
                    tenant_keys.c.active,
                ).where(tenant_keys.c.tenant_id == tenant_id)
            )
        ).all()
        if not rows:
            raise UnknownKeyVersion(f"tenant {tenant_id} has no data key")
        keys = {
            row.version: self._provider.unwrap(
                row.wrapped_key,
                version=row.kek_version,
                associated_data=wrap_associated_data(tenant_id, row.version),
            )
            for row in rows
        }
        active = next((row.version for row in rows if row.active), max(keys))
        return TenantKeys(
            tenant_id=tenant_id,
            active_version=active,
            keys=keys,
            index_key=derive_index_key(keys[min(keys)], tenant_id),
        )

    async def create_data_key(
        self, conn: AsyncConnection, tenant_id: uuid.UUID, now: datetime
    ) -> int:
        """Store a new data-key version for the tenant, make it active; returns the version."""
        current = (
            await conn.execute(
                select(tenant_keys.c.version)
                .where(tenant_keys.c.tenant_id == tenant_id)
                .order_by(tenant_keys.c.version.desc())
                .limit(1)
                .with_for_update()
            )
        ).scalar_one_or_none()
        version = (current or 0) + 1
        await conn.execute(
            update(tenant_keys)
            .where(tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.active)
            .values(active=False)
        )
        await conn.execute(
            tenant_keys.insert().values(
                tenant_id=tenant_id,
                version=version,
                wrapped_key=self._provider.wrap(
                    secrets.token_bytes(DATA_KEY_BYTES),
                    associated_data=wrap_associated_data(tenant_id, version),
                ),
                kek_id=self._provider.key_id,
                kek_version=self._provider.version,
                created_at=now,
                active=True,
            )
        )
        self.forget(tenant_id)
        return version

    async def rewrap_all(self, conn: AsyncConnection) -> int:
        """Re-wrap every data key not yet under the current KEK; returns how many changed."""
        rows = (
            await conn.execute(
                select(
                    tenant_keys.c.tenant_id,
                    tenant_keys.c.version,
                    tenant_keys.c.wrapped_key,
                    tenant_keys.c.kek_id,
                    tenant_keys.c.kek_version,
                ).with_for_update()
            )
        ).all()
        changed = 0
        for row in rows:
            if row.kek_id == self._provider.key_id and row.kek_version == self._provider.version:
                continue
            aad = wrap_associated_data(row.tenant_id, row.version)
            data_key = self._provider.unwrap(
                row.wrapped_key, version=row.kek_version, associated_data=aad
            )
            await conn.execute(
                update(tenant_keys)
                .where(
                    tenant_keys.c.tenant_id == row.tenant_id,
                    tenant_keys.c.version == row.version,
                )
                .values(
                    wrapped_key=self._provider.wrap(data_key, associated_data=aad),
                    kek_id=self._provider.key_id,
                    kek_version=self._provider.version,
                )
            )
            changed += 1
        return changed
