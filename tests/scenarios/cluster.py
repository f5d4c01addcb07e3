"""A calhub deployment in processes, for scenario tests: the Graph emulator (``calhub emulate
graph --tls``), one API/intake process (``calhub serve``) and several ``calhub worker`` processes
on one PostgreSQL, each started exactly as an operator would, talking over loopback sockets.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from tests.emulators.graph.servers import free_port


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    emulator_origin: str
    ca_file: Path
    api_base: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        self._logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "calhub", *args],
            env=self.env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, jobs in flight are abandoned mid-transaction."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        for log in self._logs:
            log.close()


def wait_until_up(url: str, process: subprocess.Popen[bytes], verify: Any = True) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=2, verify=verify).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up within 60 s")


@contextmanager
def running_cluster(
    root: Path, database_url: str, seed: dict[str, Any], workers: int, **settings: str
) -> Iterator[Cluster]:
    """The emulator with ``seed``, an API process and ``workers`` worker processes."""
    seed_file = root / "seed.json"
    seed_file.write_text(json.dumps(seed))
    emulator_port, api_port = free_port(), free_port()
    cert_dir = root / "tls"
    emulator_origin = f"https://127.0.0.1:{emulator_port}"
    api_base = f"http://127.0.0.1:{api_port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALHUB_")}
    env |= {
        "CALHUB_DATABASE_URL": database_url,
        "CALHUB_MASTER_KEY": "ab" * 32,
        "CALHUB_DATA_DIR": str(root / "data"),
        "CALHUB_PORT": str(api_port),
        "CALHUB_PUBLIC_BASE_URL": api_base,
        "CALHUB_GRAPH_BASE_URL": f"{emulator_origin}/v1.0",
        "CALHUB_MICROSOFT_LOGIN_URL": emulator_origin,
        "CALHUB_CA_BUNDLE": str(cert_dir / "ca.pem"),
        "CALHUB_LOG_LEVEL": "warning",
        "CALHUB_WORKER_CONCURRENCY": "6",
    } | {f"CALHUB_{name.upper()}": value for name, value in settings.items()}
    cluster = Cluster(root, env, emulator_origin, cert_dir / "ca.pem", api_base)
    try:
        emulator = cluster.start(
            "emulator",
            "emulate",
            "graph",
            "--port",
            str(emulator_port),
            "--seed",
            str(seed_file),
            "--tls",
            "--cert-dir",
            str(cert_dir),
        )
        wait_until_up(f"{emulator_origin}/_emulator/state", emulator, verify=False)
        assert cluster.ca_file.exists(), "the emulator did not write its CA where expected"
        api = cluster.start("api", "serve")
        wait_until_up(f"{api_base}/healthz", api)
        for number in range(workers):
            cluster.start(f"worker{number}", "worker")
        yield cluster
    finally:
        cluster.stop_all()
