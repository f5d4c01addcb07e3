"""A calhub deployment in processes, for scenario tests: a provider's emulator (``calhub
emulate graph --tls`` or ``calhub emulate google --tls``), one API/intake process (``calhub
serve``) and several ``calhub worker`` processes on one PostgreSQL, each started exactly as an
operator would, talking over loopback sockets.
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
from urllib.parse import parse_qsl, urlsplit

import httpx
from pydantic import SecretStr

from calhub.bootstrap import Runtime
from calhub.cli.emulated import google_settings, graph_settings
from calhub.domain.ids import TenantId
from calhub.providers.msgraph.auth import ClientSecret
from calhub.services.connections import (
    complete_consent,
    consent_link,
    create_microsoft_connection,
)
from calhub.services.providers import MicrosoftCredentials
from calhub.services.tenants import create_tenant
from calhub.settings import Settings
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


def _provider_settings(emulator: str, origin: str) -> dict[str, str]:
    """The settings that point calhub at the ``emulator`` served at ``origin``."""
    return google_settings(origin) if emulator == "google" else graph_settings(origin)


@contextmanager
def running_cluster(
    root: Path,
    database_url: str,
    seed: dict[str, Any],
    workers: int,
    emulator: str = "graph",
    **settings: str,
) -> Iterator[Cluster]:
    """The ``emulator`` (graph or google) with ``seed``, an API process and ``workers`` worker
    processes."""
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
        "CALHUB_CA_BUNDLE": str(cert_dir / "ca.pem"),
        "CALHUB_LOG_LEVEL": "warning",
        "CALHUB_WORKER_CONCURRENCY": "6",
    }
    provider = _provider_settings(emulator, emulator_origin)
    env |= {f"CALHUB_{name.upper()}": value for name, value in (provider | settings).items()}
    cluster = Cluster(root, env, emulator_origin, cert_dir / "ca.pem", api_base)
    try:
        process = cluster.start(
            "emulator",
            "emulate",
            emulator,
            "--port",
            str(emulator_port),
            "--seed",
            str(seed_file),
            "--tls",
            "--cert-dir",
            str(cert_dir),
        )
        wait_until_up(f"{emulator_origin}/_emulator/state", process, verify=False)
        assert cluster.ca_file.exists(), "the emulator did not write its CA where expected"
        api = cluster.start("api", "serve")
        wait_until_up(f"{api_base}/healthz", api)
        for number in range(workers):
            cluster.start(f"worker{number}", "worker")
        yield cluster
    finally:
        cluster.stop_all()


async def app_graph(cluster: Cluster, tenant: str, app_id: str, secret: str) -> httpx.AsyncClient:
    """A Graph client with the app's own token (what a test uses to act as Outlook)."""
    async with httpx.AsyncClient(verify=cluster.tls()) as plain:
        answer = await plain.post(
            f"{cluster.emulator_origin}/{tenant}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app_id,
                "client_secret": secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
    token = answer.json()["access_token"]
    return httpx.AsyncClient(
        base_url=f"{cluster.emulator_origin}/v1.0/",
        headers={"Authorization": f"Bearer {token}"},
        verify=cluster.tls(),
        timeout=30,
        limits=httpx.Limits(max_connections=16),
    )


async def connect(
    runtime: Runtime, cluster: Cluster, app_id: str, secret: str, domain: str
) -> TenantId:
    """What an admin does: create the connection, open the consent link, consent."""
    tenant = await create_tenant(runtime.uow, runtime.clock, domain)
    connection = await create_microsoft_connection(
        runtime.hub,
        tenant.id,
        MicrosoftCredentials(app_id, ClientSecret(secret)),
        tenant_hint=domain,
    )
    link = await consent_link(runtime.hub, tenant.id, connection.id)
    async with httpx.AsyncClient(verify=cluster.tls()) as browser:
        redirect = await browser.get(link.url)
    assert redirect.status_code in (302, 303), redirect.text
    query = dict(parse_qsl(urlsplit(redirect.headers["location"]).query))
    outcome = await complete_consent(runtime.hub, query)
    assert outcome.granted, outcome.message
    return tenant.id


def control_settings(
    cluster: Cluster, database_url: str, root: Path, emulator: str = "graph"
) -> Settings:
    """Settings for the test's own runtime, reaching the cluster's database and emulator."""
    return Settings(
        database_url=SecretStr(database_url),
        master_key=SecretStr(cluster.env["CALHUB_MASTER_KEY"]),
        data_dir=root / "control",
        ca_bundle=cluster.ca_file,
        public_base_url=cluster.api_base,
        **_provider_settings(emulator, cluster.emulator_origin),
    )
