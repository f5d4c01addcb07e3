"""Field encryption and blind indexes with one tenant's data keys.

A sealed value is ``format byte (0x01) | key version (4 bytes, big-endian) | 96-bit nonce |
AES-256-GCM ciphertext and tag``. The associated data is the header plus tenant id, table, column
and row id, so a ciphertext copied to another row, column or tenant fails to decrypt with
``DecryptionFailed``. Old key versions stay in ``TenantKeys.keys``, so rotation never makes old
values unreadable.

Decryption is explicit and synchronous (``TenantKeys.open``): AES-GCM on a field takes
microseconds, so there is nothing to gain from threads. ``Sealed`` is what ``seal`` returns; its
``repr`` shows neither plaintext nor ciphertext.

Blind indexes (``email_index``, ``lookup_index``) are HMAC-SHA256 under a per-tenant index key
derived by HKDF from the tenant's first data key, so they stay stable when data keys or KEKs
rotate, and equal addresses in two tenants give different indexes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from calhub.storage.crypto.errors import DecryptionFailed, UnknownKeyVersion

FORMAT_V1 = 0x01
HEADER_BYTES = 5
NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class Sealed:
    """An encrypted field value as stored (``blob``); read it with ``TenantKeys.open``."""

    blob: bytes = field(repr=False)

    @property
    def key_version(self) -> int:
        return key_version_of(self.blob)

    def __repr__(self) -> str:
        return f"Sealed(<{len(self.blob)} bytes, key v{self.key_version}>)"


def key_version_of(blob: bytes) -> int:
    """The data-key version a sealed blob was written with."""
    if len(blob) < HEADER_BYTES + NONCE_BYTES or blob[0] != FORMAT_V1:
        raise DecryptionFailed("not a calhub ciphertext (unknown format)")
    return int.from_bytes(blob[1:HEADER_BYTES], "big")


def normalise_email(address: str) -> str:
    return address.strip().lower()


def _aad(header: bytes, tenant_id: uuid.UUID, table: str, column: str, row_id: uuid.UUID) -> bytes:
    return b"\x1f".join((header, tenant_id.bytes, table.encode(), column.encode(), row_id.bytes))


def derive_index_key(first_data_key: bytes, tenant_id: uuid.UUID) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"calhub blind index v1\x1f" + tenant_id.bytes,
    )
    return hkdf.derive(first_data_key)


@dataclass(frozen=True, slots=True)
class TenantKeys:
    """One tenant's unwrapped data keys by version; ``active_version`` encrypts new values."""

    tenant_id: uuid.UUID
    active_version: int
    keys: Mapping[int, bytes] = field(repr=False)
    index_key: bytes = field(repr=False)

    def seal(self, plaintext: str, *, table: str, column: str, row_id: uuid.UUID) -> Sealed:
        return Sealed(
            self.seal_bytes(plaintext.encode(), table=table, column=column, row_id=row_id)
        )

    def seal_bytes(self, plaintext: bytes, *, table: str, column: str, row_id: uuid.UUID) -> bytes:
        header = bytes([FORMAT_V1]) + self.active_version.to_bytes(4, "big")
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = _aad(header, self.tenant_id, table, column, row_id)
        return (
            header + nonce + AESGCM(self.keys[self.active_version]).encrypt(nonce, plaintext, aad)
        )

    def open(self, sealed: Sealed | bytes, *, table: str, column: str, row_id: uuid.UUID) -> str:
        return self.open_bytes(sealed, table=table, column=column, row_id=row_id).decode()

    def open_bytes(
        self, sealed: Sealed | bytes, *, table: str, column: str, row_id: uuid.UUID
    ) -> bytes:
        blob = sealed.blob if isinstance(sealed, Sealed) else bytes(sealed)
        version = key_version_of(blob)
        key = self.keys.get(version)
        if key is None:
            raise UnknownKeyVersion(f"tenant {self.tenant_id} has no data key version {version}")
        header, nonce, body = blob[:HEADER_BYTES], blob[HEADER_BYTES:17], blob[17:]
        try:
            return AESGCM(key).decrypt(
                nonce, body, _aad(header, self.tenant_id, table, column, row_id)
            )
        except InvalidTag as exc:
            raise DecryptionFailed(
                f"cannot decrypt {table}.{column} of row {row_id} for tenant {self.tenant_id}: "
                "the value was altered or belongs to another row, column or tenant"
            ) from exc

    def email_index(self, address: str) -> bytes:
        """Blind index of an e-mail address, equal for case and whitespace variants."""
        return self.lookup_index("email", normalise_email(address))

    def lookup_index(self, purpose: str, value: str) -> bytes:
        """Blind index of an exact ``value``; ``purpose`` keeps kinds of value apart."""
        message = purpose.encode() + b"\x1f" + value.encode()
        return hmac.new(self.index_key, message, hashlib.sha256).digest()
