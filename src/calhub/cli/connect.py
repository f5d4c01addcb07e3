"""``calhub connect microsoft|google`` and ``calhub connections list|show|verify|consent-link|
check-delegation``: the admin's path of issues 4 and 7, "Connect", from a shell.

Secrets are never taken as argument values (they would land in shell history and ``ps``): the
client secret comes from an environment variable or a file, a certificate's private key from a
PEM file, a Google service account's key from its JSON key file. Nothing secret is printed;
``--json`` prints what the API answers.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from calhub.api.routes.connection_schemas import delegation_out
from calhub.api.routes.connections import MAILBOX_ADDRESS, connection_out
from calhub.bootstrap import Runtime
from calhub.cli.common import console, run_with_runtime
from calhub.domain.calendars import Connection, MailboxScope, ScopeKind
from calhub.domain.ids import ConnectionId, TenantId
from calhub.providers.msgraph.auth import ClientCertificate, ClientSecret, Credential
from calhub.services import connections, google_connections
from calhub.services.providers import GoogleCredentials, MicrosoftCredentials

connect_app = typer.Typer(help="Connect a tenant to a calendar system.", no_args_is_help=True)
connections_app = typer.Typer(
    help="List, inspect and verify connections; issue consent links.", no_args_is_help=True
)

_THUMBPRINT = re.compile(r"^[0-9A-Fa-f]{40}$")

TenantOption = Annotated[str, typer.Option("--tenant", help="calhub tenant id.")]
ConnectionArgument = Annotated[str, typer.Argument(help="Connection id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{what} must be a UUID") from exc


def _credential(
    secret_env: str | None,
    secret_file: Path | None,
    certificate_key: Path | None,
    thumbprint: str | None,
) -> Credential:
    given = [secret_env is not None, secret_file is not None, certificate_key is not None]
    if sum(given) != 1:
        raise typer.BadParameter(
            "give one of --client-secret-env, --client-secret-file or --certificate-key"
        )
    if certificate_key is not None:
        if thumbprint is None or not _THUMBPRINT.match(thumbprint):
            raise typer.BadParameter("--thumbprint must be the certificate's SHA-1, 40 hex digits")
        pem = _read(certificate_key, "--certificate-key")
        try:
            load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise typer.BadParameter("--certificate-key is not an unencrypted PEM key") from exc
        return ClientCertificate(pem, thumbprint.lower())
    if secret_env is not None:
        secret = os.environ.get(secret_env, "").strip()
        if not secret:
            raise typer.BadParameter(f"environment variable {secret_env} is not set or empty")
        return ClientSecret(secret)
    assert secret_file is not None
    secret = _read(secret_file, "--client-secret-file").strip()
    if not secret:
        raise typer.BadParameter("--client-secret-file is empty")
    return ClientSecret(secret)


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{option}: cannot read {path}") from exc


def _shown(connection: Connection) -> dict[str, Any]:
    shown: dict[str, Any] = connection_out(connection).model_dump(mode="json")
    return shown


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]{message}[/red]")
    return typer.Exit(1)


@connect_app.command("microsoft")
def connect_microsoft(
    tenant: TenantOption,
    client_id: Annotated[str, typer.Option(help="The app registration's client id.")],
    client_secret_env: Annotated[
        str | None, typer.Option(help="Environment variable that holds the client secret.")
    ] = None,
    client_secret_file: Annotated[
        Path | None, typer.Option(help="File that holds the client secret.")
    ] = None,
    certificate_key: Annotated[
        Path | None, typer.Option(help="PEM file of the certificate's private key.")
    ] = None,
    thumbprint: Annotated[
        str | None, typer.Option(help="The certificate's SHA-1 thumbprint (hex).")
    ] = None,
    microsoft_tenant: Annotated[
        str | None, typer.Option(help="The Microsoft tenant's domain or id (where to consent).")
    ] = None,
    mailbox: Annotated[
        list[str] | None, typer.Option(help="Sync only this mailbox (repeat); default: all.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a Microsoft 365 connection; prints the admin-consent URL to open in a browser."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))
    credentials = MicrosoftCredentials(
        client_id, _credential(client_secret_env, client_secret_file, certificate_key, thumbprint)
    )
    scope = MailboxScope(ScopeKind.MAILBOXES, tuple(mailbox)) if mailbox else None

    async def main(runtime: Runtime) -> None:
        try:
            connection = await connections.create_microsoft_connection(
                runtime.hub, tenant_id, credentials, tenant_hint=microsoft_tenant, scope=scope
            )
        except connections.InvalidScope as exc:
            raise typer.BadParameter(str(exc), param_hint="--mailbox") from exc
        link = await connections.consent_link(runtime.hub, tenant_id, connection.id)
        if json_output:
            body = _shown(connection) | {
                "consent_url": link.url,
                "consent_expires_at": link.expires_at.isoformat(),
            }
            typer.echo(json.dumps(body, indent=2))
            return
        console.print(
            f"connection {connection.id} created; an administrator of the Microsoft tenant "
            f"opens this URL to consent (valid until {link.expires_at.isoformat()}):"
        )
        typer.echo(link.url)

    run_with_runtime(main)


def _key_file(path: Path) -> dict[str, Any]:
    try:
        key = json.loads(_read(path, "--key"))
    except ValueError as exc:
        raise typer.BadParameter("is not a JSON key file", param_hint="--key") from exc
    if not isinstance(key, dict):
        raise typer.BadParameter("is not a JSON key file", param_hint="--key")
    return key


def _print_outcome(outcome: google_connections.GoogleConnectionOutcome, json_output: bool) -> None:
    if json_output:
        body = _shown(outcome.connection) | {
            "delegation": delegation_out(outcome.delegation).model_dump(mode="json")
        }
        typer.echo(json.dumps(body, indent=2))
        return
    connection = outcome.connection
    console.print(f"connection {connection.id}: {connection.status.value.replace('_', ' ')}")
    typer.echo(outcome.delegation.message)


@connect_app.command("google")
def connect_google(
    tenant: TenantOption,
    key: Annotated[Path, typer.Option(help="The service account's JSON key file.")],
    admin: Annotated[
        str, typer.Option(help="A Workspace administrator's address (calhub acts as them).")
    ],
    domain: Annotated[str | None, typer.Option(help="The Google Workspace domain.")] = None,
    mailbox: Annotated[
        list[str] | None, typer.Option(help="Sync only this mailbox (repeat); default: all.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a Google Workspace connection and check the service account's domain-wide
    delegation; when it is not granted yet, prints what the admin grants (client id, scopes)."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))
    if not re.match(MAILBOX_ADDRESS, admin):
        raise typer.BadParameter("must be one e-mail address", param_hint="--admin")
    credentials = GoogleCredentials(_key_file(key), admin)
    problems = credentials.problems()
    if problems:
        raise typer.BadParameter(
            "is not a usable service account key: " + "; ".join(problems), param_hint="--key"
        )
    scope = MailboxScope(ScopeKind.MAILBOXES, tuple(mailbox)) if mailbox else None

    async def main(runtime: Runtime) -> None:
        try:
            outcome = await google_connections.create_google_connection(
                runtime.hub, tenant_id, credentials, domain=domain, scope=scope
            )
        except connections.InvalidScope as exc:
            raise typer.BadParameter(str(exc), param_hint="--mailbox") from exc
        _print_outcome(outcome, json_output)

    run_with_runtime(main)


@connections_app.command("check-delegation")
def check_delegation(
    tenant: TenantOption, connection: ConnectionArgument, json_output: JsonOption = False
) -> None:
    """Ask Google again whether a Google Workspace connection's delegation is granted; a
    connection waiting for it becomes active. Exits 1 while it is not granted."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))
    connection_id = ConnectionId(_uuid(connection, "CONNECTION"))

    async def main(runtime: Runtime) -> bool:
        try:
            outcome = await google_connections.recheck_delegation(
                runtime.hub, tenant_id, connection_id
            )
        except connections.ConnectionNotFound as exc:
            raise _fail("no such connection in that tenant") from exc
        except connections.ConnectionNotReady as exc:
            raise _fail(str(exc)) from exc
        _print_outcome(outcome, json_output)
        return outcome.delegation.granted is True

    if not run_with_runtime(main):
        raise typer.Exit(1)


@connections_app.command("list")
def list_connections(tenant: TenantOption, json_output: JsonOption = False) -> None:
    """The tenant's connections: id, status, Microsoft tenant or Google domain, client id."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))

    async def main(runtime: Runtime) -> None:
        shown = [_shown(c) for c in await connections.list_connections(runtime.hub, tenant_id)]
        if json_output:
            typer.echo(json.dumps(shown, indent=2))
            return
        for item in shown:
            client_id = (item["credentials"] or {}).get("client_id", "-")
            where = (
                item["microsoft_tenant_id"] or item["tenant_hint"] or item["google_domain"] or "-"
            )
            typer.echo(f"{item['id']}\t{item['status']}\t{where}\t{client_id}")

    run_with_runtime(main)


@connections_app.command("show")
def show_connection(tenant: TenantOption, connection: ConnectionArgument) -> None:
    """One connection as JSON (credentials are shown by client id and kind only)."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))
    connection_id = ConnectionId(_uuid(connection, "CONNECTION"))

    async def main(runtime: Runtime) -> None:
        try:
            found = await connections.get_connection(runtime.hub, tenant_id, connection_id)
        except connections.ConnectionNotFound as exc:
            raise _fail("no such connection in that tenant") from exc
        typer.echo(json.dumps(_shown(found), indent=2))

    run_with_runtime(main)


@connections_app.command("verify")
def verify_connection(
    tenant: TenantOption,
    connection: ConnectionArgument,
    mailbox: Annotated[str, typer.Option(help="A test mailbox's address.")],
    json_output: JsonOption = False,
) -> None:
    """Try each permission calhub needs against a test mailbox; exits 1 if one fails."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))
    connection_id = ConnectionId(_uuid(connection, "CONNECTION"))
    if not re.match(MAILBOX_ADDRESS, mailbox):
        raise typer.BadParameter("must be one e-mail address", param_hint="--mailbox")

    async def main(runtime: Runtime) -> bool:
        try:
            checks = await connections.verify_connection(
                runtime.hub, tenant_id, connection_id, mailbox
            )
        except connections.ConnectionNotFound as exc:
            raise _fail("no such connection in that tenant") from exc
        except connections.ConnectionNotReady as exc:
            raise _fail(str(exc)) from exc
        if json_output:
            rows = [{"permission": c.permission, "ok": c.ok, "detail": c.detail} for c in checks]
            typer.echo(json.dumps(rows, indent=2))
        else:
            for check in checks:
                typer.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.detail}")
        return all(check.ok for check in checks)

    if not run_with_runtime(main):
        raise typer.Exit(1)


@connections_app.command("consent-link")
def consent_link(
    tenant: TenantOption, connection: ConnectionArgument, json_output: JsonOption = False
) -> None:
    """A fresh admin-consent URL for the connection (single use; expires)."""
    tenant_id = TenantId(_uuid(tenant, "--tenant"))
    connection_id = ConnectionId(_uuid(connection, "CONNECTION"))

    async def main(runtime: Runtime) -> None:
        try:
            link = await connections.consent_link(runtime.hub, tenant_id, connection_id)
        except connections.ConnectionNotFound as exc:
            raise _fail("no such connection in that tenant") from exc
        except connections.ConnectionNotReady as exc:
            raise _fail(str(exc)) from exc
        if json_output:
            body = {"consent_url": link.url, "consent_expires_at": link.expires_at.isoformat()}
            typer.echo(json.dumps(body, indent=2))
            return
        console.print(f"valid until {link.expires_at.isoformat()}:")
        typer.echo(link.url)

    run_with_runtime(main)


def register(app: typer.Typer) -> None:
    app.add_typer(connect_app, name="connect")
    app.add_typer(connections_app, name="connections")
