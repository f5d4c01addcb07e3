"""Several ``calhub worker`` processes share one queue: every job runs, each answer lands once."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from calhub.bootstrap import bootstrap
from calhub.services import pings
from calhub.services.tenants import create_tenant
from calhub.settings import Settings

WORKERS = 3
PINGS = 30


@pytest.fixture
def worker_env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_MASTER_KEY": secrets.token_hex(32),
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_WORKER_CONCURRENCY": "4",
    }


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    logs = [(tmp_path / f"worker{n}.log").open("wb") for n in range(WORKERS)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "calhub", "worker"],
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for log in logs
    ]
    yield processes
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for log in logs:
        log.close()


@pytest.mark.slow
async def test_worker_processes_answer_every_ping_once(
    worker_env: dict[str, str], workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    settings = Settings(
        database_url=SecretStr(worker_env["CALHUB_DATABASE_URL"]),
        master_key=SecretStr(worker_env["CALHUB_MASTER_KEY"]),
        data_dir=tmp_path,
    )
    async with bootstrap(settings) as runtime:
        tenant = await create_tenant(runtime.uow, runtime.clock, "Initech")
        requested = [
            await pings.request_ping(runtime.uow, runtime.jobs, runtime.clock, tenant.id, f"n{n}")
            for n in range(PINGS)
        ]
        deadline = asyncio.get_running_loop().time() + 60
        pending = {ping.id for ping in requested}
        while pending and asyncio.get_running_loop().time() < deadline:
            for ping_id in list(pending):
                status = await pings.ping_status(runtime.uow, tenant.id, ping_id)
                if status is not None and status.answered_at is not None:
                    pending.discard(ping_id)
            await asyncio.sleep(0.2)
        assert pending == set(), f"{len(pending)} pings never answered"
        async with runtime.uow() as uow:
            answers = await uow.task_effects.list(kind=pings.ANSWERED, tenant_id=tenant.id)
        assert sorted(a.payload["ping_id"] for a in answers) == sorted(str(p.id) for p in requested)
    assert all(process.poll() is None for process in workers), "a worker died"
