"""Key rotation, as ``calhub keys rotate`` runs it.

- ``rewrap_data_keys``: re-wrap every tenant's data keys under the provider's current KEK (after
  ``LocalKeyFileProvider.rotate()`` or a new ``CALHUB_MASTER_KEY`` given with the old one as
  ``previous``). Data keys and therefore all ciphertexts stay the same.
- ``rotate_data_keys``: give tenants a new data-key version for new writes; values sealed under
  older versions stay readable because each ciphertext names its version.
- ``rotate_keys``: both steps, optionally creating a new KEK version first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from calhub.domain.ids import TenantId
from calhub.storage.unit_of_work import UnitOfWorkFactory


@runtime_checkable
class RotatableKeyProvider(Protocol):
    def rotate(self) -> int:
        """Create a new KEK version, make it current and return it."""
        ...


class KekNotRotatable(Exception):
    """The configured key provider cannot create KEK versions (e.g. a key given by setting)."""


@dataclass(frozen=True, slots=True)
class RotationReport:
    kek_version: int
    rewrapped: int
    created: int
    """New data-key versions created (one per tenant when asked)."""


async def rewrap_data_keys(uow_factory: UnitOfWorkFactory) -> int:
    """Re-wrap data keys not under the current KEK; returns how many were re-wrapped."""
    async with uow_factory() as uow:
        changed = await uow.data_keys.rewrap_all()
        await uow.commit()
    return changed


async def rotate_data_keys(
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    tenant_ids: Sequence[TenantId] | None = None,
) -> int:
    """Add a new active data-key version for each tenant (all if None); returns the count."""
    async with uow_factory() as uow:
        targets = list(tenant_ids) if tenant_ids is not None else await uow.tenants.list_ids()
        for tenant_id in targets:
            await uow.data_keys.add_version(tenant_id, now)
        await uow.commit()
    return len(targets)


async def rotate_keys(
    uow_factory: UnitOfWorkFactory,
    now: datetime,
    *,
    new_kek: bool = False,
    new_data_keys: bool = False,
) -> RotationReport:
    """Optionally create a new KEK version, re-wrap all data keys, optionally add data keys."""
    provider = uow_factory.keyring.provider
    if new_kek:
        if not isinstance(provider, RotatableKeyProvider):
            raise KekNotRotatable(
                "this key provider cannot create a new key version; set a new "
                "CALHUB_MASTER_KEY with the old one kept as a previous version instead"
            )
        provider.rotate()
    rewrapped = await rewrap_data_keys(uow_factory)
    added = await rotate_data_keys(uow_factory, now) if new_data_keys else 0
    return RotationReport(kek_version=provider.version, rewrapped=rewrapped, created=added)
