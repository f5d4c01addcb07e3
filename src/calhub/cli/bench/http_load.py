"""The benchmarks' notification load: many requests over a fixed number of kept-alive
connections, each connection sending its next request when the last one is answered.

The requests stand for a provider's notification fleet, which runs on the provider's machines;
here it shares the 2-core machine with what it measures, so it takes as little CPU as it can:
every request is serialised before the clock starts and each answer is read only as far as its
status (``calhub.emulators.http1``). httpx cost about 1.5 ms of CPU per request, more than the
intake it fed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Final

from calhub.emulators.http1 import read_answer

__all__ = ["ANSWER_TIMEOUT_S", "send_all"]

ANSWER_TIMEOUT_S: Final = 30.0


async def send_all(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    connections: int,
    answered: Callable[[int, int], None],
) -> None:
    """Send every serialised request (``http1.serialise``), ``connections`` at a time;
    ``answered(number, status)`` is called for each answer, ``number`` being the request's place
    in ``requests``. Raises ``http1.HttpFailure`` when the server closes a connection early,
    ``TimeoutError`` when an answer takes longer than ``ANSWER_TIMEOUT_S``."""
    queue = enumerate(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for number, raw in queue:
                writer.write(raw)
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    answer = await read_answer(reader)
                answered(number, answer.status)
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
