"""Administration: ``tenant``, ``apikey`` and ``keys`` commands."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from calhub.bootstrap import Runtime
from calhub.cli.common import console, run_with_runtime
from calhub.domain.ids import ApiKeyId, TenantId
from calhub.services import apikeys, tenants
from calhub.storage.rotation import KekNotRotatable, rotate_keys

tenant_app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)
apikey_app = typer.Typer(help="Issue and revoke tenant API keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage encryption keys.", no_args_is_help=True)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{what} must be a UUID, got {value!r}") from exc


@tenant_app.command("create")
def tenant_create(name: Annotated[str, typer.Argument(help="Display name of the tenant.")]) -> None:
    """Create a tenant (and its data key); prints its id."""

    async def main(runtime: Runtime) -> None:
        try:
            tenant = await tenants.create_tenant(runtime.uow, runtime.clock, name)
        except tenants.InvalidTenantName as exc:
            raise typer.BadParameter(str(exc)) from exc
        typer.echo(str(tenant.id))

    run_with_runtime(main)


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants: id, creation time and name."""

    async def main(runtime: Runtime) -> None:
        for tenant in await tenants.list_tenants(runtime.uow):
            typer.echo(f"{tenant.id}\t{tenant.created_at.isoformat()}\t{tenant.name}")

    run_with_runtime(main)


@apikey_app.command("create")
def apikey_create(
    tenant: Annotated[str, typer.Option(help="Tenant id (see `calhub tenant list`).")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "default",
) -> None:
    """Issue an API key for a tenant. The key is printed once and stored only as a hash."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))

    async def main(runtime: Runtime) -> None:
        try:
            issued = await apikeys.create_api_key(runtime.uow, runtime.clock, tenant_id, name)
        except apikeys.UnknownTenant as exc:
            console.print(f"[red]no tenant {tenant_id}[/red]")
            raise typer.Exit(1) from exc
        console.print(f"key id {issued.key.id}; store the key now, it is not shown again:")
        typer.echo(issued.token)

    run_with_runtime(main)


@apikey_app.command("revoke")
def apikey_revoke(
    tenant: Annotated[str, typer.Option(help="Tenant id.")],
    key_id: Annotated[str, typer.Argument(help="Key id printed by `apikey create`.")],
) -> None:
    """Revoke an API key; requests with it get 401 from then on."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))
    api_key_id = ApiKeyId(_uuid(key_id, "KEY_ID"))

    async def main(runtime: Runtime) -> None:
        if not await apikeys.revoke_api_key(runtime.uow, runtime.clock, tenant_id, api_key_id):
            console.print("[red]no such active key in that tenant[/red]")
            raise typer.Exit(1)
        console.print("revoked")

    run_with_runtime(main)


@keys_app.command("rotate")
def keys_rotate(
    new_kek: Annotated[
        bool,
        typer.Option(
            "--new-kek", help="First add a new key-encryption key version to the key file."
        ),
    ] = False,
    new_data_keys: Annotated[
        bool,
        typer.Option("--new-data-keys", help="Also start a new data key version for every tenant."),
    ] = False,
) -> None:
    """Re-wrap every tenant's data keys under the current key-encryption key."""

    async def main(runtime: Runtime) -> None:
        try:
            report = await rotate_keys(
                runtime.uow, runtime.clock.now(), new_kek=new_kek, new_data_keys=new_data_keys
            )
        except KekNotRotatable as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        console.print(
            f"key-encryption key version {report.kek_version}: re-wrapped "
            f"{report.rewrapped} data key(s), {report.created} new data key version(s)"
        )

    run_with_runtime(main)


def register(app: typer.Typer) -> None:
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(keys_app, name="keys")
