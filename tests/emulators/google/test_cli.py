"""``calhub emulate google``: help, seed errors, and a real server that google-auth's
service-account credentials get a token from with the example key it writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import google.auth.transport.requests
import pytest
import requests
from google.oauth2 import service_account
from typer.testing import CliRunner

from calhub.cli.main import app
from tests.emulators.graph.servers import free_port

CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
RESOURCES_SCOPE = "https://www.googleapis.com/auth/admin.directory.resource.calendar.readonly"


def test_help_describes_the_options() -> None:
    result = CliRunner().invoke(app, ["emulate", "google", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--seed", "--key-file", "--tls", "--cert-dir"):
        assert option in result.output
    assert "9002" in result.output
    listing = CliRunner().invoke(app, ["emulate", "--help"]).output
    assert "google" in listing
    assert "graph" in listing


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"customers": [{"id": "x"}]}', "customers[0].domain must be a non-empty string"),
        (None, "cannot read the seed file"),
    ],
)
def test_a_bad_seed_exits_with_2_and_says_why(
    tmp_path: Path, content: str | None, message: str
) -> None:
    seed = tmp_path / "seed.json"
    if content is not None:
        seed.write_text(content)
    result = CliRunner().invoke(app, ["emulate", "google", "--seed", str(seed)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """The emulator serving the example world in a subprocess: (origin, key file, log)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALHUB_")}
    log_path = tmp_path / "emulator.log"
    with log_path.open("w+") as log:
        emulator = subprocess.Popen(
            [sys.executable, "-m", "calhub", "emulate", "google", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=log,
        )
        origin = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert emulator.poll() is None, log_path.read_text()
                try:
                    requests.get(f"{origin}/_emulator/faults", timeout=1)
                    break
                except requests.ConnectionError:
                    assert time.monotonic() < deadline, "the emulator did not come up in 30 s"
                    time.sleep(0.1)
            yield origin, tmp_path / ".calhub/google-service-account.json", log_path
        finally:
            emulator.send_signal(signal.SIGTERM)
            emulator.wait(timeout=10)
    assert emulator.returncode in (0, 128 + signal.SIGTERM)


def test_serves_the_example_world_to_google_auth(served: tuple[str, Path, Path]) -> None:
    origin, key_file, log_path = served
    key = json.loads(key_file.read_text())
    assert key["type"] == "service_account"
    assert key["token_uri"] == f"{origin}/token"
    creds = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=[CALENDAR_SCOPE, RESOURCES_SCOPE]
    ).with_subject("avery@northwind.example")
    with requests.Session() as session:
        creds.refresh(google.auth.transport.requests.Request(session))
        rooms = session.get(
            f"{origin}/admin/directory/v1/customer/my_customer/resources/calendars",
            headers={"Authorization": f"Bearer {creds.token}"},
            timeout=5,
        )
    assert rooms.status_code == 200
    assert {room["resourceName"] for room in rooms.json()["items"]} == {
        "Thames",
        "Severn",
        "Hudson",
    }
    output = log_path.read_text()
    assert f"{origin}/token" in output
    assert "northwind.example" in output
    assert "example key" in output
    assert key_file.name in output
    assert "Traceback" not in output
