"""Every command answers ``--help``."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from calhub.cli.main import app


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    # Typer vendors its own click, so groups are recognised by their sub-commands.
    for name, sub in getattr(command, "commands", {}).items():
        paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_expected_commands_exist() -> None:
    names = {" ".join(path) for path in COMMANDS}
    for expected in (
        "serve", "worker", "migrate", "demo", "tenant create", "tenant list",
        "apikey create", "apikey revoke", "keys rotate", "bench recurrence", "bench graph-emulator",
        "emulate graph", "version", "connect microsoft", "connections list", "bench sync",
        "joinlink", "bench joinlink",
    ):  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "calhub")
def test_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
