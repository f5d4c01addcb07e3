"""Storage fixtures shared beyond ``tests/storage``: an engine on the module's fresh database,
a keyring with a throw-away key, and a unit-of-work factory on both."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from calhub.storage.crypto import Keyring, StaticKeyProvider
from calhub.storage.database import create_engine
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
