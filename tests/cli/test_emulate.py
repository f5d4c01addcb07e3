"""``calhub emulate graph``: help, seed errors, and a real server answering the token endpoint."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from calhub.cli.main import app

EXAMPLE_SEED = Path(__file__).parents[2] / "src/calhub/emulators/graph/data/example-seed.json"


def test_help_describes_the_options() -> None:
    result = CliRunner().invoke(app, ["emulate", "graph", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--seed", "--tls", "--cert-dir"):
        assert option in result.output
    assert "graph" in CliRunner().invoke(app, ["emulate", "--help"]).output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"tenants": [{"id": "x", "domain": "d"}]}', "tenants[0].id must be a GUID"),
        (None, "cannot read the seed file"),
    ],
)
def test_a_bad_seed_exits_with_2_and_says_why(
    tmp_path: Path, content: str | None, message: str
) -> None:
    seed = tmp_path / "seed.json"
    if content is not None:
        seed.write_text(content)
    result = CliRunner().invoke(app, ["emulate", "graph", "--seed", str(seed)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serves_the_example_seed_until_terminated(tmp_path: Path) -> None:
    tenant = json.loads(EXAMPLE_SEED.read_text())["tenants"][0]
    credentials = tenant["apps"][0]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALHUB_")}
    log = (tmp_path / "emulator.log").open("w+")
    emulator = subprocess.Popen(
        [sys.executable, "-m", "calhub", "emulate", "graph", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert emulator.poll() is None, Path(log.name).read_text()
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/{tenant['domain']}/oauth2/v2.0/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": credentials["client_id"],
                        "client_secret": credentials["client_secret"],
                        "scope": "https://graph.microsoft.com/.default",
                    },
                    timeout=1,
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the emulator did not come up within 30 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["token_type"] == "Bearer"
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=10)
        log.close()
    output = Path(log.name).read_text()
    assert f"http://127.0.0.1:{port}/{{tenant}}/oauth2/v2.0/token" in output
    assert tenant["id"] in output
    assert "Traceback" not in output
    assert emulator.returncode in (0, 128 + signal.SIGTERM)
