"""``calhub join-settings show|set``: a tenant's keywords, meeting backends and join-block header
and footer from a shell (issue 5; the same document as ``GET/PUT /api/v1/join-settings``, see
``calhub.domain.joinlinks.settings_json``).

    calhub join-settings show > settings.json      # edit it, then
    calhub join-settings set settings.json

``--tenant`` may be left out while the hub has a single tenant. Mistakes (unreadable file, not
JSON, a field that cannot be used, no such tenant) are printed in red and exit with code 2;
nothing is stored then.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from calhub.bootstrap import Runtime
from calhub.cli.common import console, run_with_runtime
from calhub.domain.ids import TenantId
from calhub.domain.joinlinks.settings_json import settings_to_json
from calhub.services.join_settings import (
    InvalidJoinSettings,
    UnknownTenant,
    get_join_settings,
    set_join_settings,
)
from calhub.services.tenants import list_tenants

join_settings_app = typer.Typer(
    help="Show and set a tenant's join settings: keywords, meeting backends, join-block header "
    "and footer.",
    no_args_is_help=True,
)

TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant", help="calhub tenant id; may be left out while there is only one tenant."
    ),
]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/red]")
    return typer.Exit(2)


def _given_tenant(tenant: str | None) -> TenantId | None:
    if tenant is None:
        return None
    try:
        return TenantId(uuid.UUID(tenant))
    except ValueError as exc:
        raise _fail(f"--tenant must be a tenant id (a UUID), got {tenant!r}") from exc


async def _tenant(runtime: Runtime, given: TenantId | None) -> TenantId:
    if given is not None:
        return given
    tenants = await list_tenants(runtime.uow)
    if len(tenants) == 1:
        return tenants[0].id
    if not tenants:
        raise _fail("there is no tenant yet; create one with `calhub tenant create NAME`")
    raise _fail(f"there are {len(tenants)} tenants; pick one with --tenant (`calhub tenant list`)")


def _read_document(file: str) -> object:
    name = "standard input" if file == "-" else file
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {name}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            f"{name} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:  # a number too long, nesting too deep
        raise _fail(f"{name} cannot be read as JSON: {exc}") from exc


@join_settings_app.command("show")
def show(tenant: TenantOption = None) -> None:
    """Print the tenant's join settings as JSON (the defaults if never set)."""
    given = _given_tenant(tenant)

    async def main(runtime: Runtime) -> None:
        tenant_id = await _tenant(runtime, given)
        try:
            settings = await get_join_settings(runtime.uow, tenant_id)
        except UnknownTenant as exc:
            raise _fail(f"no tenant {tenant_id}") from exc
        typer.echo(json.dumps(settings_to_json(settings), indent=2, ensure_ascii=False))

    run_with_runtime(main)


@join_settings_app.command("set")
def set_settings(
    file: Annotated[str, typer.Argument(help="JSON file with the settings; - reads stdin.")],
    tenant: TenantOption = None,
) -> None:
    """Replace the tenant's join settings with FILE's; fields left out take their defaults."""
    given = _given_tenant(tenant)
    document = _read_document(file)

    async def main(runtime: Runtime) -> None:
        tenant_id = await _tenant(runtime, given)
        try:
            await set_join_settings(runtime.uow, tenant_id, document, runtime.clock.now())
        except InvalidJoinSettings as exc:
            raise _fail(str(exc)) from exc
        except UnknownTenant as exc:
            raise _fail(f"no tenant {tenant_id}") from exc
        console.print(f"join settings of tenant {tenant_id} saved")

    run_with_runtime(main)


def register(app: typer.Typer) -> None:
    app.add_typer(join_settings_app, name="join-settings")
