"""One change-notification subscription per calendar, kept alive (issue 4, "Sync"; graph.md §4;
issue 7, google.md §4).

- ``ensure_subscription``: create the calendar's subscription (or recreate one the provider
  removed) with a fresh random ``clientState``, pointing at the provider's hook under the public
  base URL (``/hooks/microsoft`` and ``/hooks/microsoft/lifecycle`` for Graph, ``/hooks/google``
  for Google's watch channels, which have no lifecycle messages), then queue a sync, because
  changes made while no subscription existed were never notified. The expiry stored is the
  provider's answer, not the one asked for.
- ``renew_due_subscriptions`` (periodic): renews every subscription that expires within
  ``RENEW_AHEAD``, per connection, batched (Graph ``$batch``, 20 per round trip). A subscription
  the provider no longer knows is recreated. Where subscriptions cannot be extended
  (``Capabilities.renewable_subscriptions`` False: Google's channels, §4.5), renewing is
  replacing: an ``ensure_subscription`` job per due subscription creates the new channel, stores
  it, then stops the old one (both may fire for a moment; the sync reads each change once).
- ``renew_subscription``: renew one now (a ``reauthorizationRequired`` lifecycle notification).

Consent revoked or credentials rejected stops the connection (``services.connections``); a
mailbox the access policy blocks is marked out of scope. Other provider errors leave things as
they are for the next run, and the hourly safety-net sync covers the gap meanwhile.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import structlog

from calhub.domain.calendars import (
    Calendar,
    Connection,
    ConnectionStatus,
    ProviderKind,
    Secret,
    Subscription,
    SubscriptionStatus,
)
from calhub.domain.ids import CalendarId, ConnectionId, SubscriptionId, TenantId, new_id
from calhub.providers.base import (
    CalendarRef,
    ConsentRevoked,
    CredentialsRejected,
    MailboxOutOfScope,
    NotFound,
    ProviderError,
)
from calhub.services.calendar_sync import impersonal_reason
from calhub.services.connections import (
    disable_for_rejected_credentials,
    disable_for_revoked_consent,
)
from calhub.services.context import HubContext
from calhub.services.google_intake import PUSH_PATH
from calhub.services.intake import CHANGE_NOTIFICATIONS_PATH, LIFECYCLE_NOTIFICATIONS_PATH
from calhub.services.jobs import defer_ensure_subscription, defer_sync

LIFETIME: Final = timedelta(days=3)
RENEW_AHEAD: Final = timedelta(days=1)
RETRY_SUBSCRIBE_AFTER_S: Final = 300.0
# Where each provider delivers: (notification path, lifecycle path or None).
_HOOKS: Final[dict[ProviderKind, tuple[str, str | None]]] = {
    ProviderKind.MSGRAPH: (CHANGE_NOTIFICATIONS_PATH, LIFECYCLE_NOTIFICATIONS_PATH),
    ProviderKind.GOOGLE: (PUSH_PATH, None),
}

log = structlog.get_logger("calhub.subscriptions")


@dataclass(frozen=True, slots=True)
class _Target:
    connection: Connection
    calendar: Calendar


async def _target(ctx: HubContext, tenant_id: TenantId, calendar_id: CalendarId) -> _Target | None:
    async with ctx.uow() as uow:
        calendar = await uow.calendars.get(tenant_id, calendar_id)
        if calendar is None:
            return None
        connection = await uow.connections.get(tenant_id, calendar.connection_id)
    if connection is None or connection.status is not ConnectionStatus.ACTIVE:
        return None
    return _Target(connection, calendar)


async def ensure_subscription(
    ctx: HubContext, tenant_id: TenantId, calendar_id: CalendarId
) -> Subscription | None:
    """The calendar's live subscription, created if it has none or the provider removed it."""
    target = await _target(ctx, tenant_id, calendar_id)
    if target is None or target.calendar.missing_since is not None:
        return None
    if target.calendar.out_of_scope_reason is not None:
        return None
    now = ctx.clock.now()
    async with ctx.uow() as uow:
        existing = await uow.subscriptions.for_calendar(tenant_id, calendar_id)
    if (
        existing is not None
        and existing.status is SubscriptionStatus.ACTIVE
        and existing.expires_at > now + RENEW_AHEAD
    ):
        return existing
    provider = await ctx.providers.for_connection(target.connection)
    # Replacing (no renewal): the old one lives on until the new one is stored, so no change
    # falls between them; otherwise it goes first, so the two never both notify.
    replacing = not provider.capabilities.renewable_subscriptions
    old = (
        existing
        if existing is not None and existing.status is not SubscriptionStatus.REMOVED
        else None
    )
    if old is not None and not replacing:
        await _unsubscribe_quietly(ctx, target.connection, old)
    client_state = secrets.token_urlsafe(32)
    lifetime = min(LIFETIME, provider.capabilities.max_subscription_lifetime)
    notification_path, lifecycle_path = _hooks(target.connection.provider)
    try:
        info = await provider.subscribe(
            CalendarRef(owner=target.calendar.provider_calendar_id),
            notification_url=ctx.public_url(notification_path),
            lifecycle_url=None if lifecycle_path is None else ctx.public_url(lifecycle_path),
            client_state=client_state,
            expires_at=now + lifetime,
        )
    except ProviderError as exc:
        if await _stopped_by(ctx, target, exc):
            return None
        log.warning("subscribe_failed", calendar_id=str(calendar_id), error=type(exc).__name__)
        await defer_ensure_subscription(
            ctx.jobs, tenant_id, calendar_id, delay_s=RETRY_SUBSCRIBE_AFTER_S
        )
        return None
    subscription = Subscription(
        id=SubscriptionId(new_id(now)),
        tenant_id=tenant_id,
        calendar_id=calendar_id,
        provider_subscription_id=info.id,
        client_state=Secret(client_state),
        expires_at=info.expires_at,
        created_at=now,
    )
    async with ctx.uow() as uow:
        await uow.subscriptions.replace(subscription)
        await uow.commit()
    if old is not None and replacing:
        await _unsubscribe_quietly(ctx, target.connection, old)
    await defer_sync(ctx.jobs, tenant_id, calendar_id)
    return subscription


def _hooks(provider: ProviderKind) -> tuple[str, str | None]:
    """The provider's (notification path, lifecycle path); Graph's for test providers."""
    return _HOOKS.get(provider, _HOOKS[ProviderKind.MSGRAPH])


async def renew_subscription(
    ctx: HubContext, tenant_id: TenantId, subscription_id: SubscriptionId
) -> None:
    async with ctx.uow() as uow:
        subscription = await uow.subscriptions.get(tenant_id, subscription_id)
    if subscription is not None:
        await _renew(ctx, [subscription])


async def renew_due_subscriptions(ctx: HubContext, limit: int = 1000) -> int:
    """Renew what expires within ``RENEW_AHEAD``; returns how many were due."""
    async with ctx.uow() as uow:
        due = await uow.subscriptions.due_for_renewal(ctx.clock.now() + RENEW_AHEAD, limit)
    await _renew(ctx, due)
    return len(due)


async def _renew(ctx: HubContext, due: list[Subscription]) -> None:
    by_connection: defaultdict[tuple[TenantId, ConnectionId], list[_Due]] = defaultdict(list)
    for subscription in due:
        target = await _target(ctx, subscription.tenant_id, subscription.calendar_id)
        if target is not None:
            key = (subscription.tenant_id, target.connection.id)
            by_connection[key].append(_Due(subscription, target))
    for items in by_connection.values():
        await _renew_for_connection(ctx, items)


@dataclass(frozen=True, slots=True)
class _Due:
    subscription: Subscription
    target: _Target


async def _renew_for_connection(ctx: HubContext, items: list[_Due]) -> None:
    connection = items[0].target.connection
    now = ctx.clock.now()
    provider = await ctx.providers.for_connection(connection)
    if not provider.capabilities.renewable_subscriptions:
        for item in items:  # a new subscription for each, made under the calendar's lock
            await defer_ensure_subscription(
                ctx.jobs, item.subscription.tenant_id, item.subscription.calendar_id
            )
        return
    lifetime = min(LIFETIME, provider.capabilities.max_subscription_lifetime)
    try:
        answers = await provider.renew_many(
            [item.subscription.provider_subscription_id for item in items],
            expires_at=now + lifetime,
        )
    except ProviderError as exc:
        if not await _stopped_by(ctx, items[0].target, exc):
            log.warning(
                "renewal_failed", connection_id=str(connection.id), error=type(exc).__name__
            )
        return
    for item in items:
        answer = answers[item.subscription.provider_subscription_id]
        subscription = item.subscription
        if isinstance(answer, NotFound):
            await defer_ensure_subscription(
                ctx.jobs, subscription.tenant_id, subscription.calendar_id
            )
        elif isinstance(answer, ProviderError):
            if await _stopped_by(ctx, item.target, answer):
                return
            log.warning(
                "renewal_failed", subscription_id=str(subscription.id), error=type(answer).__name__
            )
        else:
            async with ctx.uow() as uow:
                await uow.subscriptions.record_renewal(
                    subscription.tenant_id, subscription.id, answer.expires_at, now
                )
                await uow.commit()


async def _stopped_by(ctx: HubContext, target: _Target, error: ProviderError) -> bool:
    """Act on errors that stop a connection or a mailbox; True when it was one of those."""
    tenant_id, connection_id = target.connection.tenant_id, target.connection.id
    if isinstance(error, ConsentRevoked):
        await disable_for_revoked_consent(ctx, tenant_id, connection_id, str(error))
        return True
    if isinstance(error, CredentialsRejected):
        await disable_for_rejected_credentials(ctx, tenant_id, connection_id, str(error))
        return True
    if isinstance(error, MailboxOutOfScope):
        async with ctx.uow() as uow:
            await uow.calendars.mark_out_of_scope(
                tenant_id, target.calendar.id, impersonal_reason(error), ctx.clock.now()
            )
            await uow.commit()
        return True
    return False


async def _unsubscribe_quietly(
    ctx: HubContext, connection: Connection, subscription: Subscription
) -> None:
    provider = await ctx.providers.for_connection(connection)
    try:
        await provider.unsubscribe(subscription.provider_subscription_id)
    except ProviderError as exc:
        log.info("old_subscription_not_removed", error=type(exc).__name__)
