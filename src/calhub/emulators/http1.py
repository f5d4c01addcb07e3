"""A lean HTTP/1.1 client for sending many small requests: the Google emulator's push messages
and the benchmarks' notification load.

A provider's push fleet runs on the provider's machines; the emulator runs on calhub's, and the
CPU it spends per message is taken from what it stands beside. httpx spent more than a
millisecond per body-less POST (request and URL objects, and a connection pool that checks
every idle connection's socket on each request); here a request is a few bytes written to a
kept-alive connection and its answer is read only as far as its status, headers and body
length.

What it does not do, because no caller needs it: redirects, cookies, proxies, compression,
``Expect: 100-continue``, HTTP/2. ``https`` origins are verified by the ``ssl`` module's default
context (``SSL_CERT_FILE`` names a CA bundle, as for httpx).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["HttpFailure", "KeepAlivePool", "read_answer", "serialise"]


class HttpFailure(Exception):
    """No answer: the connection could not be made, broke, or the answer was not HTTP/1.1."""


def serialise(
    method: str, target: str, authority: str, headers: Mapping[str, str], body: bytes = b""
) -> bytes:
    """One request as it goes on the wire, with ``Host`` and ``Content-Length``."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    keep_alive: bool  # whether the server keeps the connection open for the next request


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """Reads one response from ``reader`` (its body is read and dropped). Raises
    ``HttpFailure`` when the connection ends first or the response is not HTTP/1.x."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        while head[9:10] == b"1" and head[9:12] != b"101":  # an interim answer (102 Processing)
            head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise HttpFailure(f"not an HTTP/1.x answer: {lines[0][:40]!r}")
        status = int(rest[:3])
        length, chunked, keep_alive = 0, False, version == b"HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = value.endswith(b"chunked")
            elif name == b"connection":
                keep_alive = value == b"keep-alive" or (keep_alive and value != b"close")
        if chunked:
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, if any
                pass
        elif length:
            await reader.readexactly(length)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise HttpFailure("the connection ended before the answer did") from exc
    except ValueError as exc:
        raise HttpFailure("the answer's status or lengths are not numbers") from exc
    return Answer(status, keep_alive)


@dataclass(slots=True)
class _Origin:
    host: str
    port: int
    tls: bool
    authority: str
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = field(default_factory=list)


class KeepAlivePool:
    """POSTs to any number of origins over kept-alive connections, one request per connection
    at a time; an idle connection is reused, a busy origin gets another connection."""

    def __init__(self) -> None:
        self._origins: dict[str, _Origin] = {}
        self._tls: ssl.SSLContext | None = None

    async def post(self, url: str, headers: Mapping[str, str], body: bytes = b"") -> int:
        """The answer's status. Raises ``HttpFailure`` (refused, reset, TLS failure, not
        HTTP). The caller bounds the wait (``asyncio.timeout``)."""
        parts = urlsplit(url)
        origin = self._origin(parts.scheme, parts.netloc)
        target = parts.path or "/"
        if parts.query:
            target = f"{target}?{parts.query}"
        raw = serialise("POST", target, origin.authority, headers, body)
        kept = self._kept(origin)
        if kept is not None:
            try:
                return await self._exchange(origin, *kept, raw)
            except HttpFailure:
                pass  # the server closed it as we wrote: a new connection gets the request
        reader, writer = await self._connect(origin)
        return await self._exchange(origin, reader, writer, raw)

    @staticmethod
    def _kept(origin: _Origin) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """An idle connection the server has not closed, if there is one."""
        while origin.idle:
            reader, writer = origin.idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def aclose(self) -> None:
        for origin in self._origins.values():
            for _, writer in origin.idle:
                writer.close()
            origin.idle.clear()

    async def _exchange(
        self,
        origin: _Origin,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        raw: bytes,
    ) -> int:
        try:
            writer.write(raw)
            answer = await read_answer(reader)
        except OSError as exc:
            writer.close()
            raise HttpFailure(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:  # no answer (a timeout, a cancelled task): the connection is spent
            writer.close()
            raise
        if answer.keep_alive:
            origin.idle.append((reader, writer))
        else:
            writer.close()
        return answer.status

    async def _connect(self, origin: _Origin) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_connection(
                origin.host,
                origin.port,
                ssl=self._context() if origin.tls else None,
                server_hostname=origin.host if origin.tls else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise HttpFailure(f"{type(exc).__name__}: {exc}") from exc

    def _origin(self, scheme: str, netloc: str) -> _Origin:
        key = f"{scheme}://{netloc}"
        origin = self._origins.get(key)
        if origin is None:
            if scheme not in ("http", "https"):
                raise HttpFailure(f"not an http(s) address: {key}")
            parts = urlsplit(key)
            try:
                port = parts.port or (443 if scheme == "https" else 80)
            except ValueError as exc:
                raise HttpFailure(f"not a port number in {key}") from exc
            if parts.hostname is None:
                raise HttpFailure(f"no host in {key}")
            authority = netloc.rpartition("@")[2]  # never credentials in Host
            origin = _Origin(parts.hostname, port, scheme == "https", authority)
            self._origins[key] = origin
        return origin

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls
