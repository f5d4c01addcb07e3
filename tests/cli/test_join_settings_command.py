"""``calhub join-settings show|set`` against a real database: an admin shows the defaults, sets a
file or stdin, and reads back what was stored; every mistake is named, exits 2 and stores
nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from calhub.cli.main import app
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.settings_json import settings_to_json

DEFAULTS = settings_to_json(JoinSettings())
ACME: dict[str, Any] = DEFAULTS | {
    "keywords": [{"keyword": "jitsi", "backend": "jitsi", "provider": "jitsi", "modifiers": {}}],
    "backends": DEFAULTS["backends"] | {"jitsi": {"domain": "meet.acme.example"}},
    "footer": "Trouble joining? Call the service desk.",
}


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
    }


def _run(env: dict[str, str], *args: str, code: int = 0, stdin: str | None = None) -> str:
    """What the command printed: stdout when it succeeded, stderr when it failed."""
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert result.exit_code == code, result.output
    return result.stderr if code else result.stdout


def _show(env: dict[str, str], *args: str) -> Any:
    return json.loads(_run(env, "join-settings", "show", *args))


def _tenant(env: dict[str, str], name: str) -> str:
    return _run(env, "tenant", "create", name).strip().splitlines()[-1]


def test_set_a_file_then_show_it(env: dict[str, str], tmp_path: Path) -> None:
    _tenant(env, "Acme")
    assert _show(env) == DEFAULTS

    document = tmp_path / "settings.json"
    document.write_text(json.dumps(ACME), encoding="utf-8")
    saved = CliRunner().invoke(app, ["join-settings", "set", str(document)], env=env)

    assert saved.exit_code == 0, saved.output
    assert "join settings of tenant" in saved.stderr
    assert _show(env) == ACME


def test_set_reads_stdin_and_takes_defaults_for_what_is_left_out(env: dict[str, str]) -> None:
    tenant = _tenant(env, "Acme")
    other = _tenant(env, "Umbrella")
    header = {"header": "Rejoindre la réunion :"}

    _run(env, "join-settings", "set", "-", "--tenant", tenant, stdin=json.dumps(header))

    assert _show(env, "--tenant", tenant) == DEFAULTS | header
    assert _show(env, "--tenant", other) == DEFAULTS


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (
            json.dumps(ACME | {"keywords": [{"keyword": "z", "backend": "zom", "provider": "z"}]}),
            "keywords[0].backend: unknown backend 'zom'",
        ),
        (json.dumps(ACME | {"header": "x" * 1025}), "header: 1025 characters"),
        (json.dumps(ACME | {"colour": "red"}), "unknown field 'colour'"),
        ('{"header": ', "standard input is not JSON: Expecting value at line 1, column 12"),
        ("[" * 100_000, "standard input cannot be read as JSON: maximum recursion depth"),
    ],
)
def test_a_bad_document_is_named_and_nothing_is_stored(
    env: dict[str, str], stdin: str, message: str
) -> None:
    _tenant(env, "Acme")
    _run(env, "join-settings", "set", "-", stdin=json.dumps(ACME))

    output = _run(env, "join-settings", "set", "-", code=2, stdin=stdin)

    assert message in " ".join(output.split()), output
    assert _show(env) == ACME


def test_the_tenant_must_be_clear_and_exist(env: dict[str, str], tmp_path: Path) -> None:
    assert "no tenant yet" in _run(env, "join-settings", "show", code=2)
    _tenant(env, "Acme")
    _tenant(env, "Umbrella")

    assert "2 tenants; pick one with --tenant" in _run(env, "join-settings", "show", code=2)
    assert "must be a tenant id" in _run(env, "join-settings", "show", "--tenant", "acme", code=2)
    unknown = "00000000-0000-0000-0000-000000000001"
    assert f"no tenant {unknown}" in _run(
        env, "join-settings", "set", "-", "--tenant", unknown, code=2, stdin="{}"
    )
    missing = tmp_path / "nowhere.json"
    assert "cannot read" in _run(env, "join-settings", "set", str(missing), code=2)
