"""Tenant-scoped API keys: issued once in plaintext, stored only as a hash.

A key reads ``chk_<key id hex>_<secret>``. The id part lets the hub find the row in one indexed
lookup; the secret has 256 bits of entropy, so one SHA-256 is enough to store it (no password
stretching needed) and ``hmac.compare_digest`` compares it in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from calhub.domain.clock import Clock
from calhub.domain.ids import ApiKeyId, TenantId, new_id
from calhub.domain.tenants import ApiKey
from calhub.storage.unit_of_work import UnitOfWorkFactory

PREFIX = "chk"


class InvalidApiKey(Exception):
    """The presented key is malformed, unknown, revoked or wrong."""


class UnknownTenant(LookupError):
    """No tenant has this id."""


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    key: ApiKey
    token: str  # shown once, never stored

    def __repr__(self) -> str:
        return f"IssuedApiKey(key_id={self.key.id}, token=[redacted])"


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split_token(token: str) -> tuple[ApiKeyId, str]:
    prefix, _, rest = token.partition("_")
    key_hex, _, secret = rest.partition("_")
    if prefix != PREFIX or not secret:
        raise InvalidApiKey("not a calhub API key")
    try:
        return ApiKeyId(uuid.UUID(hex=key_hex)), secret
    except ValueError as exc:
        raise InvalidApiKey("not a calhub API key") from exc


async def create_api_key(
    uow_factory: UnitOfWorkFactory, clock: Clock, tenant_id: TenantId, name: str
) -> IssuedApiKey:
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    key = ApiKey(
        id=ApiKeyId(new_id(now)),
        tenant_id=tenant_id,
        name=name,
        secret_hash=hash_secret(secret),
        created_at=now,
    )
    async with uow_factory() as uow:
        if await uow.tenants.get(tenant_id) is None:
            raise UnknownTenant(str(tenant_id))
        await uow.api_keys.add(key)
        await uow.commit()
    return IssuedApiKey(key=key, token=f"{PREFIX}_{key.id.hex}_{secret}")


async def authenticate(uow_factory: UnitOfWorkFactory, clock: Clock, token: str) -> ApiKey:
    """The key behind ``token``; raises ``InvalidApiKey`` otherwise."""
    key_id, secret = split_token(token)
    async with uow_factory() as uow:
        key = await uow.api_keys.get(key_id)
        if key is None or key.revoked_at is not None:
            raise InvalidApiKey("unknown or revoked API key")
        if not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
            raise InvalidApiKey("wrong API key")
        await uow.api_keys.mark_used(key.id, clock.now())
        await uow.commit()
    return key


async def revoke_api_key(
    uow_factory: UnitOfWorkFactory, clock: Clock, tenant_id: TenantId, key_id: ApiKeyId
) -> bool:
    async with uow_factory() as uow:
        revoked = await uow.api_keys.revoke(tenant_id, key_id, clock.now())
        await uow.commit()
    return revoked
