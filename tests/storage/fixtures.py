"""Storage fixtures shared beyond ``tests/storage``: an engine on the module's fresh database,
a keyring with a throw-away key, a unit-of-work factory on both, and a Procrastinate app on a
database of the test's own."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import procrastinate
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from calhub.storage.crypto import Keyring, StaticKeyProvider
from calhub.storage.database import create_engine
from calhub.storage.queue import build_task_app
from calhub.storage.unit_of_work import UnitOfWorkFactory


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def keyring() -> Keyring:
    return Keyring(StaticKeyProvider(secrets.token_bytes(32)))


@pytest.fixture(scope="module")
def uow_factory(engine: AsyncEngine, keyring: Keyring) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(engine, keyring)


@pytest.fixture
async def task_app(fresh_database_url: str) -> AsyncIterator[procrastinate.App]:
    """Procrastinate's app, open, on the test's own migrated database."""
    app = build_task_app(fresh_database_url)
    async with app.open_async():
        yield app
