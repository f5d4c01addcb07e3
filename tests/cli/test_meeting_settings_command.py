"""``calhub meeting-settings show|set`` against a real database: an admin shows the default lead
time, sets one from stdin and reads it back; a mistake is named, exits 2 and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def _run(env: dict[str, str], *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    assert result.exit_code == code, result.output
    return result.stderr if code else result.stdout


def _show(env: dict[str, str]) -> Any:
    return json.loads(_run(env, "meeting-settings", "show"))


def test_set_from_stdin_then_show_and_a_mistake_stores_nothing(env: dict[str, str]) -> None:
    _run(env, "tenant", "create", "Acme")
    assert _show(env) == {"lead_minutes": 5, "rooms": {}}

    result = CliRunner().invoke(
        app, ["meeting-settings", "set", "-"], env=env, input='{"lead_minutes": 2}'
    )
    assert result.exit_code == 0, result.output
    assert "meeting settings of tenant" in result.stderr
    assert _show(env) == {"lead_minutes": 2, "rooms": {}}

    refused = _run(env, "meeting-settings", "set", "-", code=2, stdin='{"lead_minutes": 90}')
    assert "lead_minutes: expected a whole number of minutes from 0 to 60" in refused
    assert _show(env) == {"lead_minutes": 2, "rooms": {}}
