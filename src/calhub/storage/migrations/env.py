"""Alembic environment: runs on the connection ``calhub.storage.migrate`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from calhub.storage.tables import metadata


def run() -> None:
    connection: Connection | None = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError("run migrations with calhub.storage.migrate (calhub migrate)")
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


run()
