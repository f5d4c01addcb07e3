"""Serve the emulator inside another program's event loop (``calhub demo``, ``calhub bench
sync``): over HTTPS on a loopback socket the caller has already bound, so the origin is known
before the server starts, and without taking the process's signal handlers, which belong to the
program around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import uvicorn

from calhub.emulators.graph.tls import TlsFiles

LOOPBACK: Final = "127.0.0.1"
STARTUP_TIMEOUT_S: Final = 10.0


def bind_loopback() -> socket.socket:
    """A listening TCP socket on a free loopback port."""
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((LOOPBACK, 0))
    listener.listen(2048)
    return listener


def https_origin(listener: socket.socket) -> str:
    return f"https://{LOOPBACK}:{listener.getsockname()[1]}"


class _EmbeddedServer(uvicorn.Server):
    """A second server in the process: the program around it owns the signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(
    app: Any, listener: socket.socket, tls: TlsFiles, *, shutdown_grace_s: int | None = None
) -> AsyncIterator[str]:
    """Serve ``app`` on ``listener`` until the block ends; yields the https origin."""
    config = uvicorn.Config(
        app,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=shutdown_grace_s,
        ssl_certfile=str(tls.server_certificate),
        ssl_keyfile=str(tls.server_key),
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the Graph emulator did not start")
                await asyncio.sleep(0.02)
        yield https_origin(listener)
    finally:
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)
        listener.close()
