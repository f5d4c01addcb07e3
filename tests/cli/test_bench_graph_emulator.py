"""``calhub bench graph-emulator`` end to end, with tiny sizes: a real server process and GETs."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from calhub.cli.main import app


def test_quick_run_with_tiny_sizes_prints_one_json_object_last() -> None:
    result = CliRunner().invoke(
        app, ["bench", "graph-emulator", "--quick", "--mailboxes", "20", "--requests", "100"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "graph-emulator"
    assert (report["mailboxes"], report["subscriptions"]) == (20, 20)
    assert report["events"] > 0
    assert report["memory"]["traced_bytes_per_mailbox"] > 0
    assert report["repetitions"] == 3
    assert report["gets_per_second"] > 0
    assert report["non_200"] == {}
    assert report["targets"] == {"gets_per_second": 1000.0}
    assert isinstance(report["meets_targets"], bool)
