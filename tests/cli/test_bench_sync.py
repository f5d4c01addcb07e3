"""``calhub bench sync`` end to end with tiny sizes, for each provider: the emulator in-process,
``calhub serve`` and a ``calhub worker`` as processes on a fresh database; every change must
reach the mirror and every notification the inbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from calhub.cli.bench.sync import _Changes
from calhub.cli.main import app


@pytest.mark.parametrize("provider", ["msgraph", "google"])
def test_tiny_run_brings_every_change_to_the_mirror_and_stores_every_notification(
    provider: str, fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALHUB_DATABASE_URL", fresh_database_url)
    monkeypatch.setenv("CALHUB_KEY_FILE", str(tmp_path / "master.key"))
    monkeypatch.setenv("CALHUB_DATA_DIR", str(tmp_path / "data"))
    arguments = ["--provider", provider, "--calendars", "10", "--seconds", "2", "--rate", "20"]
    arguments += ["--notifications", "300"]

    result = CliRunner().invoke(app, ["bench", "sync", "--quick", "--workers", "1", *arguments])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "sync"
    assert report["provider"] == provider
    assert report["calendars"] == 10
    assert report["changes_made"] == 40
    assert report["change_failures"] == {}
    assert report["changes_applied"] == 40
    assert report["changes_missing"] == 0
    assert report["changes_per_s"] > 0
    assert 0 < report["lag_p50_s"] <= report["lag_p99_s"] <= report["lag_max_s"]
    assert report["lag_p99_by_5s"] == [report["lag_p99_s"]]  # 2 s of changes: one slice
    assert report["notifications_posted"] == report["notifications_stored"] == 300
    assert report["intake_refused"] == {}
    assert report["intake_per_s"] > 0
    assert (report["sync_errors"], report["failed_jobs"]) == (0, 0)
    assert report["targets"]["lag_p99_s"] == 3.0
    assert report["targets"]["intake_per_s"] == 2000.0
    assert report["at_target_scale"] is False
    assert report["met"]["lag_p99_s"] is False  # 10 calendars prove nothing about 1,000
    assert isinstance(report["targets_met"], bool)
    assert report["reference_ms"]["samples"] >= 1


def test_the_lag_by_slice_shows_when_the_hub_fell_behind() -> None:
    changes = _Changes()
    made = {"a": 0.0, "b": 1.0, "c": 12.0, "d": 13.0}  # nothing made from 5 to 10 s
    lags = {"a": 0.5, "b": 0.7, "c": 4.0, "d": 2.0}
    for event_id, at in made.items():
        changes.made[event_id] = [("k1", at)]
        changes.seen[(event_id, "k1")] = at + lags[event_id]
    changes.first_made = 0.0

    assert changes.p99_by_slice(5.0) == [0.7, None, 4.0]
    assert _Changes().p99_by_slice(5.0) == []
