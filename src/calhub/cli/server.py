"""Long-running commands: ``serve``, ``worker``, ``demo`` and ``migrate``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn

from calhub.api.app import create_app
from calhub.bootstrap import Runtime, database_url_for
from calhub.cli.common import console, load_settings, run_async, run_with_runtime
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant, list_tenants
from calhub.storage.migrate import upgrade_to_head
from calhub.workers.tasks import run_worker

DEMO_TENANT = "Demo Organisation"


async def _serve(runtime: Runtime, with_worker: bool) -> None:
    settings = runtime.settings
    config = uvicorn.Config(
        create_app(settings, runtime),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
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
    """Start calhub with the embedded defaults, a demo tenant and a fresh API key."""

    async def main(runtime: Runtime) -> None:
        tenants = [t for t in await list_tenants(runtime.uow) if t.name == DEMO_TENANT]
        tenant = (
            tenants[0] if tenants else await create_tenant(runtime.uow, runtime.clock, DEMO_TENANT)
        )
        issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "demo")
        url = f"http://{runtime.settings.host}:{runtime.settings.port}"
        console.print(f"\n[bold]calhub demo[/bold] at {url}")
        console.print(f"  tenant   {tenant.name} ({tenant.id})")
        console.print(f"  API key  {issued.token}")
        console.print(
            f"  try      curl -H 'Authorization: Bearer {issued.token}' {url}/api/v1/tenant"
        )
        console.print(f"  docs     {url}/docs    health {url}/healthz\n")
        await _serve(runtime, with_worker=True)

    run_with_runtime(main)


def register(app: typer.Typer) -> None:
    for command in (serve, worker, migrate, demo):
        app.command()(command)
