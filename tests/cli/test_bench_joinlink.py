"""``calhub bench joinlink --quick`` with the labelled corpus: one JSON object, all keys."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from typer.testing import CliRunner

from calhub.cli.main import app

CORPUS = Path(__file__).parents[1] / "domain" / "joinlinks" / "corpus.jsonl"


def test_quick_run_on_the_corpus_prints_one_json_object_last() -> None:
    result = CliRunner().invoke(app, ["bench", "joinlink", "--quick", "--corpus", str(CORPUS)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["benchmark"] == "joinlink"
    assert report["invites"] == 10_000
    assert report["corpus_pass_rate"] == 1.0
    assert report["invites_per_s"] > 0
    assert 0 < report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["adversarial_1mb_ms"] == max(report["adversarial_1mb_by_body_ms"].values())
    assert report["targets"] == {"invites_per_s": 10_000.0, "adversarial_1mb_ms": 50.0}
    assert isinstance(report["meets_targets"], bool)
    reference = report["reference_ms"]  # how fast the machine ran meanwhile
    assert reference["samples"] >= 1
    assert 0 < reference["p10"] <= reference["median"] <= reference["p90"]
    assert (report["cpu_count"], report["python"]) == (os.cpu_count(), platform.python_version())


def test_a_corpus_with_a_bad_line_is_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"location": "", "body": ""}\n{"body": 3}\n')
    result = CliRunner().invoke(app, ["bench", "joinlink", "--quick", "--corpus", str(corpus)])
    assert result.exit_code == 2
    assert "line 2" in result.output
