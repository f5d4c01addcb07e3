"""``calhub webhooks``: a tenant's outbound webhook endpoints (docs/feeds.md, "Webhooks"; the
same as ``/api/v1/webhooks``).

    calhub webhooks add https://example.com/hooks --type obtp.join --type "meeting.*"
    calhub webhooks list
    calhub webhooks deliveries ENDPOINT_ID --state failed
    calhub webhooks enable ENDPOINT_ID
    calhub webhooks remove ENDPOINT_ID

``add`` prints the endpoint id and its signing secret (shown this once; the endpoint verifies
``webhook-signature`` with it). ``list`` shows URL, types, state and the failure record;
``deliveries`` an endpoint's deliveries newest first with attempts, last status, last error and
next attempt. ``--tenant`` may be left out while the hub has a single tenant. Mistakes (an
unusable URL or type, an unknown endpoint or tenant) are printed in red and exit with code 2.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

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
from calhub.domain.ids import TenantId, WebhookEndpointId
from calhub.services.webhooks import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CreatedWebhook,
    DeliveryPage,
    DeliveryState,
    EndpointState,
    UnknownTenant,
    WebhookEndpoint,
    WebhookNotFound,
    WebhookRejected,
    create_webhook,
    enable_webhook,
    list_deliveries,
    list_webhooks,
    remove_webhook,
)

T = TypeVar("T")

webhooks_app = typer.Typer(
    help="Outbound webhooks: where calhub POSTs signed events, and how their deliveries went.",
    no_args_is_help=True,
)

EndpointArgument = Annotated[str, typer.Argument(help="The webhook endpoint's id.")]
_STYLES = {
    EndpointState.ACTIVE: "green",
    EndpointState.DISABLED: "red",
    DeliveryState.PENDING: "yellow",
    DeliveryState.DELIVERED: "green",
    DeliveryState.FAILED: "red",
}


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _state(state: EndpointState | DeliveryState) -> str:
    style = _STYLES[state]
    return f"[{style}]{state.value}[/{style}]"


def _endpoint_id(text: str) -> WebhookEndpointId:
    try:
        return WebhookEndpointId(uuid.UUID(text))
    except ValueError as exc:
        raise fail(f"a webhook endpoint id is a UUID, got {text!r}") from exc


def _run(tenant: str | None, action: Callable[[Runtime, TenantId], Awaitable[T]]) -> T:
    """``action`` for the chosen tenant; service errors become red messages and exit 2."""
    given = given_tenant(tenant)

    async def main(runtime: Runtime) -> T:
        tenant_id = await chosen_tenant(runtime, given)
        try:
            return await action(runtime, tenant_id)
        except WebhookRejected as exc:
            raise fail(str(exc)) from exc
        except WebhookNotFound as exc:
            raise fail(f"no webhook endpoint {exc} in tenant {tenant_id}") from exc
        except UnknownTenant as exc:
            raise fail(f"no tenant {tenant_id}") from exc

    return run_with_runtime(main)


@webhooks_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST events (http:// or https://).")],
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="An event type to send (repeatable; 'meeting.*' for a prefix). None: all.",
        ),
    ] = None,
    tenant: OptionalTenant = None,
) -> None:
    """Add an endpoint; prints its id and signing secret (shown only now)."""

    async def action(runtime: Runtime, tenant_id: TenantId) -> CreatedWebhook:
        return await create_webhook(runtime.hub, tenant_id, url, types or [])

    created = _run(tenant, action)
    console.print(f"webhook endpoint {created.endpoint.id} added; its signing secret (shown once):")
    typer.echo(created.endpoint.id)
    typer.echo(created.secret)


@webhooks_app.command("list")
def list_command(tenant: OptionalTenant = None) -> None:
    """The tenant's endpoints: id, state, failures, last success, types and URL."""

    async def action(runtime: Runtime, tenant_id: TenantId) -> list[WebhookEndpoint]:
        return await list_webhooks(runtime.hub, tenant_id)

    endpoints = _run(tenant, action)
    if not endpoints:
        console.print("no webhook endpoints; add one with `calhub webhooks add URL`")
        return
    table = Table(
        "id",
        "state",
        "failures",
        "last success",
        "types",
        "url",
        "why disabled",
        header_style="bold",
    )
    for endpoint in endpoints:
        table.add_row(
            str(endpoint.id),
            _state(endpoint.state),
            str(endpoint.consecutive_failures),
            _when(endpoint.last_success_at),
            escape(", ".join(endpoint.event_types) or "all"),
            escape(endpoint.url),
            escape(endpoint.disabled_reason or "-"),
        )
    Console(highlight=False, soft_wrap=True).print(table)


@webhooks_app.command("remove")
def remove(endpoint: EndpointArgument, tenant: OptionalTenant = None) -> None:
    """Remove an endpoint and its deliveries."""
    endpoint_id = _endpoint_id(endpoint)

    async def action(runtime: Runtime, tenant_id: TenantId) -> None:
        await remove_webhook(runtime.hub, tenant_id, endpoint_id)

    _run(tenant, action)
    console.print(f"webhook endpoint {endpoint_id} removed")


@webhooks_app.command("enable")
def enable(endpoint: EndpointArgument, tenant: OptionalTenant = None) -> None:
    """Re-enable an endpoint (disabled after a day of failures); its record starts afresh."""
    endpoint_id = _endpoint_id(endpoint)

    async def action(runtime: Runtime, tenant_id: TenantId) -> WebhookEndpoint:
        return await enable_webhook(runtime.hub, tenant_id, endpoint_id)

    _run(tenant, action)
    console.print(f"webhook endpoint {endpoint_id} is active")


@webhooks_app.command("deliveries")
def deliveries(
    endpoint: EndpointArgument,
    state: Annotated[
        DeliveryState | None, typer.Option("--state", help="Only deliveries in this state.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MAX_PAGE_SIZE, help="Deliveries per page.")
    ] = DEFAULT_PAGE_SIZE,
    after: Annotated[
        int | None, typer.Option("--after", min=1, help="Start after this delivery id.")
    ] = None,
    tenant: OptionalTenant = None,
) -> None:
    """An endpoint's deliveries, newest first: event, state, attempts, last status and error."""
    endpoint_id = _endpoint_id(endpoint)

    async def action(runtime: Runtime, tenant_id: TenantId) -> DeliveryPage:
        return await list_deliveries(
            runtime.hub, tenant_id, endpoint_id, state=state, after=after, limit=limit
        )

    page = _run(tenant, action)
    if not page.deliveries:
        console.print("no deliveries" + ("" if state is None else f" in state {state.value}"))
        return
    table = Table(
        "id",
        "event",
        "type",
        "state",
        "attempts",
        "status",
        "last error",
        "next attempt",
        header_style="bold",
    )
    for delivery in page.deliveries:
        pending = delivery.state is DeliveryState.PENDING
        table.add_row(
            str(delivery.id),
            str(delivery.event_id),
            escape(delivery.event_type or "-"),
            _state(delivery.state),
            str(delivery.attempts),
            str(delivery.last_status or "-"),
            escape(delivery.last_error or "-"),
            _when(delivery.next_attempt_at) if pending else "-",
        )
    Console(highlight=False, soft_wrap=True).print(table)
    if page.next_after is not None:
        console.print(f"more: add --after {page.next_after}")


def register(app: typer.Typer) -> None:
    app.add_typer(webhooks_app, name="webhooks")
