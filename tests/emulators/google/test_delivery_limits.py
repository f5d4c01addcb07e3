"""The deliverer's bound on messages in flight: with many channels firing at once it sends at
most ``max_in_flight`` messages at a time, each over a connection it keeps for the next one.

The receiver is a bare asyncio server on a loopback port that holds every answer a moment and
counts the requests it is answering at once and the connections it accepted.
"""

from __future__ import annotations

import asyncio
import time

from calhub.emulators.google.channels.delivery import (
    Deliverer,
    DeliveryPolicy,
    DeliveryStats,
    Message,
)

HOLD_S = 0.05  # how long the receiver keeps each request before answering


class SlowReceiver:
    def __init__(self) -> None:
        self.answering = 0
        self.most_at_once = 0
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):  # body-less POSTs: the head is all
                self.requests += 1
                self.answering += 1
                self.most_at_once = max(self.most_at_once, self.answering)
                await asyncio.sleep(HOLD_S)
                self.answering -= 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except asyncio.IncompleteReadError:
            pass  # the deliverer closed the connection
        finally:
            writer.close()


async def test_at_most_max_in_flight_messages_are_sent_at_once_over_kept_connections() -> None:
    receiver = SlowReceiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    deliverer = Deliverer(DeliveryPolicy(max_in_flight=4), wanted=lambda message: True)
    stats = [DeliveryStats() for _ in range(12)]
    for round_ in range(3):  # three messages on each of twelve channels
        for lane, lane_stats in enumerate(stats):
            deliverer.queue(
                Message(
                    lane=lane,
                    address=f"http://127.0.0.1:{port}/hook",
                    headers={"X-Goog-Message-Number": str(round_ + 1)},
                    stats=lane_stats,
                    not_before=time.monotonic(),
                )
            )
    try:
        async with asyncio.timeout(10):
            await deliverer.drain()
    finally:
        await deliverer.close()
        server.close()
        await server.wait_closed()

    assert [s.delivered for s in stats] == [3] * 12
    assert receiver.requests == 36
    assert receiver.most_at_once == 4
    assert receiver.connections == 4  # each connection carried nine messages
