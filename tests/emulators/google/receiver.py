"""A push-notification receiver on a real loopback port, for the watch-channel tests.

``Receiver`` is a small Starlette app served by uvicorn in a background thread (the Graph tests'
``serve_in_thread``), so the emulator's deliveries cross real sockets exactly as they would reach
a calhub deployment. It records every POST (headers, raw body, what it answered) per path and
answers as scripted: ``answer(path, *statuses)`` queues the next answers on a path; unscripted
POSTs get 200. Tests give each case its own path (``Hook``) so one server serves a whole module.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.emulators.graph.servers import serve_in_thread


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST as the receiver saw it; header names lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def state(self) -> str:
        return self.headers["x-goog-resource-state"]

    @property
    def number(self) -> int:
        return int(self.headers["x-goog-message-number"])


@dataclass
class Receiver:
    deliveries: list[Delivery] = field(default_factory=list)
    statuses: dict[str, deque[int]] = field(default_factory=dict)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])

    def answer(self, path: str, *statuses: int) -> None:
        with self._arrived:
            self.statuses.setdefault(path, deque()).extend(statuses)

    def on(self, path: str) -> list[Delivery]:
        with self._arrived:
            return [delivery for delivery in self.deliveries if delivery.path == path]

    def wait_for(self, path: str, count: int, seconds: float) -> list[Delivery]:
        """Block until ``count`` POSTs reached ``path``; all of them. Fails after ``seconds``."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self._on(path)) >= count, seconds)
            seen = self._on(path)
        assert arrived, f"{len(seen)} of {count} notifications reached {path}: {seen}"
        return seen

    def _on(self, path: str) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if delivery.path == path]

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        with self._arrived:
            scripted = self.statuses.get(path)
            status = scripted.popleft() if scripted else 200
            self.deliveries.append(
                Delivery(
                    method=request.method,
                    path=path,
                    headers={name.lower(): value for name, value in request.headers.items()},
                    body=body,
                    answered=status,
                )
            )
            self._arrived.notify_all()
        return Response(status_code=status)


@dataclass(frozen=True, slots=True)
class Hook:
    """One test's own path on the shared receiver."""

    receiver: Receiver
    base_url: str
    path: str

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.path}"

    def answer(self, *statuses: int) -> None:
        self.receiver.answer(self.path, *statuses)

    @property
    def deliveries(self) -> list[Delivery]:
        return self.receiver.on(self.path)

    async def wait_for(self, count: int, seconds: float = 5.0) -> list[Delivery]:
        return await asyncio.to_thread(self.receiver.wait_for, self.path, count, seconds)


@contextmanager
def serving() -> Iterator[tuple[Receiver, str]]:
    """A receiver on a free loopback port, and its base URL."""
    receiver = Receiver()
    with serve_in_thread(receiver.app) as base_url:
        yield receiver, base_url


def new_hook(receiver: Receiver, base_url: str) -> Hook:
    return Hook(receiver, base_url, f"/hooks/{uuid.uuid4().hex}")
