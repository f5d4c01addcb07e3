"""Connections for sync: consent, mailbox scope, token cache and purging secrets."""

from __future__ import annotations

from datetime import timedelta

from calhub.domain.calendars import ConnectionStatus, MailboxScope, ScopeKind, Secret
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant

LATER = NOW + timedelta(hours=1)


async def test_consent_scope_and_token_cache_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    scope = MailboxScope(ScopeKind.MAILBOXES, ("alice@example.com", "bob@example.com"))
    async with uow_factory() as uow:
        fresh = await uow.connections.get(tenant.id, calendar.connection_id)
        assert await uow.connections.record_consent(
            tenant.id, calendar.connection_id, "ms-tenant-1", LATER
        )
        assert await uow.connections.set_scope(tenant.id, calendar.connection_id, scope, LATER)
        assert await uow.connections.save_token_cache(
            tenant.id, calendar.connection_id, Secret('{"AccessToken": {}}')
        )
        await uow.commit()
    async with uow_factory() as uow:
        connection = await uow.connections.get(tenant.id, calendar.connection_id)
        cache = await uow.connections.load_token_cache(tenant.id, calendar.connection_id)

    assert fresh is not None
    assert fresh.scope == MailboxScope()  # all mailboxes unless told otherwise
    assert connection is not None
    assert connection.status is ConnectionStatus.ACTIVE
    assert connection.provider_tenant_id == "ms-tenant-1"
    assert connection.consented_at == LATER
    assert connection.updated_at == LATER
    assert connection.scope == scope
    assert cache is not None
    assert cache.reveal() == '{"AccessToken": {}}'


async def test_purge_replaces_credentials_and_drops_cached_tokens(
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id, credentials='{"secret": "s3"}')
    async with uow_factory() as uow:
        await uow.connections.save_token_cache(tenant.id, calendar.connection_id, Secret("tok"))
        assert await uow.connections.purge_credentials(tenant.id, calendar.connection_id, LATER)
        await uow.connections.set_status(
            tenant.id, calendar.connection_id, ConnectionStatus.CONSENT_REVOKED, LATER
        )
        await uow.commit()
    async with uow_factory() as uow:
        connection = await uow.connections.get(tenant.id, calendar.connection_id)
        cache = await uow.connections.load_token_cache(tenant.id, calendar.connection_id)

    assert connection is not None
    assert connection.credentials.reveal() == ""
    assert connection.status is ConnectionStatus.CONSENT_REVOKED
    assert connection.updated_at == LATER
    assert cache is None


async def test_other_tenant_cannot_touch_connection_state(uow_factory: UnitOfWorkFactory) -> None:
    a = await add_tenant(uow_factory, "A")
    b = await add_tenant(uow_factory, "B")
    calendar = await add_calendar(uow_factory, a.id)
    async with uow_factory() as uow:
        await uow.connections.save_token_cache(a.id, calendar.connection_id, Secret("tok"))
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.connections.record_consent(b.id, calendar.connection_id, "x", NOW)
        assert not await uow.connections.set_scope(
            b.id, calendar.connection_id, MailboxScope(), NOW
        )
        assert not await uow.connections.purge_credentials(b.id, calendar.connection_id, NOW)
        assert await uow.connections.load_token_cache(b.id, calendar.connection_id) is None
        await uow.commit()
    async with uow_factory() as uow:
        cache = await uow.connections.load_token_cache(a.id, calendar.connection_id)
    assert cache is not None
