"""An API client on a real runtime: migrated PostgreSQL, keyring, job queue; the Google
emulator on loopback (``live_google``) for the Google connection tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from calhub.api.app import create_app
from calhub.bootstrap import Runtime, bootstrap
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant
from calhub.settings import Settings
from tests.services.google_world import live_google

__all__ = ["live_google"]


@pytest.fixture(scope="module")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("calhub")
    return Settings(
        database_url=SecretStr(database_url), data_dir=data_dir, max_body_bytes=4096, log_json=True
    )


@pytest_asyncio.fixture(scope="module")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with bootstrap(settings) as runtime:
        yield runtime


@pytest_asyncio.fixture(scope="module")
async def client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://calhub.test") as client:
            yield client


@pytest_asyncio.fixture(scope="module")
async def api_key(runtime: Runtime) -> str:
    tenant = await create_tenant(runtime.uow, runtime.clock, "Acme")
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    return issued.token


@pytest.fixture
def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
