"""Shared fixtures: one embedded PostgreSQL per test run, a fresh migrated database per module.

The server comes from the ``pgserver`` wheel, the same engine as production. Migrations run once
into a template database; each test module gets ``CREATE DATABASE ... TEMPLATE`` of it, which takes
milliseconds, so modules never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import structlog

from calhub.storage.embedded import embedded_postgres
from calhub.storage.migrate import upgrade_to_head

# The in-process Graph emulator (clock, graph_state, graph_app) and storage on a fresh database
# (engine, keyring, uow_factory), and calhub's services on a live emulator (hub, live_graph), for
# every test directory that needs them.
pytest_plugins = [
    "tests.emulators.graph.fixtures",
    "tests.storage.fixtures",
    "tests.hub_fixtures",
]

TEMPLATE = "calhub_template"
_counter = itertools.count()


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    root = base.rsplit("/", 1)[0]
    return f"{root}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the run's PostgreSQL server (its maintenance database)."""
    external = os.environ.get("CALHUB_TEST_DATABASE_URL")
    if external:
        yield external
        return
    with embedded_postgres(tmp_path_factory.mktemp("pg")) as url:
        yield url


@pytest.fixture(scope="session")
def template_url(postgres_url: str) -> str:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {TEMPLATE}")
    url = _with_database(postgres_url, TEMPLATE)
    upgrade_to_head(url)
    return url


def create_database(postgres_url: str, template_url: str) -> str:
    """A new database copied from the migrated template; returns its URL."""
    del template_url  # the fixture dependency guarantees the template exists
    name = f"t{next(_counter)}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return _with_database(postgres_url, name)


@pytest.fixture(scope="module")
def database_url(postgres_url: str, template_url: str) -> str:
    """A fresh, migrated database for this test module."""
    return create_database(postgres_url, template_url)


@pytest.fixture
def fresh_database_url(postgres_url: str, template_url: str) -> str:
    """A fresh, migrated database for one test (for tests that must start empty)."""
    return create_database(postgres_url, template_url)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "master.key"


@pytest.fixture(autouse=True)
def _logging_reset_after_test() -> Iterator[None]:
    """A CLI test configures structlog onto its captured stream, which pytest closes afterwards;
    later tests must not log into that closed stream."""
    yield
    structlog.reset_defaults()
