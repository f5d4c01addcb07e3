"""``calhub connect google`` and ``calhub connections check-delegation`` against a real database
and the live Google emulator: the delegation's outcome is printed, the key never is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calhub.cli.main import app
from calhub.providers.google.auth import CALENDAR_SCOPES
from tests.emulators.google.seeds import ADA
from tests.services.google_world import LiveGoogle, live_google, northwind_key

__all__ = ["live_google"]


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path, live_google: LiveGoogle) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
        "CALHUB_GOOGLE_CALENDAR_URL": f"{live_google.origin}/calendar/v3",
        "CALHUB_GOOGLE_DIRECTORY_URL": f"{live_google.origin}/admin/directory/v1",
        "CALHUB_GOOGLE_TOKEN_URL": f"{live_google.origin}/token",
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def _key(tmp_path: Path, **changes: str) -> str:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(northwind_key() | changes))
    return str(path)


def test_connect_google_checks_the_delegation_and_never_prints_the_key(
    env: dict[str, str], tmp_path: Path, live_google: LiveGoogle
) -> None:
    tenant = _run(env, "tenant", "create", "Northwind").strip().splitlines()[-1]
    live_google.set_delegation("revoked")
    args = ["connect", "google", "--tenant", tenant, "--key", _key(tmp_path), "--admin", ADA]

    pending = json.loads(_run(env, *args, "--domain", "northwind.test", "--json"))

    assert pending["status"] == "consent_pending"
    assert pending["delegation"]["scopes"] == list(CALENDAR_SCOPES)
    assert pending["google_domain"] == "northwind.test"
    check = ["connections", "check-delegation", "--tenant", tenant, pending["id"]]
    assert northwind_key()["client_id"] in _run(env, *check, code=1)
    live_google.set_delegation("granted")
    assert "granted" in _run(env, *check)
    listed = _run(env, "connections", "list", "--tenant", tenant)
    assert listed.split("\t")[1:3] == ["active", "northwind.test"]
    shown = _run(env, "connections", "show", "--tenant", tenant, pending["id"])
    for text in (json.dumps(pending), listed, shown):
        assert "PRIVATE KEY" not in text


@pytest.mark.parametrize(
    ("changes", "admin", "message"),
    [
        ({"type": "authorized_user"}, ADA, "not 'service_account'"),
        ({"private_key": "x"}, ADA, "not a PEM private key"),
        ({}, "ada", "one e-mail address"),
    ],
)
def test_a_bad_key_or_admin_is_refused(
    env: dict[str, str], tmp_path: Path, changes: dict[str, str], admin: str, message: str
) -> None:
    tenant = _run(env, "tenant", "create", "Northwind").strip().splitlines()[-1]
    args = ["connect", "google", "--tenant", tenant, "--admin", admin]
    output = _run(env, *args, "--key", _key(tmp_path, **changes), code=2)
    assert message in " ".join(output.replace("│", " ").split())
    assert "google" not in _run(env, "connections", "list", "--tenant", tenant)
    (tmp_path / "broken.json").write_text("{not json")
    good_admin = ["connect", "google", "--tenant", tenant, "--admin", ADA]
    broken = _run(env, *good_admin, "--key", str(tmp_path / "broken.json"), code=2)
    assert "JSON key file" in " ".join(broken.replace("│", " ").split())
