"""Envelope encryption: a key-encryption key (KEK) wraps one data key per tenant and version;
data keys seal fields with AES-256-GCM; blind indexes allow equality lookups.

Public surface:

- ``KeyProvider``, ``LocalKeyFileProvider``, ``StaticKeyProvider``, ``key_provider_from``
  (``providers``)
- ``Keyring``: per-tenant data keys, loaded from ``tenant_keys`` and cached (``keyring``)
- ``TenantKeys`` (``seal``/``open``/``email_index``), ``Sealed`` (``fields``)
- errors: ``CryptoError``, ``DecryptionFailed``, ``UnknownKeyVersion``, ``KeyFileError``,
  ``InvalidMasterKey``
"""

from calhub.storage.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    InvalidMasterKey,
    KeyFileError,
    UnknownKeyVersion,
)
from calhub.storage.crypto.fields import Sealed, TenantKeys, normalise_email
from calhub.storage.crypto.keyring import Keyring
from calhub.storage.crypto.providers import (
    KeyProvider,
    LocalKeyFileProvider,
    StaticKeyProvider,
    key_provider_from,
)

__all__ = [
    "CryptoError",
    "DecryptionFailed",
    "InvalidMasterKey",
    "KeyFileError",
    "KeyProvider",
    "Keyring",
    "LocalKeyFileProvider",
    "Sealed",
    "StaticKeyProvider",
    "TenantKeys",
    "UnknownKeyVersion",
    "key_provider_from",
    "normalise_email",
]
