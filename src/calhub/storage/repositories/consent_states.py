"""Single-use, expiring ``state`` values for the admin-consent round trip (issue 4, "Connect").

``issue`` makes a state ``<tenant>.<nonce>.<signature>``: 32 random bytes, signed with the
tenant's keyed-index key (HMAC-SHA-256, truncated to 128 bits), so a forged or altered state is
refused before any row is looked at. Only the SHA-256 digest of a state is stored: the state
travels through the admin's browser, so a copy of the database gives nobody a usable one.
``consume`` runs one
``UPDATE ... WHERE used_at IS NULL AND expires_at > now RETURNING``: of two callbacks racing
with the same state, PostgreSQL's row lock lets exactly one through. Like
``ApiKeyRepository.get``, ``consume`` runs before a tenant is known.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from calhub.domain.ids import ConnectionId, TenantId, new_id
from calhub.storage.crypto.errors import UnknownKeyVersion
from calhub.storage.crypto.fields import TenantKeys
from calhub.storage.repositories.base import Scope
from calhub.storage.tables import consent_states


class ConsentStateRejected(enum.StrEnum):
    FORGED = "forged"  # not a state calhub signed
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True, slots=True)
class ConsentStateAccepted:
    tenant_id: TenantId
    connection_id: ConnectionId


def state_digest(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


def _signature(keys: TenantKeys, signed_part: str) -> str:
    mac = keys.lookup_index("consent-state", signed_part)[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


class ConsentStateRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    async def issue(
        self,
        tenant_id: TenantId,
        connection_id: ConnectionId,
        *,
        expires_at: datetime,
        now: datetime,
    ) -> str:
        """A new signed state for the connection, usable once until ``expires_at``."""
        signed_part = f"{tenant_id.hex}.{secrets.token_urlsafe(32)}"
        state = f"{signed_part}.{_signature(await self._scope.keys(tenant_id), signed_part)}"
        await self._scope.conn.execute(
            consent_states.insert().values(
                id=new_id(now),
                tenant_id=tenant_id,
                connection_id=connection_id,
                state_hash=state_digest(state),
                created_at=now,
                expires_at=expires_at,
            )
        )
        return state

    async def _signed_by_calhub(self, state: str) -> bool:
        tenant_hex, _, rest = state.partition(".")
        nonce, _, signature = rest.partition(".")
        try:
            tenant_id = uuid.UUID(hex=tenant_hex)
        except ValueError:
            return False
        if not nonce or not signature:
            return False
        try:
            keys = await self._scope.keys(tenant_id)
        except UnknownKeyVersion:  # no such tenant: nobody signed this
            return False
        expected = _signature(keys, f"{tenant_hex}.{nonce}")
        # Bytes: compare_digest refuses non-ASCII str, and the state is whatever a browser sent.
        return hmac.compare_digest(expected.encode(), signature.encode())

    async def consume(
        self, state: str, now: datetime
    ) -> ConsentStateAccepted | ConsentStateRejected:
        """Use ``state`` once: the connection it was issued for, or why it cannot be used."""
        if len(state) > 200 or not await self._signed_by_calhub(state):
            return ConsentStateRejected.FORGED
        digest = state_digest(state)
        used = (
            await self._scope.conn.execute(
                update(consent_states)
                .where(
                    consent_states.c.state_hash == digest,
                    consent_states.c.used_at.is_(None),
                    consent_states.c.expires_at > now,
                )
                .values(used_at=now)
                .returning(consent_states.c.tenant_id, consent_states.c.connection_id)
            )
        ).one_or_none()
        if used is not None:
            return ConsentStateAccepted(TenantId(used.tenant_id), ConnectionId(used.connection_id))
        row = (
            await self._scope.conn.execute(
                select(consent_states.c.used_at).where(consent_states.c.state_hash == digest)
            )
        ).one_or_none()
        if row is None:
            return ConsentStateRejected.UNKNOWN
        return (
            ConsentStateRejected.USED if row.used_at is not None else ConsentStateRejected.EXPIRED
        )

    async def delete_expired(self, before: datetime) -> int:
        """Remove states that expired before ``before`` (used or not)."""
        result = await self._scope.conn.execute(
            delete(consent_states)
            .where(consent_states.c.expires_at < before)
            .returning(consent_states.c.id)
        )
        return len(result.all())
