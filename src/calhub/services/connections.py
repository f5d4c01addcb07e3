"""Connect a tenant to Microsoft 365 and keep the connection honest (issue 4, "Connect").

The admin's path: ``create_microsoft_connection`` (client id plus a client secret or a
certificate, sealed at once) → ``consent_link`` (the admin-consent URL with a signed, single-use
state that expires after ``CONSENT_STATE_TTL``) → the admin consents in the browser →
``complete_consent`` (the callback: state checked, the Microsoft tenant id recorded, discovery
queued; a refusal is explained, not stored as consent) → ``verify_connection`` with a test
mailbox → optionally ``set_scope``.

When Microsoft stops honouring the connection, the sync calls ``disable_for_revoked_consent``
(consent withdrawn or app deleted: tokens and secrets purged, subscriptions dropped, a
``connection.disabled`` event) or ``disable_for_rejected_credentials`` (an expired or wrong
secret: the admin gives a new one with ``set_credentials``). A new consent restores a revoked
connection; calendars keep their history throughout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import structlog

from calhub.domain.calendars import (
    Connection,
    ConnectionStatus,
    MailboxScope,
    ProviderKind,
    ScopeKind,
)
from calhub.domain.ids import ConnectionId, TenantId, new_id
from calhub.providers.base import PermissionCheck, ProviderError
from calhub.providers.msgraph.auth import admin_consent_url, parse_consent_callback
from calhub.services.context import HubContext
from calhub.services.jobs import defer_discovery
from calhub.services.providers import MicrosoftCredentials, microsoft_tenant
from calhub.storage.repositories import ConsentStateRejected

CONSENT_STATE_TTL: Final = timedelta(minutes=15)
CONSENT_CALLBACK_PATH: Final = "/api/v1/connections/microsoft/consent-callback"
CONNECTION_DISABLED: Final = "connection.disabled"
CONNECTION_CONSENTED: Final = "connection.consented"
MAX_SCOPED_MAILBOXES: Final = 10_000

log = structlog.get_logger("calhub.connections")


class ConnectionNotFound(LookupError):
    """No such connection in the tenant."""


class ConnectionNotReady(Exception):
    """The connection cannot do this in its current state; the message says what to do."""


class WrongProvider(ConnectionNotReady):
    """The use case belongs to another provider's connections (e.g. a consent link for a Google
    Workspace connection); the message says what to do instead."""


class InvalidScope(ValueError):
    """A mailbox scope that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class ConsentLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentOutcome:
    """What the admin sees after the consent round trip, in words."""

    granted: bool
    message: str
    tenant_id: TenantId | None = None
    connection_id: ConnectionId | None = None


_STATE_REFUSALS: Final = {
    ConsentStateRejected.FORGED: "This consent link was not issued by calhub.",
    ConsentStateRejected.UNKNOWN: "This consent link is not known to calhub.",
    ConsentStateRejected.EXPIRED: "This consent link has expired; ask calhub for a new one.",
    ConsentStateRejected.USED: "This consent link was already used; ask calhub for a new one.",
}


async def create_microsoft_connection(
    ctx: HubContext,
    tenant_id: TenantId,
    credentials: MicrosoftCredentials,
    *,
    tenant_hint: str | None = None,
    scope: MailboxScope | None = None,
) -> Connection:
    """A new connection waiting for the admin's consent."""
    now = ctx.clock.now()
    connection = Connection(
        id=ConnectionId(new_id(now)),
        tenant_id=tenant_id,
        provider=ProviderKind.MSGRAPH,
        status=ConnectionStatus.CONSENT_PENDING,
        credentials=credentials.to_secret(),
        settings={"tenant": tenant_hint} if tenant_hint else {},
        created_at=now,
        updated_at=now,
        scope=checked_scope(scope or MailboxScope()),
    )
    async with ctx.uow() as uow:
        await uow.connections.add(connection)
        await uow.commit()
    return connection


async def get_connection(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId
) -> Connection:
    async with ctx.uow() as uow:
        connection = await uow.connections.get(tenant_id, connection_id)
    if connection is None:
        raise ConnectionNotFound(f"no connection {connection_id} in this tenant")
    return connection


async def list_connections(ctx: HubContext, tenant_id: TenantId) -> list[Connection]:
    async with ctx.uow() as uow:
        return list(await uow.connections.list(tenant_id))


async def set_credentials(
    ctx: HubContext,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    credentials: MicrosoftCredentials,
) -> Connection:
    """Replace the client credentials. A connection stopped for rejected credentials runs
    again; one whose consent was revoked still needs a new consent."""
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        connection = await uow.connections.get(tenant_id, connection_id)
        if connection is None:
            raise ConnectionNotFound(f"no connection {connection_id} in this tenant")
        require_microsoft(connection)
        await uow.connections.set_credentials(
            tenant_id, connection_id, credentials.to_secret(), now
        )
        if connection.status is ConnectionStatus.NEEDS_REAUTH:
            await uow.connections.set_status(tenant_id, connection_id, ConnectionStatus.ACTIVE, now)
        await uow.commit()
    await ctx.providers.forget(connection_id)
    if connection.status is ConnectionStatus.NEEDS_REAUTH:
        await defer_discovery(ctx.jobs, tenant_id, connection_id)
    return await get_connection(ctx, tenant_id, connection_id)


async def consent_link(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId
) -> ConsentLink:
    """The admin-consent URL to open in a browser, with a fresh single-use state."""
    now = ctx.clock.now()
    expires_at = now + CONSENT_STATE_TTL
    async with ctx.uow() as uow:
        connection = await uow.connections.get(tenant_id, connection_id)
        if connection is None:
            raise ConnectionNotFound(f"no connection {connection_id} in this tenant")
        require_microsoft(connection)
        try:
            credentials = MicrosoftCredentials.from_secret(connection.credentials)
        except ProviderError as exc:
            raise ConnectionNotReady(
                "calhub holds no client credentials for this connection (they are purged when "
                "consent is revoked): set them again, then ask for a consent link"
            ) from exc
        state = await uow.consent_states.issue(
            tenant_id, connection_id, expires_at=expires_at, now=now
        )
        await uow.commit()
    url = admin_consent_url(
        ctx.providers.endpoints.microsoft_login_url,
        microsoft_tenant(connection),
        credentials.client_id,
        ctx.public_url(CONSENT_CALLBACK_PATH),
        state,
    )
    return ConsentLink(url=url, expires_at=expires_at)


async def complete_consent(ctx: HubContext, query: Mapping[str, str]) -> ConsentOutcome:
    """Handle the identity platform's redirect back to calhub after the admin decided."""
    answer = parse_consent_callback(query)
    if answer.state is None:
        return ConsentOutcome(False, "The consent answer carries no state; start again.")
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        accepted = await uow.consent_states.consume(answer.state, now)
        if isinstance(accepted, ConsentStateRejected):
            await uow.commit()
            return ConsentOutcome(False, _STATE_REFUSALS[accepted])
        tenant_id, connection_id = accepted.tenant_id, accepted.connection_id
        if not answer.granted or answer.tenant is None:
            await uow.commit()
            return ConsentOutcome(False, _refusal_in_words(answer.error), tenant_id, connection_id)
        await uow.connections.record_consent(tenant_id, connection_id, answer.tenant, now)
        await uow.outbox.add(
            tenant_id, CONNECTION_CONSENTED, {"connection_id": str(connection_id)}, now
        )
        await uow.commit()
    await ctx.providers.forget(connection_id)
    await defer_discovery(ctx.jobs, tenant_id, connection_id)
    log.info("consent_granted", tenant_id=str(tenant_id), connection_id=str(connection_id))
    return ConsentOutcome(
        True,
        "Consent granted. calhub is discovering the organisation's mailboxes and rooms.",
        tenant_id,
        connection_id,
    )


def require_microsoft(connection: Connection) -> None:
    """Raise ``WrongProvider`` unless this is a Microsoft 365 connection."""
    if connection.provider is ProviderKind.GOOGLE:
        raise WrongProvider(
            "this is a Google Workspace connection: it has no client secret and no consent link; "
            "the Workspace admin grants domain-wide delegation to the service account, then "
            "calhub checks it again (give a new key with the Google credentials form)"
        )
    if connection.provider is not ProviderKind.MSGRAPH:
        raise WrongProvider(f"this is a {connection.provider.value} connection, not Microsoft 365")


def _refusal_in_words(error: str | None) -> str:
    if error == "access_denied":
        return (
            "The administrator declined to grant calhub access, so nothing was connected. "
            "Ask for a new consent link to try again."
        )
    return f"Microsoft did not grant consent ({error or 'no reason given'}); nothing changed."


async def verify_connection(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId, mailbox: str
) -> list[PermissionCheck]:
    """Try each permission calhub needs against a test mailbox; report each in words."""
    connection = await get_connection(ctx, tenant_id, connection_id)
    require_active(connection)
    provider = await ctx.providers.for_connection(connection)
    return await provider.verify(mailbox)


def require_active(connection: Connection) -> None:
    """Raise ``ConnectionNotReady`` unless the connection can reach its provider."""
    if connection.status is not ConnectionStatus.ACTIVE:
        raise ConnectionNotReady(
            f"the connection is {connection.status.value.replace('_', ' ')}; it needs admin "
            "consent (and valid credentials) before calhub can use it"
        )


async def set_scope(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId, scope: MailboxScope
) -> Connection:
    """Limit (or widen) the mailboxes synced; discovery runs again to apply it."""
    checked = checked_scope(scope)
    async with ctx.uow() as uow:
        if not await uow.connections.set_scope(tenant_id, connection_id, checked, ctx.clock.now()):
            raise ConnectionNotFound(f"no connection {connection_id} in this tenant")
        await uow.commit()
    await defer_discovery(ctx.jobs, tenant_id, connection_id)
    return await get_connection(ctx, tenant_id, connection_id)


def checked_scope(scope: MailboxScope) -> MailboxScope:
    """The scope with its addresses normalised; raises ``InvalidScope`` when unusable."""
    if scope.kind is ScopeKind.MAILBOXES:
        mailboxes = tuple(dict.fromkeys(m.strip().lower() for m in scope.mailboxes))
        if not mailboxes or any("@" not in m or len(m) > 320 for m in mailboxes):
            raise InvalidScope("a mailbox scope lists one or more e-mail addresses")
        if len(mailboxes) > MAX_SCOPED_MAILBOXES:
            raise InvalidScope(f"a mailbox scope lists at most {MAX_SCOPED_MAILBOXES} addresses")
        return MailboxScope(ScopeKind.MAILBOXES, mailboxes)
    if scope.kind is ScopeKind.GROUP:
        raise InvalidScope("scoping to a directory group is not supported yet; list mailboxes")
    return MailboxScope()


async def disable_for_revoked_consent(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId, reason: str
) -> bool:
    """Consent withdrawn or app deleted: purge tokens and secrets, drop subscriptions (the
    provider already stopped them), emit ``connection.disabled``. True when this call did it."""
    return await _disable(
        ctx, tenant_id, connection_id, ConnectionStatus.CONSENT_REVOKED, reason, purge=True
    )


async def disable_for_rejected_credentials(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId, reason: str
) -> bool:
    """The identity platform refuses the client secret or certificate (wrong or expired)."""
    return await _disable(
        ctx, tenant_id, connection_id, ConnectionStatus.NEEDS_REAUTH, reason, purge=False
    )


async def _disable(
    ctx: HubContext,
    tenant_id: TenantId,
    connection_id: ConnectionId,
    status: ConnectionStatus,
    reason: str,
    *,
    purge: bool,
) -> bool:
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        connection = await uow.connections.get(tenant_id, connection_id)
        if connection is None or connection.status is not ConnectionStatus.ACTIVE:
            return False  # already stopped (another worker got there first) or gone
        await uow.connections.set_status(tenant_id, connection_id, status, now)
        if purge:
            await uow.connections.purge_credentials(tenant_id, connection_id, now)
            for subscription in await uow.subscriptions.list_for_connection(
                tenant_id, connection_id
            ):
                await uow.subscriptions.delete(tenant_id, subscription.id)
        await uow.outbox.add(
            tenant_id,
            CONNECTION_DISABLED,
            {"connection_id": str(connection_id), "status": status.value, "reason": reason},
            now,
        )
        await uow.commit()
    await ctx.providers.forget(connection_id)
    log.warning(
        "connection_disabled",
        tenant_id=str(tenant_id),
        connection_id=str(connection_id),
        status=status.value,
    )
    return True


async def delete_connection(
    ctx: HubContext, tenant_id: TenantId, connection_id: ConnectionId
) -> None:
    """Unsubscribe at the provider (best effort), then delete the connection and its mirror."""
    connection = await get_connection(ctx, tenant_id, connection_id)
    async with ctx.uow() as uow:
        subscriptions = await uow.subscriptions.list_for_connection(tenant_id, connection_id)
    if connection.status is ConnectionStatus.ACTIVE and subscriptions:
        provider = await ctx.providers.for_connection(connection)
        for subscription in subscriptions:
            try:
                await provider.unsubscribe(subscription.provider_subscription_id)
            except ProviderError as exc:
                log.warning("unsubscribe_failed", error_type=type(exc).__name__)
    async with ctx.uow() as uow:
        await uow.connections.delete(tenant_id, connection_id)
        await uow.commit()
    await ctx.providers.forget(connection_id)
