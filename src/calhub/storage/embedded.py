"""The embedded default: a private PostgreSQL from the ``pgserver`` wheel under the data dir.

Only used when no ``CALHUB_DATABASE_URL`` is set. ``pgserver`` ships PostgreSQL binaries inside
the wheel, so a newcomer needs nothing installed; it starts in about half a second and is stopped
when the last process using it exits.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATABASE_NAME = "calhub"


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the embedded server under ``data_dir/pg`` and yield a libpq URL for it."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore", UserWarning)
        import pgserver  # heavy import: only when the embedded server is wanted

        pgdata = (data_dir / "pg").resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server: Any = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"  # noqa: S608 - constant
        exists = server.psql(query)
        if "1 row" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        yield str(server.get_uri(DATABASE_NAME))
    finally:
        server.cleanup()
