"""``calhub demo`` on embedded defaults: serves, prints a working key, stops its PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _postmaster_running(data_dir: Path) -> bool:
    return (data_dir / "pg" / "postmaster.pid").exists()


@pytest.mark.slow
def test_demo_serves_with_an_embedded_database_and_cleans_up(tmp_path: Path) -> None:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALHUB_")} | {
        "CALHUB_PORT": str(port),
        "CALHUB_LOG_LEVEL": "warning",
    }
    log = (tmp_path / "demo.log").open("w+")
    demo = subprocess.Popen(
        [sys.executable, "-m", "calhub", "demo"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert demo.poll() is None, Path(log.name).read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "demo did not come up within 60 s"
            time.sleep(0.2)
        output = Path(log.name).read_text()
        token = re.search(r"API key\s+(chk_\S+)", output)
        assert token, output
        tenant = httpx.get(
            f"{base}/api/v1/tenant", headers={"Authorization": f"Bearer {token.group(1)}"}
        )
        assert tenant.json()["name"] == "Demo Organisation"
        assert _postmaster_running(tmp_path / ".calhub")
        assert (tmp_path / ".calhub" / "master.key").stat().st_mode & 0o777 == 0o600
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
        log.close()
    assert not _postmaster_running(tmp_path / ".calhub"), "embedded PostgreSQL left running"
