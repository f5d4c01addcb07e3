"""Long-running commands: ``serve``, ``worker``, ``demo`` and ``migrate``."""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from calhub.api.app import create_app
from calhub.bootstrap import Runtime, bootstrap, database_url_for
from calhub.cli.common import console, load_settings, run_async, run_with_runtime
from calhub.cli.demo import prepare_emulator, running_emulator, set_up_demo, show_device_feed
from calhub.storage.migrate import upgrade_to_head
from calhub.workers.tasks import run_worker


class _Server(uvicorn.Server):
    """uvicorn's server that ends open event streams (``/api/v1/stream``) before it waits for
    responses to finish: a stream never ends by itself."""

    def __init__(self, config: uvicorn.Config, api: FastAPI) -> None:
        super().__init__(config)
        self._api = api

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        listener = getattr(self._api.state, "outbox_listener", None)
        if listener is not None:
            listener.stop_streams()
        await super().shutdown(sockets)


async def _serve(runtime: Runtime, with_worker: bool) -> None:
    settings = runtime.settings
    api = create_app(settings, runtime)
    config = uvicorn.Config(
        api,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config, api)
    if not with_worker:
        await server.serve()
        return
    worker = asyncio.create_task(
        run_worker(runtime, settings.worker_concurrency, install_signal_handlers=False)
    )
    try:
        await server.serve()
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


def serve(
    with_worker: Annotated[
        bool, typer.Option("--with-worker", help="Also run one worker in this process.")
    ] = False,
) -> None:
    """Serve the HTTP API on CALHUB_HOST:CALHUB_PORT."""

    async def main(runtime: Runtime) -> None:
        await _serve(runtime, with_worker)

    run_with_runtime(main)


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(help="Jobs run at once (default CALHUB_WORKER_CONCURRENCY)."),
    ] = None,
) -> None:
    """Run a background worker; start as many as you like, on any machine."""

    async def main(runtime: Runtime) -> None:
        await run_worker(runtime, concurrency or runtime.settings.worker_concurrency)

    run_with_runtime(main)


def migrate() -> None:
    """Bring the database schema (calhub's and the job queue's) up to date."""
    settings = load_settings()

    async def main() -> None:
        async with database_url_for(settings) as url:
            await asyncio.to_thread(upgrade_to_head, url)

    run_async(main())
    console.print("[green]database schema is up to date[/green]")


def demo() -> None:
    """Start calhub with the embedded defaults and a Graph emulator with a seeded tenant,
    connected and syncing; prints a fresh API key and what to try, then a room device's live
    feed with a join prompt arriving about two minutes in."""
    emulator = prepare_emulator(load_settings())

    async def main() -> None:
        # The emulator outlives the runtime, so calhub's Graph clients close their connections
        # before the emulator shuts down (else it would wait for them).
        async with running_emulator(emulator), bootstrap(emulator.settings) as runtime:
            tenant_id = await set_up_demo(runtime, emulator)
            feed = asyncio.create_task(show_device_feed(runtime, tenant_id))
            try:
                await _serve(runtime, with_worker=True)
            finally:
                feed.cancel()
                await asyncio.gather(feed, return_exceptions=True)

    run_async(main())


def register(app: typer.Typer) -> None:
    for command in (serve, worker, migrate, demo):
        app.command()(command)
