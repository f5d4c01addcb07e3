"""The composition root: ``bootstrap(settings)`` builds everything a process needs, once.

It starts the embedded PostgreSQL when no ``CALHUB_DATABASE_URL`` is set, migrates the schema,
opens the engine, the keyring and the job queue, and closes them in reverse order on exit. The
API (``create_app``), the worker and the CLI all start from here; nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import procrastinate
from sqlalchemy.ext.asyncio import AsyncEngine

from calhub.domain.clock import Clock, SystemClock
from calhub.services.context import HubContext
from calhub.services.jobs import JobQueue
from calhub.services.providers import ProviderEndpoints, ProviderRegistry
from calhub.settings import Settings
from calhub.storage.crypto.keyring import Keyring
from calhub.storage.crypto.providers import key_provider_from
from calhub.storage.database import check_database, create_engine
from calhub.storage.embedded import embedded_postgres
from calhub.storage.migrate import upgrade_to_head
from calhub.storage.queue import ProcrastinateJobQueue, build_task_app
from calhub.storage.unit_of_work import UnitOfWorkFactory
from calhub.sync.engine import MirrorWindow


@dataclass(frozen=True, slots=True)
class Runtime:
    """What one calhub process holds while it runs."""

    settings: Settings
    database_url: str
    engine: AsyncEngine
    keyring: Keyring
    uow: UnitOfWorkFactory
    task_app: procrastinate.App
    jobs: JobQueue
    clock: Clock
    hub: HubContext  # what the connection, intake and sync services need

    async def database_ready(self) -> bool:
        return await check_database(self.engine)


@contextlib.asynccontextmanager
async def database_url_for(settings: Settings) -> AsyncIterator[str]:
    """The configured database, or the embedded one for the lifetime of the context."""
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    server = embedded_postgres(settings.data_dir)
    url = await asyncio.to_thread(server.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(server.__exit__, None, None, None)


@contextlib.asynccontextmanager
async def bootstrap(settings: Settings, *, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    async with database_url_for(settings) as url:
        await asyncio.to_thread(upgrade_to_head, url)
        engine = create_engine(url, pool_size=settings.db_pool_size)
        try:
            keyring = Keyring(key_provider_from(settings.master_key, settings.resolved_key_file))
            task_app = build_task_app(url)
            uow = UnitOfWorkFactory(engine, keyring)
            jobs = ProcrastinateJobQueue(task_app)
            clock = clock or SystemClock()
            providers = ProviderRegistry(provider_endpoints(settings), clock)
            hub = HubContext(
                uow=uow,
                jobs=jobs,
                clock=clock,
                providers=providers,
                public_base_url=settings.public_base_url,
                window=MirrorWindow(settings.mirror_days_back, settings.mirror_days_ahead),
                occurrence_limit=settings.max_occurrences_per_window,
            )
            try:
                async with task_app.open_async():
                    yield Runtime(
                        settings=settings,
                        database_url=url,
                        engine=engine,
                        keyring=keyring,
                        uow=uow,
                        task_app=task_app,
                        jobs=jobs,
                        clock=clock,
                        hub=hub,
                    )
            finally:
                await providers.close()
        finally:
            await engine.dispose()


def provider_endpoints(settings: Settings) -> ProviderEndpoints:
    return ProviderEndpoints(
        graph_base_url=settings.graph_base_url,
        microsoft_login_url=settings.microsoft_login_url,
        google_calendar_url=settings.google_calendar_url,
        google_directory_url=settings.google_directory_url,
        google_token_url=settings.google_token_url,
        ca_bundle=None if settings.ca_bundle is None else str(settings.ca_bundle),
        requests_per_second=settings.provider_requests_per_second,
        request_burst=settings.provider_request_burst,
    )
