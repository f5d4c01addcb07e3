"""Serve an ASGI app with uvicorn on a free loopback port inside the test's own event loop.

For apps that must share the test's loop (a runtime's engine, a listener) and be reached over a
real socket: streamed responses (server-sent events) and webhook receivers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


@contextlib.asynccontextmanager
async def serve_in_loop(app: Any, *, lifespan: str = "off", port: int = 0) -> AsyncIterator[str]:
    """Yield ``http://127.0.0.1:PORT`` while ``app`` is served (on ``port``, or a free one).
    Leaving the block closes open connections within two seconds."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan=lifespan,
            timeout_graceful_shutdown=2,
        )
    )
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
