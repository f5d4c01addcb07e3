"""``calhub joinlink``: JSON Lines in, one corpus-shaped result per invite out, bad lines named."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from calhub.cli.main import app

CORPUS = Path(__file__).parents[1] / "domain" / "joinlinks" / "corpus.jsonl"


def test_the_corpus_file_gives_every_expected_result() -> None:
    result = CliRunner().invoke(app, ["joinlink", str(CORPUS)])
    assert result.exit_code == 0, result.output
    expected = [json.loads(line)["expected"] for line in CORPUS.read_text().splitlines()]
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert got == expected
    assert all(
        list(record)[:6] == list(want)[:6] for record, want in zip(got, expected, strict=True)
    )


def test_stdin_is_read_and_bad_lines_are_reported_without_stopping() -> None:
    lines = [
        json.dumps({"location": "", "body": "https://meet.google.com/abc-defg-hij"}),
        "{not json",
        "",
        json.dumps({"location": "@webex", "body": "<p>hi</p>", "body_format": "html"}),
        json.dumps({"location": "x", "body": "y", "body_format": "rtf"}),
        json.dumps(["location", "body"]),
        json.dumps({"location": "Room 1", "body": ""}),
    ]
    result = CliRunner().invoke(app, ["joinlink"], input="\n".join(lines) + "\n")
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["provider"] for record in records] == ["google_meet", "webex", "none"]
    assert records[0]["meeting_id"] == "abc-defg-hij"
    assert records[2] == dict.fromkeys(
        ("provider", "join_url", "sip_uri", "meeting_id", "passcode", "keyword")
    ) | {"provider": "none"}
    errors = [json.loads(line) for line in result.stderr.splitlines()]
    assert [error["line"] for error in errors] == [2, 5, 6]


def test_dial_strings_appear_only_for_h323_and_tel() -> None:
    lines = [
        json.dumps({"location": "h323:192.0.2.10##8812", "body": ""}),
        json.dumps({"location": "sip:room@video.example.org", "body": ""}),
    ]
    result = CliRunner().invoke(app, ["joinlink"], input="\n".join(lines))
    assert result.exit_code == 0, result.output
    h323, sip = (json.loads(line) for line in result.stdout.splitlines())
    assert h323["dial_string"] == "h323:192.0.2.10##8812"
    assert "dial_string" not in sip


def test_a_missing_file_is_an_error() -> None:
    result = CliRunner().invoke(app, ["joinlink", "/nonexistent/invites.jsonl"])
    assert result.exit_code == 2
