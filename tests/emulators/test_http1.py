"""The lean HTTP/1.1 client (``calhub.emulators.http1``) against loopback servers it cannot fool.

Each test starts a tiny scripted server on 127.0.0.1: it reads whole requests (head, then a
``Content-Length`` body), records each with the number of the connection it came on, and answers
with hand-written bytes, so the tests decide exactly what the client sees and check exactly what
it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pytest

from calhub.emulators.http1 import Answer, HttpFailure, KeepAlivePool, read_answer, serialise

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"
CLOSE = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass(frozen=True)
class Step:
    """What the server does with one request: writes ``answer`` (``None``: nothing), then hangs
    up if ``close``."""

    answer: bytes | None
    close: bool = False


@dataclass(frozen=True)
class Request:
    connection: int  # the connection it came on, numbered from 0 in the order they were accepted
    raw: bytes  # head and body, as received


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


class Server:
    """Answers the requests it receives, on whatever connection, with its steps in order; once
    they run out it hangs up without answering."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        self.requests: list[Request] = []
        self.connections = 0
        self.hung_up: asyncio.Queue[int] = asyncio.Queue()  # connections it closed itself
        self.port = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number, self.connections = self.connections, self.connections + 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(_content_length(head))
                self.requests.append(Request(number, head + body))
                step = self.steps.pop(0) if self.steps else Step(None, close=True)
                if step.answer is not None:
                    writer.write(step.answer)
                    await writer.drain()
                if step.close:
                    writer.close()
                    await writer.wait_closed()
                    self.hung_up.put_nowait(number)
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        finally:
            writer.close()

    async def aclose(self) -> None:
        for writer in self._writers:
            writer.close()
        await asyncio.gather(*self._tasks)


@contextlib.asynccontextmanager
async def serving(*steps: Step) -> AsyncIterator[Server]:
    server = Server(steps)
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        await server.aclose()
        await listener.wait_closed()


@pytest.fixture
async def pool() -> AsyncIterator[KeepAlivePool]:
    client = KeepAlivePool()
    yield client
    await client.aclose()


def connections_used(server: Server) -> list[int]:
    return [request.connection for request in server.requests]


async def test_post_sends_the_request_line_host_headers_and_body_and_returns_the_status(
    pool: KeepAlivePool,
) -> None:
    async with asyncio.timeout(5), serving(Step(ACCEPTED)) as server:
        status = await pool.post(
            f"http://127.0.0.1:{server.port}/hooks/google?channel=7&x=a%20b",
            {"X-Goog-Channel-Id": "chan-1", "User-Agent": "test"},
            b"hello world",
        )
    assert status == 202
    assert [request.raw for request in server.requests] == [
        b"POST /hooks/google?channel=7&x=a%20b HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{server.port}\r\n".encode()
        + b"X-Goog-Channel-Id: chan-1\r\nUser-Agent: test\r\nContent-Length: 11\r\n\r\n"
        + b"hello world"
    ]


async def test_post_without_a_path_or_body_targets_slash_with_content_length_zero(
    pool: KeepAlivePool,
) -> None:
    async with asyncio.timeout(5), serving(Step(OK)) as server:
        status = await pool.post(f"http://127.0.0.1:{server.port}", {})
    assert status == 200
    assert [request.raw for request in server.requests] == [
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Length: 0\r\n\r\n".encode()
    ]


def test_serialise_puts_host_first_and_content_length_last() -> None:
    raw = serialise("PUT", "/a?b=c", "example.com:8080", {"X-One": "1", "X-Two": "2"}, b"body")
    assert raw == (
        b"PUT /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nX-One: 1\r\nX-Two: 2\r\n"
        b"Content-Length: 4\r\n\r\nbody"
    )


@pytest.mark.parametrize(
    "answer",
    [
        OK,
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
    ],
    ids=["http1.1", "http1.1-keep-alive", "http1.0-keep-alive"],
)
async def test_consecutive_posts_reuse_one_kept_alive_connection(
    pool: KeepAlivePool, answer: bytes
) -> None:
    async with asyncio.timeout(5), serving(Step(answer), Step(answer)) as server:
        statuses = [await pool.post(server.url, {}), await pool.post(server.url, {})]
    assert statuses == [200, 200]
    assert server.connections == 1
    assert connections_used(server) == [0, 0]


@pytest.mark.parametrize(
    ("answer", "server_closes"),
    [
        (CLOSE, True),
        (CLOSE, False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
    ],
    ids=["connection-close-and-hang-up", "connection-close-left-open", "http1.0"],
)
async def test_an_answer_that_ends_the_connection_makes_the_next_post_use_a_new_one(
    pool: KeepAlivePool, answer: bytes, server_closes: bool
) -> None:
    async with asyncio.timeout(5), serving(Step(answer, server_closes), Step(ACCEPTED)) as server:
        statuses = [await pool.post(server.url, {}), await pool.post(server.url, {})]
    assert statuses == [200, 202]
    assert server.connections == 2
    assert connections_used(server) == [0, 1]


async def test_a_kept_alive_connection_the_server_closed_while_idle_is_not_used_again(
    pool: KeepAlivePool,
) -> None:
    async with asyncio.timeout(5), serving(Step(OK, close=True), Step(ACCEPTED)) as server:
        assert await pool.post(server.url, {"X-N": "1"}) == 200
        assert await server.hung_up.get() == 0
        status = await pool.post(server.url, {"X-N": "2"})
    assert status == 202
    assert connections_used(server) == [0, 1]
    assert b"X-N: 2" in server.requests[1].raw


async def test_a_request_the_server_drops_on_a_kept_alive_connection_is_sent_again_on_a_new_one(
    pool: KeepAlivePool,
) -> None:
    # The server hangs up on the second request instead of answering it, as a server closing an
    # idle connection does when the request crosses its close.
    steps = (Step(OK), Step(None, close=True), Step(ACCEPTED))
    async with asyncio.timeout(5), serving(*steps) as server:
        assert await pool.post(server.url, {"X-N": "1"}) == 200
        status = await pool.post(server.url, {"X-N": "2"})
    assert status == 202
    assert connections_used(server) == [0, 0, 1]
    assert server.requests[1].raw == server.requests[2].raw


async def test_answer_bodies_are_read_to_their_end_so_the_next_answer_parses(
    pool: KeepAlivePool,
) -> None:
    # Each body hides an answer's head: a body left unread, or a chunk read as lines up to the
    # first empty one, would leave a 299 or a 298 to be taken for the next answer.
    sized = b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nHTTP/1.1 299 \r\n\r\n"
    chunked = (
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"13\r\n\r\nHTTP/1.1 298 \r\n\r\n\r\n"  # 0x13 = 19 bytes: CRLF and a head
        b'e;ext=1\r\n"api#channel"}\r\n'
        b"0\r\n\r\n"
    )
    steps = (Step(sized), Step(chunked), Step(ACCEPTED))
    async with asyncio.timeout(5), serving(*steps) as server:
        statuses = [await pool.post(server.url, {}) for _ in steps]
    assert statuses == [200, 201, 202]
    assert connections_used(server) == [0, 0, 0]


async def test_chunked_trailers_are_read_to_their_end(pool: KeepAlivePool) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\nX-Checksum: 1\r\nX-Other: 2\r\n\r\n"
    )
    async with asyncio.timeout(5), serving(Step(chunked), Step(ACCEPTED)) as server:
        statuses = [await pool.post(server.url, {}), await pool.post(server.url, {})]
    assert statuses == [200, 202]
    assert connections_used(server) == [0, 0]


async def test_an_interim_102_is_skipped_for_the_final_answer(pool: KeepAlivePool) -> None:
    interim = b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    async with asyncio.timeout(5), serving(Step(interim), Step(OK)) as server:
        statuses = [await pool.post(server.url, {}), await pool.post(server.url, {})]
    assert statuses == [204, 200]
    assert connections_used(server) == [0, 0]


async def test_concurrent_posts_get_a_connection_each_and_both_are_kept(
    pool: KeepAlivePool,
) -> None:
    async with asyncio.timeout(5), serving(Step(OK), Step(OK), Step(ACCEPTED)) as server:
        first = await asyncio.gather(pool.post(server.url, {}), pool.post(server.url, {}))
        last = await pool.post(server.url, {})
    assert (list(first), last) == ([200, 200], 202)
    assert server.connections == 2
    assert sorted(connections_used(server)[:2]) == [0, 1]


async def test_a_post_that_timed_out_leaves_its_connection_unused(pool: KeepAlivePool) -> None:
    async with asyncio.timeout(5), serving(Step(None), Step(ACCEPTED)) as server:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await pool.post(server.url, {})
        status = await pool.post(server.url, {})
    assert status == 202
    assert connections_used(server) == [0, 1]


async def test_a_closed_port_raises_http_failure(pool: KeepAlivePool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with asyncio.timeout(5):
        with pytest.raises(HttpFailure):
            await pool.post(f"http://127.0.0.1:{port}/hook", {})


async def test_a_server_that_hangs_up_without_answering_raises_http_failure(
    pool: KeepAlivePool,
) -> None:
    async with asyncio.timeout(5), serving(Step(None, close=True)) as server:
        with pytest.raises(HttpFailure):
            await pool.post(server.url, {})
    assert len(server.requests) == 1  # a new connection's failure is not retried


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    ],
    ids=["not-http", "no-status", "bad-length"],
)
async def test_an_answer_that_is_not_http_raises_http_failure(
    pool: KeepAlivePool, answer: bytes
) -> None:
    async with asyncio.timeout(5), serving(Step(answer)) as server:
        with pytest.raises(HttpFailure):
            await pool.post(server.url, {})


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:21/hook", "http://127.0.0.1:notaport/hook"])
async def test_an_address_that_is_not_http_raises_http_failure(
    pool: KeepAlivePool, url: str
) -> None:
    with pytest.raises(HttpFailure):
        await pool.post(url, {})


def _fed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"HTTP/1.1 102 Processing\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
    ],
    ids=["empty", "head", "interim-only", "sized-body", "chunk", "last-chunk"],
)
async def test_read_answer_raises_http_failure_on_a_truncated_answer(data: bytes) -> None:
    async with asyncio.timeout(5):
        with pytest.raises(HttpFailure):
            await read_answer(_fed(data))


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 201 Created\r\n", True),
        (b"HTTP/1.1 201 Created\r\nConnection: close\r\n", False),
        (b"HTTP/1.0 201 Created\r\n", False),
        (b"HTTP/1.0 201 Created\r\nconnection: keep-alive\r\n", True),
    ],
)
async def test_read_answer_reports_the_status_and_whether_the_connection_is_kept(
    head: bytes, keep_alive: bool
) -> None:
    reader = _fed(head + b"Content-Length: 2\r\n\r\nokHTTP/1.1 204 No Content\r\n\r\n")
    async with asyncio.timeout(5):
        assert await read_answer(reader) == Answer(201, keep_alive)
        assert await read_answer(reader) == Answer(204, True)
