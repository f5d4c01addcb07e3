"""``calhub presence show EMAIL``: whether a user is out of office, from their mailbox's automatic
replies (docs/presence.md; the same answer as ``GET /api/v1/users/{email}/presence``).

    calhub presence show adele@contoso.com
    calhub presence show adele@contoso.com --refresh --json

``--refresh`` reads the mailbox now (within 10 s) instead of showing the last poll; ``--json``
prints the API's JSON object. ``--tenant`` may be left out while the hub has a single tenant.
Mistakes (no such user, a room's address, a tenant that is not clear) are printed in red and
exit with code 2.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from calhub.api.routes.presence import PresenceOut, presence_out
from calhub.bootstrap import Runtime
from calhub.cli.common import OptionalTenant, chosen_tenant, fail, given_tenant, run_with_runtime
from calhub.services.presence import PresenceNotFound, RoomHasNoPresence, presence_for

presence_app = typer.Typer(
    help="See whether users are out of office (from their automatic replies).",
    no_args_is_help=True,
)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print(found: PresenceOut) -> None:
    out = Console(highlight=False)
    state = "[yellow]out of office[/yellow]" if found.out_of_office else "[green]available[/green]"
    out.print(f"{escape(found.email)}: {state}")
    out.print(f"  automatic replies: {found.reply_status}")
    if found.scheduled is not None:
        window = f"{_when(found.scheduled.start)} .. {_when(found.scheduled.end)}"
        out.print(f"  scheduled: {window}")
        if found.scheduled.problem:
            out.print(f"  [red]{escape(found.scheduled.problem)}[/red]")
    out.print(f"  until: {_when(found.until)}")
    out.print(f"  changed: {_when(found.changed_at)}   checked: {_when(found.checked_at)}")
    if found.last_error:
        out.print(f"  [red]last read failed: {escape(found.last_error)}[/red]")


@presence_app.command("show")
def show(
    email: Annotated[str, typer.Argument(help="The user's e-mail address.")],
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Read the mailbox now instead of the last poll.")
    ] = False,
    tenant: OptionalTenant = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON object.")] = False,
) -> None:
    """A user's out-of-office state: automatic replies, scheduled window, next change."""
    if "@" not in email.strip(" @"):
        raise fail(f"{email!r} is not an e-mail address")
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> PresenceOut:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            found = await presence_for(runtime.hub, tenant_id, email.strip(), refresh=refresh)
        except PresenceNotFound as exc:
            raise fail(f"no user {email} in tenant {tenant_id}") from exc
        except RoomHasNoPresence as exc:
            raise fail(f"{email} is a room; rooms have no automatic replies") from exc
        return presence_out(found)

    found = run_with_runtime(main)
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json")))
    else:
        _print(found)


def register(app: typer.Typer) -> None:
    app.add_typer(presence_app, name="presence")
