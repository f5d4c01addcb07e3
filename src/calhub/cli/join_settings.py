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
from typing import Annotated

import typer

from calhub.bootstrap import Runtime
from calhub.cli.common import (
    OptionalTenant,
    chosen_tenant,
    console,
    fail,
    given_tenant,
    read_json_document,
    run_with_runtime,
)
from calhub.domain.joinlinks.settings_json import settings_to_json
from calhub.services.join_settings import (
    InvalidJoinSettings,
    UnknownTenant,
    get_join_settings,
    set_join_settings,
)

join_settings_app = typer.Typer(
    help="Show and set a tenant's join settings: keywords, meeting backends, join-block header "
    "and footer.",
    no_args_is_help=True,
)


@join_settings_app.command("show")
def show(tenant: OptionalTenant = None) -> None:
    """Print the tenant's join settings as JSON (the defaults if never set)."""
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> None:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            settings = await get_join_settings(runtime.uow, tenant_id)
        except UnknownTenant as exc:
            raise fail(f"no tenant {tenant_id}") from exc
        typer.echo(json.dumps(settings_to_json(settings), indent=2, ensure_ascii=False))

    run_with_runtime(main)


@join_settings_app.command("set")
def set_settings(
    file: Annotated[str, typer.Argument(help="JSON file with the settings; - reads stdin.")],
    tenant: OptionalTenant = None,
) -> None:
    """Replace the tenant's join settings with FILE's; fields left out take their defaults."""
    given = given_tenant(tenant)
    document = read_json_document(file)

    async def main(runtime: Runtime) -> None:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            await set_join_settings(runtime.uow, tenant_id, document, runtime.clock.now())
        except InvalidJoinSettings as exc:
            raise fail(str(exc)) from exc
        except UnknownTenant as exc:
            raise fail(f"no tenant {tenant_id}") from exc
        console.print(f"join settings of tenant {tenant_id} saved")

    run_with_runtime(main)


def register(app: typer.Typer) -> None:
    app.add_typer(join_settings_app, name="join-settings")
