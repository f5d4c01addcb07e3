"""Connect a tenant to Google Workspace (issue 7, "Connect"; google.md §8.2).

There is no consent page: the Workspace admin authorises calhub's service account for
domain-wide delegation in the Admin console (Security > Access and data control > API controls >
Domain-wide delegation), naming its numeric client id and calhub's scopes. calhub cannot see that
setting; it learns whether it was granted by asking Google's token endpoint for a token acting
as the admin (``check_delegation``), which every use case here does:

- ``create_google_connection``: seal the key and the admin's address, then check. Granted: the
  connection is active, a ``connection.consented`` event goes out and discovery is queued.
  Refused: it waits in ``consent_pending`` and ``DelegationCheck.message`` tells the admin what
  to grant, to which client id, with which scopes.
- ``recheck_delegation``: check again (the grant takes minutes, up to a day, to propagate);
  a pending, revoked or re-authorisation-needing connection becomes active once it works.
- ``set_google_credentials``: a new key (a revoked delegation purges the old one, a deleted key
  is refused), then the same check.

A delegation withdrawn while calhub syncs is noticed by the provider (``ConsentRevoked``) and
handled like Microsoft's revoked consent (``connections.disable_for_revoked_consent``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

import structlog

from calhub.domain.calendars import (
    Connection,
    ConnectionStatus,
    MailboxScope,
    ProviderKind,
)
from calhub.domain.ids import ConnectionId, TenantId, new_id
from calhub.providers.base import (
    ConsentRevoked,
    CredentialsRejected,
    MailboxOutOfScope,
    ProviderError,
)
from calhub.providers.google.auth import CALENDAR_SCOPES
from calhub.services.connections import (
    CONNECTION_CONSENTED,
    ConnectionNotFound,
    ConnectionNotReady,
    WrongProvider,
    checked_scope,
    get_connection,
)
from calhub.services.context import HubContext
from calhub.services.jobs import defer_discovery
from calhub.services.providers import GoogleCredentials, google_tokens

__all__ = [
    "DelegationCheck",
    "GoogleConnectionOutcome",
    "InvalidGoogleCredentials",
    "check_delegation",
    "create_google_connection",
    "grant_instructions",
    "recheck_delegation",
    "set_google_credentials",
]

ADMIN_CONSOLE_PATH: Final = (
    "Security > Access and data control > API controls > Domain-wide delegation"
)
_REACTIVATED: Final = frozenset(
    {ConnectionStatus.CONSENT_PENDING, ConnectionStatus.CONSENT_REVOKED,
     ConnectionStatus.NEEDS_REAUTH}
)  # fmt: skip

log = structlog.get_logger("calhub.connections")


class InvalidGoogleCredentials(ValueError):
    """The key file or the admin's address cannot be used; the message lists why."""


@dataclass(frozen=True, slots=True)
class DelegationCheck:
    """Whether Google grants the service account's delegation, in words an admin can act on.

    ``granted`` is None when Google could not be asked (unreachable): nothing was decided."""

    granted: bool | None
    message: str
    client_id: str
    scopes: tuple[str, ...] = CALENDAR_SCOPES


@dataclass(frozen=True, slots=True)
class GoogleConnectionOutcome:
    connection: Connection
    delegation: DelegationCheck


async def check_delegation(ctx: HubContext, credentials: GoogleCredentials) -> DelegationCheck:
    """Ask Google's token endpoint for a token acting as the admin, with calhub's scopes."""
    client_id = credentials.client_id
    try:
        tokens = google_tokens(ctx.providers.endpoints, credentials)
    except CredentialsRejected as exc:
        return DelegationCheck(False, f"{exc}.", client_id)
    try:
        await tokens.token(credentials.admin)
    except ConsentRevoked:
        return DelegationCheck(False, grant_instructions(client_id), client_id)
    except MailboxOutOfScope:
        return DelegationCheck(
            False,
            f"{credentials.admin} is not a user of the Google Workspace domain: give the address "
            "of one of its administrators.",
            client_id,
        )
    except CredentialsRejected as exc:
        return DelegationCheck(False, f"{exc}; create a new key and give it to calhub.", client_id)
    except ProviderError as exc:
        return DelegationCheck(
            None,
            f"Google could not be asked whether the delegation is granted ({exc}); "
            "check again later.",
            client_id,
        )
    finally:
        await asyncio.to_thread(tokens.close)
    return DelegationCheck(
        True,
        "Domain-wide delegation is granted. calhub is discovering the domain's users and rooms.",
        client_id,
    )


def grant_instructions(client_id: str) -> str:
    """What the Workspace admin does so that calhub may act for the domain's users."""
    return (
        "Google refused the service account's domain-wide delegation. In the Google Admin "
        f"console ({ADMIN_CONSOLE_PATH}) add client ID {client_id} with the OAuth scopes "
        f"{','.join(CALENDAR_SCOPES)}, then ask calhub to check again (it can take a few "
        "minutes for Google to apply it)."
    )


def _validated(credentials: GoogleCredentials) -> GoogleCredentials:
    problems = credentials.problems()
    if problems:
        raise InvalidGoogleCredentials(
            "the service account key cannot be used: " + "; ".join(problems)
        )
    return GoogleCredentials(credentials.service_account_key, credentials.admin.strip().lower())


async def create_google_connection(
    ctx: HubContext,
    tenant_id: TenantId,
    credentials: GoogleCredentials,
    *,
    domain: str | None = None,
    scope: MailboxScope | None = None,
) -> GoogleConnectionOutcome:
    """A new Google Workspace connection, active at once when the delegation is granted."""
    credentials = _validated(credentials)
    now = ctx.clock.now()
    connection = Connection(
        id=ConnectionId(new_id(now)),
        tenant_id=tenant_id,
        provider=ProviderKind.GOOGLE,
        status=ConnectionStatus.CONSENT_PENDING,
        credentials=credentials.to_secret(),
        settings={"domain": domain.lower()} if domain else {},
        created_at=now,
        updated_at=now,
        scope=checked_scope(scope or MailboxScope()),
    )
    async with ctx.uow() as uow:
        await uow.connections.add(connection)
        await uow.commit()
    return await _apply(ctx, connection, await check_delegation(ctx, credentials))


async def recheck_delegation(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId
) -> GoogleConnectionOutcome:
    """Check the delegation again; a connection waiting for it becomes active once granted."""
    connection = await _google_connection(ctx, tenant_id, connection_id)
    try:
        credentials = GoogleCredentials.from_secret(connection.credentials)
    except CredentialsRejected as exc:
        raise ConnectionNotReady(
            "calhub holds no service account key for this connection (it is purged when the "
            "delegation is revoked): give the key again"
        ) from exc
    return await _apply(ctx, connection, await check_delegation(ctx, credentials))


async def set_google_credentials(
    ctx: HubContext,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    credentials: GoogleCredentials,
) -> GoogleConnectionOutcome:
    """Replace the key (and the admin), then check the delegation with them."""
    credentials = _validated(credentials)
    await _google_connection(ctx, tenant_id, connection_id)
    async with ctx.uow() as uow:
        await uow.connections.set_credentials(
            tenant_id, connection_id, credentials.to_secret(), ctx.clock.now()
        )
        await uow.commit()
    await ctx.providers.forget(connection_id)
    check = await check_delegation(ctx, credentials)
    connection = await get_connection(ctx, tenant_id, connection_id)
    if check.granted is False and connection.status is ConnectionStatus.ACTIVE:
        # The new key is not delegated: stop syncing with it until the admin grants it.
        async with ctx.uow() as uow:
            await uow.connections.set_status(
                tenant_id, connection_id, ConnectionStatus.CONSENT_PENDING, ctx.clock.now()
            )
            await uow.commit()
        connection = await get_connection(ctx, tenant_id, connection_id)
    return await _apply(ctx, connection, check)


async def _google_connection(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId
) -> Connection:
    connection = await get_connection(ctx, tenant_id, connection_id)
    if connection.provider is not ProviderKind.GOOGLE:
        raise WrongProvider(
            f"this is a {connection.provider.value} connection, not a Google Workspace one"
        )
    return connection


async def _apply(
    ctx: HubContext, connection: Connection, check: DelegationCheck
) -> GoogleConnectionOutcome:
    tenant_id, connection_id = connection.tenant_id, connection.id
    if check.granted and connection.status in _REACTIVATED:
        await _activate(ctx, connection)
        log.info("delegation_granted", tenant_id=str(tenant_id), connection_id=str(connection_id))
        connection = await get_connection(ctx, tenant_id, connection_id)
    return GoogleConnectionOutcome(connection, check)


async def _activate(ctx: HubContext, connection: Connection) -> None:
    now = ctx.clock.now()
    tenant_id, connection_id = connection.tenant_id, connection.id
    async with ctx.uow() as uow:
        if not await uow.connections.record_consent(
            tenant_id, connection_id, google_domain(connection), now
        ):
            raise ConnectionNotFound(f"no connection {connection_id} in this tenant")
        await uow.outbox.add(
            tenant_id, CONNECTION_CONSENTED, {"connection_id": str(connection_id)}, now
        )
        await uow.commit()
    await ctx.providers.forget(connection_id)
    await defer_discovery(ctx.jobs, tenant_id, connection_id)


def google_domain(connection: Connection) -> str:
    """The Workspace domain: the admin's hint, else the domain of the admin's address."""
    hint = connection.settings.get("domain")
    if hint:
        return str(hint)
    try:
        admin = GoogleCredentials.from_secret(connection.credentials).admin
    except CredentialsRejected:
        return connection.provider_tenant_id or ""
    return admin.rpartition("@")[2]
