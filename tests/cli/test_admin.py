"""The administration commands against a real database: tenant, API key, key rotation."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calhub.cli.main import app


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
    }


def _run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_tenant_gets_a_key_that_can_be_revoked(env: dict[str, str]) -> None:
    tenant_id = _run(env, "tenant", "create", "Umbrella").strip().splitlines()[-1]
    assert "Umbrella" in _run(env, "tenant", "list")
    issued = _run(env, "apikey", "create", "--tenant", tenant_id, "--name", "ci")
    key_id = re.search(r"key id (\S+);", issued)
    assert key_id
    assert re.search(r"^chk_[0-9a-f]{32}_\S+$", issued, re.MULTILINE)
    assert "revoked" in _run(env, "apikey", "revoke", "--tenant", tenant_id, key_id.group(1))
    again = CliRunner().invoke(
        app, ["apikey", "revoke", "--tenant", tenant_id, key_id.group(1)], env=env
    )
    assert again.exit_code == 1


def test_bad_input_is_refused_with_a_message(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["apikey", "create", "--tenant", "nope"], env=env)
    assert result.exit_code == 2
    assert "must be a UUID" in result.output
    unknown = CliRunner().invoke(
        app, ["apikey", "create", "--tenant", "00000000-0000-0000-0000-000000000001"], env=env
    )
    assert unknown.exit_code == 1
    blank = CliRunner().invoke(app, ["tenant", "create", "   "], env=env)
    assert blank.exit_code == 2


def test_keys_rotate_with_a_new_kek_keeps_tenants_usable(env: dict[str, str]) -> None:
    tenant_id = _run(env, "tenant", "create", "Cyberdyne").strip().splitlines()[-1]
    output = _run(env, "keys", "rotate", "--new-kek", "--new-data-keys")
    assert "key-encryption key version 2" in output
    assert "re-wrapped 1 data key(s), 1 new data key version(s)" in output
    assert re.search(r"^chk_", _run(env, "apikey", "create", "--tenant", tenant_id), re.MULTILINE)


def test_a_static_master_key_cannot_grow_a_new_version(env: dict[str, str]) -> None:
    static = {**env, "CALHUB_MASTER_KEY": secrets.token_hex(32)}
    result = CliRunner().invoke(app, ["keys", "rotate", "--new-kek"], env=static)
    assert result.exit_code == 2
