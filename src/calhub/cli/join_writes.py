"""``calhub join-writes list``: what became of a tenant's join-block writes, so an admin sees the
ones that failed and why (docs/joinlinks.md, "Write-back"; the same rows as
``GET /api/v1/join-writes``).

    calhub join-writes list --state failed
    calhub join-writes list --after 4711        # the next page, as the previous one says

Writes come newest first as a table (id, state, attempts, last update, outcome); the outcome is
words, never invite content or addresses. ``--tenant`` may be left out while the hub has a
single tenant. Mistakes (a tenant that is not clear or does not exist, a value out of range) are
printed in red and exit with code 2.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from calhub.bootstrap import Runtime
from calhub.cli.common import (
    OptionalTenant,
    chosen_tenant,
    console,
    fail,
    given_tenant,
    run_with_runtime,
)
from calhub.services.join_write_status import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    JoinWritePage,
    JoinWriteState,
    UnknownTenant,
    list_join_writes,
)

join_writes_app = typer.Typer(
    help="See what became of a tenant's join-block writes (failed ones say why).",
    no_args_is_help=True,
)

_STATE_STYLES = {
    JoinWriteState.PENDING: "yellow",
    JoinWriteState.DONE: "green",
    JoinWriteState.FAILED: "red",
}


def _table(page: JoinWritePage) -> Table:
    table = Table("id", "state", "attempts", "updated", "outcome", header_style="bold")
    for write in page.writes:
        style = _STATE_STYLES[write.state]
        table.add_row(
            str(write.id),
            f"[{style}]{write.state.value}[/{style}]",
            str(write.attempts),
            write.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            escape(write.outcome or "-"),
        )
    return table


@join_writes_app.command("list")
def list_writes(
    state: Annotated[
        JoinWriteState | None, typer.Option("--state", help="Only writes in this state.")
    ] = None,
    tenant: OptionalTenant = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_PAGE_SIZE, help="Writes per page.")
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        int | None,
        typer.Option("--after", min=1, help="Start after this write id (the next page)."),
    ] = None,
) -> None:
    """The tenant's join-block writes, newest first: id, state, attempts, last update, outcome."""
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> JoinWritePage:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            return await list_join_writes(
                runtime.uow, tenant_id, state=state, after=after, limit=limit
            )
        except UnknownTenant as exc:
            raise fail(f"no tenant {tenant_id}") from exc

    page = run_with_runtime(main)
    if not page.writes:
        console.print("no join writes" + ("" if state is None else f" in state {state.value}"))
        return
    Console(highlight=False).print(_table(page))
    if page.next_after is not None:
        console.print(f"more: add --after {page.next_after}")


def register(app: typer.Typer) -> None:
    app.add_typer(join_writes_app, name="join-writes")
