"""What the repositories of one unit of work share: its connection and the keyring."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from calhub.storage.crypto.fields import TenantKeys
from calhub.storage.crypto.keyring import Keyring

T = TypeVar("T")

BATCH_ROWS = 500
"""Rows per multi-row INSERT: well below PostgreSQL's 65,535 bind parameters per statement."""


def overlaps_window(
    start_column: ColumnElement[datetime],
    end_column: ColumnElement[datetime],
    start: datetime,
    end: datetime,
) -> ColumnElement[bool]:
    """Rows overlapping [start, end); a zero-length row counts when it starts inside."""
    return or_(
        (start_column < end) & (end_column > start),
        (start_column == end_column) & (start_column >= start) & (start_column < end),
    )


def unnested_rows(table: Table, names: Sequence[str]) -> Select[Any]:
    """``SELECT unnest(:<name>_values) AS <name>, ...`` over ``table``'s columns ``names``.

    Rows travel as one array per column (``column_arrays``): a statement built on this carries
    any number of rows in one round trip, and is compiled and prepared once for every size."""
    return select(
        *(
            func.unnest(bindparam(f"{name}_values", type_=ARRAY(table.c[name].type))).label(name)
            for name in names
        )
    )


def column_arrays(rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """The parameters of ``unnested_rows``: one list per column."""
    return {f"{name}_values": [row[name] for row in rows] for name in names}


class Scope:
    def __init__(self, conn: AsyncConnection, keyring: Keyring) -> None:
        self.conn = conn
        self.keyring = keyring
        # Tenants whose data keys this unit of work created: forgotten by the keyring's cache
        # on rollback, so a key that never reached the database is never used.
        self.new_key_tenants: set[uuid.UUID] = set()

    async def keys(self, tenant_id: uuid.UUID, blobs: Iterable[bytes | None] = ()) -> TenantKeys:
        return await self.keyring.for_tenant(self.conn, tenant_id, blobs)


def batches(items: Sequence[T], size: int = BATCH_ROWS) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
