"""What every command shares: settings from the environment, logging, running async code."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from calhub.bootstrap import Runtime, bootstrap
from calhub.domain.ids import TenantId
from calhub.logs import configure_logging
from calhub.services.tenants import list_tenants
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


OptionalTenant = Annotated[
    str | None,
    typer.Option("--tenant", help="calhub tenant id; may be left out while there is only one."),
]
"""The ``--tenant`` option of commands that pick the only tenant when it is left out
(``given_tenant``, ``chosen_tenant``)."""


def fail(message: str) -> typer.Exit:
    """A mistake in what the user asked for: said in red, exit code 2 (raise what it returns)."""
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(2)


def given_tenant(tenant: str | None) -> TenantId | None:
    """The ``--tenant`` option as a tenant id (None when left out)."""
    if tenant is None:
        return None
    try:
        return TenantId(uuid.UUID(tenant))
    except ValueError as exc:
        raise fail(f"--tenant must be a tenant id (a UUID), got {tenant!r}") from exc


async def chosen_tenant(runtime: Runtime, given: TenantId | None) -> TenantId:
    """``given``, or the hub's only tenant; with none or several, what to do instead."""
    if given is not None:
        return given
    tenants = await list_tenants(runtime.uow)
    if len(tenants) == 1:
        return tenants[0].id
    if not tenants:
        raise fail("there is no tenant yet; create one with `calhub tenant create NAME`")
    raise fail(f"there are {len(tenants)} tenants; pick one with --tenant (`calhub tenant list`)")


def read_json_document(file: str) -> object:
    """The parsed JSON of ``file`` (``-``: standard input); a red message and exit 2 if it
    cannot be read or is not JSON."""
    name = "standard input" if file == "-" else file
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {name}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(
            f"{name} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
        raise fail(f"{name} cannot be read as JSON: {exc}") from exc
