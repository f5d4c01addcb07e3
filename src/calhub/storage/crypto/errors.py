"""The errors envelope encryption raises.

``CryptoError``
  - ``DecryptionFailed``: a ciphertext, its associated data or the key is wrong (tampering, a
    value copied to another row, column or tenant, or the wrong key-encryption key).
  - ``UnknownKeyVersion``: a ciphertext or wrapped key names a key version nobody has.
  - ``KeyFileError``: the local key file is missing, malformed or readable by others.
  - ``InvalidMasterKey``: ``CALHUB_MASTER_KEY`` is not 64 hex digits.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every envelope-encryption error."""


class DecryptionFailed(CryptoError):
    """Authentication of a ciphertext failed; the message names where, never the plaintext."""


class UnknownKeyVersion(CryptoError):
    """A key version is referenced that the key provider or the tenant's key table lacks."""


class KeyFileError(CryptoError):
    """The key file cannot be used as it is."""


class InvalidMasterKey(CryptoError):
    """A master key given by setting is not 32 bytes written as 64 hex digits."""
