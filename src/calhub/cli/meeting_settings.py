"""``calhub meeting-settings show|set``: a tenant's join-prompt lead times from a shell (issue 6,
"OBTP"; the same document as ``GET/PUT /api/v1/meeting-settings``, see
``calhub.domain.meetings.settings_json``).

    calhub meeting-settings show > settings.json      # edit it, then
    calhub meeting-settings set settings.json

``--tenant`` may be left out while the hub has a single tenant. Mistakes (unreadable file, not
JSON, a field that cannot be used, a room id that names no room calendar, no such tenant) are
printed in red and exit with code 2; nothing is stored then. A change reconciles the tenant's
join prompts before the command returns.
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
from calhub.domain.meetings.settings_json import settings_to_json
from calhub.services.meeting_settings import (
    InvalidMeetingSettings,
    UnknownTenant,
    get_meeting_settings,
    set_meeting_settings,
)

meeting_settings_app = typer.Typer(
    help="Show and set a tenant's meeting settings: how long before start join prompts fire, "
    "for the tenant and per room.",
    no_args_is_help=True,
)


@meeting_settings_app.command("show")
def show(tenant: OptionalTenant = None) -> None:
    """Print the tenant's meeting settings as JSON (the defaults if never set)."""
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> None:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            settings = await get_meeting_settings(runtime.uow, tenant_id)
        except UnknownTenant as exc:
            raise fail(f"no tenant {tenant_id}") from exc
        typer.echo(json.dumps(settings_to_json(settings), indent=2))

    run_with_runtime(main)


@meeting_settings_app.command("set")
def set_settings(
    file: Annotated[str, typer.Argument(help="JSON file with the settings; - reads stdin.")],
    tenant: OptionalTenant = None,
) -> None:
    """Replace the tenant's meeting settings with FILE's; fields left out take their defaults."""
    given = given_tenant(tenant)
    document = read_json_document(file)

    async def main(runtime: Runtime) -> None:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            await set_meeting_settings(runtime.uow, runtime.clock, tenant_id, document)
        except InvalidMeetingSettings as exc:
            raise fail(str(exc)) from exc
        except UnknownTenant as exc:
            raise fail(f"no tenant {tenant_id}") from exc
        console.print(f"meeting settings of tenant {tenant_id} saved")

    run_with_runtime(main)


def register(app: typer.Typer) -> None:
    app.add_typer(meeting_settings_app, name="meeting-settings")
