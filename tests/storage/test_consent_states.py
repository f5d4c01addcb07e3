"""Consent states: stored as digests, single use, expiring, and safe under racing callbacks."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

from sqlalchemy import select

from calhub.storage.repositories import ConsentStateAccepted, ConsentStateRejected
from calhub.storage.tables import consent_states
from calhub.storage.unit_of_work import UnitOfWorkFactory

from .factories import NOW, add_calendar, add_tenant

EXPIRES = NOW + timedelta(minutes=10)


async def _issue(uow_factory: UnitOfWorkFactory) -> tuple[str, ConsentStateAccepted]:
    tenant = await add_tenant(uow_factory)
    calendar = await add_calendar(uow_factory, tenant.id)
    async with uow_factory() as uow:
        state = await uow.consent_states.issue(
            tenant.id, calendar.connection_id, expires_at=EXPIRES, now=NOW
        )
        await uow.commit()
    return state, ConsentStateAccepted(tenant.id, calendar.connection_id)


async def test_state_is_used_once_and_stored_only_as_digest(
    uow_factory: UnitOfWorkFactory,
) -> None:
    state, issued = await _issue(uow_factory)
    async with uow_factory() as uow:
        first = await uow.consent_states.consume(state, NOW + timedelta(minutes=1))
        second = await uow.consent_states.consume(state, NOW + timedelta(minutes=2))
        stored = (
            await uow.connection.execute(
                select(consent_states.c.state_hash).where(
                    consent_states.c.connection_id == issued.connection_id
                )
            )
        ).scalar_one()
        await uow.commit()

    assert first == issued
    assert second is ConsentStateRejected.USED
    assert bytes(stored) == hashlib.sha256(state.encode()).digest()


async def test_a_state_calhub_did_not_sign_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    state, _ = await _issue(uow_factory)
    signed_part, _, signature = state.rpartition(".")
    tenant_hex, _, nonce = signed_part.partition(".")
    altered = f"{tenant_hex}.{nonce[::-1]}.{signature}"
    async with uow_factory() as uow:
        outcomes = [
            await uow.consent_states.consume(candidate, NOW)
            for candidate in (altered, "never-issued", f"{tenant_hex}..", "x" * 500)
        ]
        still_good = await uow.consent_states.consume(state, NOW)
        await uow.commit()

    assert outcomes == [ConsentStateRejected.FORGED] * 4
    assert isinstance(still_good, ConsentStateAccepted)


async def test_expired_state_is_refused_and_pruned(uow_factory: UnitOfWorkFactory) -> None:
    state, _ = await _issue(uow_factory)
    async with uow_factory() as uow:
        late = await uow.consent_states.consume(state, EXPIRES)
        kept = await uow.consent_states.delete_expired(EXPIRES)
        pruned = await uow.consent_states.delete_expired(EXPIRES + timedelta(seconds=1))
        after = await uow.consent_states.consume(state, NOW)
        await uow.commit()

    assert late is ConsentStateRejected.EXPIRED
    assert kept == 0
    assert pruned >= 1
    assert after is ConsentStateRejected.UNKNOWN


async def test_two_racing_callbacks_let_exactly_one_through(
    uow_factory: UnitOfWorkFactory,
) -> None:
    state, issued = await _issue(uow_factory)
    blocked = asyncio.Event()

    async def second_consumer() -> ConsentStateAccepted | ConsentStateRejected:
        async with uow_factory() as uow:
            blocked.set()
            # Waits on the first consumer's row lock, then sees the state used.
            outcome = await uow.consent_states.consume(state, NOW)
            await uow.commit()
            return outcome

    async with uow_factory() as uow:
        first = await uow.consent_states.consume(state, NOW)
        racing = asyncio.create_task(second_consumer())
        await blocked.wait()
        await asyncio.sleep(0.2)
        assert not racing.done()  # really waiting on the lock, not finished before us
        await uow.commit()
    second = await racing

    assert first == issued
    assert second is ConsentStateRejected.USED
