"""Key-encryption keys (KEKs): the keys that wrap each tenant's data keys.

``KeyProvider`` is the port; two implementations ship:

- ``LocalKeyFileProvider(path)``: KEKs in a local file, created on first use with mode 0600
  (atomically, so two processes starting at once agree on one key). A file that group or others
  can read is refused. The file holds one ``<version> <64 hex digits>`` line per KEK version;
  ``rotate()`` appends a new version, the highest is current, older ones stay so data keys
  wrapped under them can still be unwrapped until ``rewrap_data_keys`` has moved them.
- ``StaticKeyProvider(key)``: a KEK given by setting (``CALHUB_MASTER_KEY``, 64 hex digits);
  ``StaticKeyProvider.from_hex``. Earlier versions can be passed as ``previous`` for rotation.

Wrapping is AES-256-GCM with a fresh 96-bit nonce; the caller's associated data binds the
tenant and data-key version, so a wrapped key cannot be moved to another tenant.
``key_provider_from(master_key, key_file)`` picks the provider the settings ask for.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from calhub.storage.crypto.errors import (
    DecryptionFailed,
    InvalidMasterKey,
    KeyFileError,
    UnknownKeyVersion,
)

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyProvider(Protocol):
    """Wraps and unwraps data keys. ``key_id`` names the KEK family, stored with each key."""

    @property
    def key_id(self) -> str: ...

    @property
    def version(self) -> int:
        """The current KEK version: new wraps use it."""
        ...

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        """``data_key`` encrypted under the current KEK version."""
        ...

    def unwrap(self, wrapped: bytes, *, version: int, associated_data: bytes) -> bytes:
        """The data key; raises ``DecryptionFailed`` or ``UnknownKeyVersion``."""
        ...


def _wrap(kek: bytes, data_key: bytes, associated_data: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, associated_data)


def _unwrap(kek: bytes, wrapped: bytes, associated_data: bytes, what: str) -> bytes:
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], associated_data)
    except InvalidTag as exc:
        raise DecryptionFailed(
            f"cannot unwrap a data key with {what}: wrong key-encryption key "
            "(CALHUB_MASTER_KEY / key file) or the wrapped key was altered"
        ) from exc


def _check_key(key: bytes) -> bytes:
    if len(key) != KEY_BYTES:
        raise InvalidMasterKey("a key-encryption key is 32 bytes")
    return key


class StaticKeyProvider:
    """A KEK held in memory, e.g. from ``CALHUB_MASTER_KEY``."""

    def __init__(
        self, key: bytes, *, version: int = 1, previous: Mapping[int, bytes] | None = None
    ) -> None:
        self._keys = {v: _check_key(k) for v, k in (previous or {}).items()}
        self._keys[version] = _check_key(key)
        self._version = version

    @classmethod
    def from_hex(cls, text: str) -> StaticKeyProvider:
        text = text.strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise InvalidMasterKey("CALHUB_MASTER_KEY must be 64 hex digits (32 bytes)")
        return cls(key)

    def __repr__(self) -> str:
        return f"StaticKeyProvider(version={self._version})"

    @property
    def key_id(self) -> str:
        return "static"

    @property
    def version(self) -> int:
        return self._version

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        return _wrap(self._keys[self._version], data_key, associated_data)

    def unwrap(self, wrapped: bytes, *, version: int, associated_data: bytes) -> bytes:
        if version not in self._keys:
            raise UnknownKeyVersion(f"the master key has no version {version}")
        return _unwrap(self._keys[version], wrapped, associated_data, f"master key v{version}")


class LocalKeyFileProvider:
    """KEKs in a 0600 file, created on first use. See the module docstring for the format."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._keys: dict[int, bytes] | None = None

    def __repr__(self) -> str:
        return f"LocalKeyFileProvider({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def key_id(self) -> str:
        return "local-file"

    @property
    def version(self) -> int:
        return max(self._load())

    def wrap(self, data_key: bytes, *, associated_data: bytes) -> bytes:
        keys = self._load()
        return _wrap(keys[max(keys)], data_key, associated_data)

    def unwrap(self, wrapped: bytes, *, version: int, associated_data: bytes) -> bytes:
        keys = self._load()
        if version not in keys:
            raise UnknownKeyVersion(f"key file {self._path} has no key version {version}")
        return _unwrap(keys[version], wrapped, associated_data, f"{self._path} v{version}")

    def rotate(self) -> int:
        """Add a new KEK version and make it current; returns the new version."""
        keys = dict(self._load())
        new_version = max(keys) + 1
        keys[new_version] = secrets.token_bytes(KEY_BYTES)
        temp = self._write_temp(keys)
        os.replace(temp, self._path)
        self._keys = keys
        return new_version

    def _load(self) -> dict[int, bytes]:
        if self._keys is None:
            if not self._path.exists():
                self._create()
            self._keys = self._read()
        return self._keys

    def _create(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = self._write_temp({1: secrets.token_bytes(KEY_BYTES)})
        try:
            # link() fails if the file appeared meanwhile: then the other process's key wins.
            os.link(temp, self._path)
        except FileExistsError:
            pass
        except OSError:
            # No hard links on this file system: create the file exclusively instead.
            with contextlib.suppress(FileExistsError):
                fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(temp.read_bytes())
                    handle.flush()
                    os.fsync(handle.fileno())
        finally:
            temp.unlink()

    def _write_temp(self, keys: Mapping[int, bytes]) -> Path:
        temp = self._path.with_name(f".{self._path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        lines = ["# calhub key-encryption keys: keep secret (mode 0600) and back up.\n"]
        lines += [f"{v} {k.hex()}\n" for v, k in sorted(keys.items())]
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        return temp

    def _read(self) -> dict[int, bytes]:
        mode = self._path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"key file {self._path} is accessible by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {self._path}"
            )
        keys: dict[int, bytes] = {}
        for number, line in enumerate(self._path.read_text(encoding="ascii").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            version_text, _, hex_text = line.partition(" ")
            try:
                key = bytes.fromhex(hex_text.strip())
                version = int(version_text)
            except ValueError:
                key, version = b"", 0
            if len(key) != KEY_BYTES or version < 1:
                raise KeyFileError(f"key file {self._path} line {number} is malformed")
            keys[version] = key
        if not keys:
            raise KeyFileError(f"key file {self._path} holds no key")
        return keys


class _SecretValue(Protocol):
    def get_secret_value(self) -> str: ...


def key_provider_from(master_key: str | _SecretValue | None, key_file: Path) -> KeyProvider:
    """The provider settings ask for: ``CALHUB_MASTER_KEY`` (a str or pydantic ``SecretStr``) if
    given, else the local key file (``CALHUB_KEY_FILE``), created on first use."""
    if master_key is not None and not isinstance(master_key, str):
        master_key = master_key.get_secret_value()
    if master_key:
        return StaticKeyProvider.from_hex(master_key)
    return LocalKeyFileProvider(key_file)
