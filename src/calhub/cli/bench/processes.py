"""The hub's processes for benchmarks that run it for real: ``calhub serve`` and ``calhub
worker`` started as an operator would, on the benchmark's database, with their logs under its
directory (``bench sync``, ``bench obtp``).

    env = hub_environment(settings, database_url, root, ("port", "dispatch_tick_s"))
    async with hub_processes(root, env, {"worker0": ["worker"]}) as hub:
        hub.check()                       # raises with the log's tail if one has exited
        await hub.kill("worker0")         # SIGKILL: no shutdown
        await hub.start("worker1", "worker")
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from calhub.settings import Settings

STOP_GRACE_S = 20.0


def hub_environment(
    settings: Settings, database_url: str, root: Path, names: Sequence[str] = ()
) -> dict[str, str]:
    """The processes' environment: no inherited ``CALHUB_*``, the running database, the
    benchmark's data directory and key, its log level, and the settings ``names``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALHUB_")}
    env |= {
        "CALHUB_DATABASE_URL": database_url,
        "CALHUB_DATA_DIR": str(root / "data"),
        "CALHUB_KEY_FILE": str(settings.resolved_key_file.resolve()),
        "CALHUB_LOG_LEVEL": settings.log_level,
    }
    env |= {f"CALHUB_{name.upper()}": str(getattr(settings, name)) for name in names}
    if settings.master_key is not None:
        env["CALHUB_MASTER_KEY"] = settings.master_key.get_secret_value()
    return env


@dataclass
class HubProcesses:
    root: Path
    env: dict[str, str]
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    logs: list[IO[bytes]] = field(default_factory=list)

    async def start(self, name: str, *args: str) -> None:
        """``calhub <args>`` as ``name``, logging to ``<root>/<name>.log``."""
        log = (self.root / f"{name}.log").open("ab")
        self.logs.append(log)
        self.processes[name] = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "calhub",
            *args,
            env=self.env,
            cwd=self.root,
            stdout=log,
            stderr=log,
        )

    async def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, work in flight is abandoned mid-transaction."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        await process.wait()

    def check(self) -> None:
        for name, process in self.processes.items():
            if process.returncode is not None:
                log = (self.root / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"calhub {name} exited with {process.returncode}:\n{log}")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL for any still running after ``STOP_GRACE_S``."""
        for process in self.processes.values():
            if process.returncode is None:
                process.terminate()
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE_S)
            except TimeoutError:
                process.kill()
                await process.wait()
        for log in self.logs:
            log.close()


@contextlib.asynccontextmanager
async def hub_processes(
    root: Path, env: dict[str, str], commands: Mapping[str, Sequence[str]]
) -> AsyncIterator[HubProcesses]:
    """The processes ``commands`` names (``{"api": ["serve"]}``), stopped when the block ends."""
    hub = HubProcesses(root, env)
    try:
        for name, args in commands.items():
            await hub.start(name, *args)
        yield hub
    finally:
        await hub.stop()
