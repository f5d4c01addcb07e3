"""What every command shares: settings from the environment, logging, running async code."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from calhub.bootstrap import Runtime, bootstrap
from calhub.logs import configure_logging
from calhub.settings import Settings

T = TypeVar("T")
console = Console(stderr=True, soft_wrap=True, highlight=False)  # long keys and URLs stay whole
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 - listen-on-all names, shown as loopback


def load_settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            field = "CALHUB_" + "_".join(str(p) for p in error["loc"]).upper()
            console.print(f"[red]invalid setting {field}: {error['msg']}[/red]")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    # Turn SIGTERM into an exception so every context manager closes on the way out: the
    # embedded PostgreSQL is stopped, connections are returned. (uvicorn re-raises the SIGTERM it
    # captured once its graceful shutdown is done; without this the process would just die.)
    raise SystemExit(128 + signum)


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (not on Windows): the same asyncio API with
    less CPU spent per request and query (docs/sync.md, "Throughput")."""
    try:
        import uvloop  # not on Windows
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a new event loop; SIGTERM closes it cleanly."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        return runner.run(coroutine)


def run_with_runtime(action: Callable[[Runtime], Awaitable[T]]) -> T:
    """Settings from the environment, a bootstrapped runtime for ``action``, then a clean close."""
    settings = load_settings()

    async def main() -> T:
        async with bootstrap(settings) as runtime:
            return await action(runtime)

    return run_async(main())
