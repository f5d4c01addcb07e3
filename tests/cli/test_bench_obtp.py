"""``calhub bench obtp`` end to end at a tiny size: a worker process on a fresh database sends
every prompt once, and the last line of output is the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calhub.cli.main import app


def test_a_tiny_run_sends_every_prompt_once(
    fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALHUB_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("CALHUB_KEY_FILE", str(tmp_path / "master.key"))
    monkeypatch.setenv("CALHUB_DATA_DIR", str(tmp_path / "data"))
    arguments = ["--meetings", "60", "--rooms", "12", "--workers", "1"]

    result = CliRunner().invoke(app, ["bench", "obtp", "--quick", *arguments])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "obtp"
    assert (report["meetings"], report["rooms"], report["prompts"]) == (60, 12, 60)
    assert (report["duplicates"], report["misses"], report["unobserved"]) == (0, 0, 0)
    assert report["killed_worker"] is None
    assert (
        0 <= report["fire_error_p50_s"] <= report["fire_error_p99_s"] <= report["fire_error_max_s"]
    )
    assert report["fire_error_max_s"] < 1
    assert report["targets"]["fire_error_p99_s"] == 1.0
    assert report["at_target_scale"] is False


def test_kill_needs_a_second_worker() -> None:
    result = CliRunner().invoke(app, ["bench", "obtp", "--kill", "--workers", "1"])
    assert result.exit_code == 2
    assert "--kill needs at least 2 workers" in result.output
