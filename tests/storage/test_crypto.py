"""Envelope encryption without a database: key providers, field sealing, blind indexes."""

from __future__ import annotations

import os
import secrets
import stat
import uuid
from pathlib import Path

import pytest

from calhub.storage.crypto import (
    DecryptionFailed,
    InvalidMasterKey,
    KeyFileError,
    LocalKeyFileProvider,
    StaticKeyProvider,
    TenantKeys,
    UnknownKeyVersion,
    key_provider_from,
)
from calhub.storage.crypto.fields import derive_index_key

TENANT = uuid.UUID(int=1)
ROW = uuid.UUID(int=2)


def tenant_keys(tenant: uuid.UUID = TENANT, versions: int = 1) -> TenantKeys:
    keys = {v: secrets.token_bytes(32) for v in range(1, versions + 1)}
    return TenantKeys(
        tenant_id=tenant,
        active_version=versions,
        keys=keys,
        index_key=derive_index_key(keys[1], tenant),
    )


def test_sealed_value_opens_with_same_binding_and_hides_plaintext() -> None:
    keys = tenant_keys()
    sealed = keys.seal("Board meeting", table="events", column="subject", row_id=ROW)

    assert b"Board meeting" not in sealed.blob
    assert "Board" not in repr(sealed)
    assert keys.open(sealed, table="events", column="subject", row_id=ROW) == "Board meeting"


def test_same_plaintext_seals_differently_each_time() -> None:
    keys = tenant_keys()
    one = keys.seal("x", table="events", column="subject", row_id=ROW)
    two = keys.seal("x", table="events", column="subject", row_id=ROW)
    assert one.blob != two.blob


@pytest.mark.parametrize(
    ("table", "column", "row_id"),
    [
        ("events", "subject", uuid.UUID(int=3)),  # copied to another row
        ("events", "body", ROW),  # moved to another column
        ("calendars", "subject", ROW),  # moved to another table
    ],
)
def test_moved_ciphertext_fails_with_clear_error(
    table: str, column: str, row_id: uuid.UUID
) -> None:
    keys = tenant_keys()
    blob = keys.seal("secret", table="events", column="subject", row_id=ROW).blob

    with pytest.raises(DecryptionFailed, match="belongs to another row, column or tenant"):
        keys.open(blob, table=table, column=column, row_id=row_id)


def test_ciphertext_of_another_tenant_fails() -> None:
    keys = tenant_keys()
    other = TenantKeys(
        tenant_id=uuid.UUID(int=9), active_version=1, keys=keys.keys, index_key=keys.index_key
    )
    blob = keys.seal("secret", table="events", column="subject", row_id=ROW).blob

    with pytest.raises(DecryptionFailed):
        other.open(blob, table="events", column="subject", row_id=ROW)


@pytest.mark.parametrize("position", [0, 1, 8, 20, -1])
def test_flipped_byte_fails(position: int) -> None:
    keys = tenant_keys()
    blob = bytearray(keys.seal("secret", table="events", column="subject", row_id=ROW).blob)
    blob[position] ^= 0x01

    with pytest.raises((DecryptionFailed, UnknownKeyVersion)):
        keys.open(bytes(blob), table="events", column="subject", row_id=ROW)


def test_values_sealed_under_old_version_stay_readable() -> None:
    old = tenant_keys()
    blob = old.seal("kept", table="events", column="subject", row_id=ROW).blob
    rotated = TenantKeys(
        tenant_id=TENANT,
        active_version=2,
        keys={**old.keys, 2: secrets.token_bytes(32)},
        index_key=old.index_key,
    )

    assert rotated.seal("new", table="t", column="c", row_id=ROW).key_version == 2
    assert rotated.open(blob, table="events", column="subject", row_id=ROW) == "kept"


def test_blind_index_ignores_case_and_space_but_not_tenant() -> None:
    keys = tenant_keys()
    other = tenant_keys(uuid.UUID(int=7))

    assert keys.email_index("Alice@Example.COM ") == keys.email_index("alice@example.com")
    assert keys.email_index("alice@example.com") != keys.email_index("bob@example.com")
    assert keys.email_index("alice@example.com") != other.email_index("alice@example.com")


def test_key_file_is_created_owner_only_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    provider = LocalKeyFileProvider(path)
    wrapped = provider.wrap(b"k" * 32, associated_data=b"aad")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = LocalKeyFileProvider(path)
    assert again.unwrap(wrapped, version=1, associated_data=b"aad") == b"k" * 32


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    LocalKeyFileProvider(path).wrap(b"k" * 32, associated_data=b"")
    os.chmod(path, 0o644)

    with pytest.raises(KeyFileError, match="chmod 600"):
        LocalKeyFileProvider(path).wrap(b"k" * 32, associated_data=b"")


def test_malformed_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("1 abcd\n")
    os.chmod(path, 0o600)

    with pytest.raises(KeyFileError, match="line 1"):
        LocalKeyFileProvider(path).wrap(b"k" * 32, associated_data=b"")


def test_key_file_rotation_keeps_old_versions(tmp_path: Path) -> None:
    provider = LocalKeyFileProvider(tmp_path / "master.key")
    old = provider.wrap(b"k" * 32, associated_data=b"a")

    assert provider.rotate() == 2
    reloaded = LocalKeyFileProvider(tmp_path / "master.key")
    assert reloaded.version == 2
    assert reloaded.unwrap(old, version=1, associated_data=b"a") == b"k" * 32
    assert stat.S_IMODE((tmp_path / "master.key").stat().st_mode) == 0o600


def test_wrong_kek_or_aad_fails_to_unwrap() -> None:
    provider = StaticKeyProvider(secrets.token_bytes(32))
    wrapped = provider.wrap(b"k" * 32, associated_data=b"tenant-1")

    with pytest.raises(DecryptionFailed, match="wrong key-encryption key"):
        StaticKeyProvider(secrets.token_bytes(32)).unwrap(
            wrapped, version=1, associated_data=b"tenant-1"
        )
    with pytest.raises(DecryptionFailed):
        provider.unwrap(wrapped, version=1, associated_data=b"tenant-2")
    with pytest.raises(UnknownKeyVersion):
        provider.unwrap(wrapped, version=2, associated_data=b"tenant-1")


def test_master_key_setting_must_be_64_hex_digits(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    provider = key_provider_from(key.hex(), tmp_path / "unused.key")

    assert isinstance(provider, StaticKeyProvider)
    assert not (tmp_path / "unused.key").exists()
    assert key.hex() not in repr(provider)
    with pytest.raises(InvalidMasterKey, match="64 hex digits"):
        key_provider_from("abc", tmp_path / "unused.key")
    assert isinstance(key_provider_from(None, tmp_path / "m.key"), LocalKeyFileProvider)
