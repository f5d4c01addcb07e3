"""Drain the outbox of join-block writes (docs/joinlinks.md, "Write-back"; ARCHITECTURE.md §4).

A sync queues a row in ``join_writes`` for each invite that may need calhub's join block written
or removed. ``drain_join_writes`` takes due rows one at a time (each locked for the length of its
write, see ``calhub.storage.repositories.join_writes``) and for each:

1. reads the invite as it is now, with calhub's marker property;
2. decides again (``decide_join_write``): the invite may have changed since the sync;
3. for a write, gets a meeting from the keyword's backend — a template (Webex Personal Room,
   Jitsi, SIP virtual room) or the calendar provider (Teams: the invite is made an online meeting
   first, then read again for its join URL) — and renders the block in the organizer's language
   with the tenant's header and footer;
4. replaces the body and sets the marker property in one write naming the change key it read: a
   concurrent edit makes the provider refuse it (``EditConflict``) and the invite is read again,
   up to ``MAX_ROUNDS`` times.

A worker killed before step 4 leaves the row pending (its lock dies with its connection); killed
after it, the next drain reads an invite that already carries the block and the marker naming
it, and finishes the row without writing: nothing is lost and nothing written twice. Provider
throttling and outages put the row back with backoff; after ``MAX_ATTEMPTS`` it fails.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import structlog

from calhub.domain.calendars import ConnectionStatus
from calhub.domain.joinlinks import JoinDetails
from calhub.domain.joinlinks.block import find_block, remove_block, render_block, replace_block
from calhub.domain.joinlinks.keywords import KeywordMatch
from calhub.domain.joinlinks.settings import TEMPLATE_BACKENDS, JoinSettings
from calhub.domain.joinlinks.writeback import JoinAction, decide_join_write, join_marker
from calhub.domain.sync.changes import ItemKind
from calhub.providers.base import (
    CalendarProvider,
    CalendarRef,
    ConsentRevoked,
    CredentialsRejected,
    EditableEvent,
    EditConflict,
    MailboxOutOfScope,
    NotFound,
    ProviderError,
    RateLimited,
)
from calhub.services.calendar_sync import failure_in_words
from calhub.services.context import HubContext
from calhub.storage.repositories.join_writes import JoinWrite, JoinWriteState
from calhub.storage.unit_of_work import UnitOfWork

MAX_ROUNDS: Final = 4  # reads of one invite per attempt (edit conflicts, a new Teams meeting)
MAX_ATTEMPTS: Final = 8
RETRY_BASE: Final = timedelta(seconds=30)
RETRY_CAP: Final = timedelta(hours=1)

log = structlog.get_logger("calhub.joinlinks")


@dataclass(frozen=True, slots=True)
class _Finished:
    state: JoinWriteState
    outcome: str
    written_change_key: str | None = None


@dataclass(frozen=True, slots=True)
class _Later:
    outcome: str
    retry_after_s: float | None = None


class _NotConfigured(Exception):
    """The keyword's backend cannot make meetings for this tenant; the message says why."""


async def drain_join_writes(ctx: HubContext, limit: int = 200) -> int:
    """Carry out due join writes until none is left or ``limit`` were taken; returns how many."""
    taken = 0
    while taken < limit:
        async with ctx.uow() as uow:
            write = await uow.join_writes.claim_due(ctx.clock.now())
            if write is None:
                return taken
            taken += 1
            result = await _carry_out(ctx, uow, write)
            now = ctx.clock.now()
            if isinstance(result, _Later) and write.attempts + 1 < MAX_ATTEMPTS:
                delay = result.retry_after_s or _backoff_s(write.attempts)
                not_before = now + timedelta(seconds=delay)
                await uow.join_writes.retry_later(write.id, result.outcome, not_before, now)
            elif isinstance(result, _Later):
                await uow.join_writes.finish(
                    write.id, JoinWriteState.FAILED, f"gave up: {result.outcome}", now
                )
            else:
                await uow.join_writes.finish(
                    write.id,
                    result.state,
                    result.outcome,
                    now,
                    written_change_key=result.written_change_key,
                )
            await uow.commit()
        log.info(
            "join_write",
            tenant_id=str(write.tenant_id),
            write_id=write.id,
            result="retry" if isinstance(result, _Later) else result.state.value,
        )
    return taken


def _backoff_s(attempts: int) -> float:
    delay: timedelta = min(RETRY_CAP, RETRY_BASE * 2 ** min(attempts, 16))
    return delay.total_seconds()


async def _carry_out(ctx: HubContext, uow: UnitOfWork, write: JoinWrite) -> _Finished | _Later:
    subject = await uow.calendars.get_for_sync(write.tenant_id, write.calendar_id)
    if subject is None:
        return _Finished(JoinWriteState.DONE, "the calendar no longer exists")
    if subject.connection.status is not ConnectionStatus.ACTIVE:
        return _Finished(
            JoinWriteState.FAILED, f"the connection is {subject.connection.status.value}"
        )
    calendar = subject.calendar
    try:
        provider = await ctx.providers.for_connection(subject.connection)
        editor = _Editor(provider, CalendarRef(calendar.provider_calendar_id), write)
        return await editor.run(subject.join_settings, calendar.owner_email)
    except NotFound:
        return _Finished(JoinWriteState.DONE, "the invite is gone")
    except _NotConfigured as exc:
        return _Finished(JoinWriteState.FAILED, str(exc))
    except RateLimited as exc:
        return _Later("throttled by the provider", exc.retry_after)
    except (ConsentRevoked, CredentialsRejected, MailboxOutOfScope) as exc:
        return _Finished(JoinWriteState.FAILED, failure_in_words(exc))
    except ProviderError as exc:  # Transient, InvalidResponse, ...: try again later
        return _Later(failure_in_words(exc))


@dataclass(slots=True)
class _Editor:
    provider: CalendarProvider
    ref: CalendarRef
    write: JoinWrite

    async def run(self, settings: JoinSettings, owner_email: str) -> _Finished | _Later:
        for _ in range(MAX_ROUNDS):
            event = await self.provider.read_event(self.ref, self.write.provider_event_id)
            try:
                done = await self._round(event, settings, owner_email)
            except EditConflict:
                continue  # edited meanwhile: read it again
            if done is not None:
                return done
        return _Later("the invite kept changing while calhub wrote to it")

    async def _round(
        self, event: EditableEvent, settings: JoinSettings, owner_email: str
    ) -> _Finished | None:
        decision = decide_join_write(
            location=event.location,
            body=event.body,
            is_organizer=event.is_organizer,
            is_cancelled=event.is_cancelled,
            is_instance=event.kind in (ItemKind.EXCEPTION, ItemKind.OCCURRENCE),
            settings=settings,
            marker=event.join_marker,
        )
        if decision.action is JoinAction.LEAVE:
            return _Finished(JoinWriteState.DONE, f"nothing to write: {decision.reason}")
        if decision.action is JoinAction.REMOVE:
            key = await self._write(event, remove_block(event.body), marker="")
            return _Finished(JoinWriteState.DONE, "removed the join block", key)
        assert decision.keyword is not None  # a WRITE always names its keyword
        organizer = event.organizer_email or owner_email
        meeting = await self._meeting(decision.keyword, settings, event, organizer)
        if meeting is None:
            return None  # the provider made an online meeting: read the invite again
        block = render_block(
            meeting,
            keyword=decision.keyword.keyword,
            body_format=event.body_format,
            locale=await self.provider.mailbox_locale(organizer),
            header=settings.header,
            footer=settings.footer,
        )
        written = find_block(block)
        assert written is not None  # render_block's output always starts with its marker
        key = await self._write(
            event,
            replace_block(event.body, event.body_format, block),
            marker=join_marker(written.keyword, written.content_hash),
        )
        return _Finished(JoinWriteState.DONE, f"wrote the join block for {written.keyword}", key)

    async def _write(self, event: EditableEvent, body: str, *, marker: str) -> str:
        return await self.provider.write_body(
            self.ref,
            event.provider_event_id,
            body=body,
            body_format=event.body_format,
            join_marker=marker,
            if_match=event.change_key,
        )

    async def _meeting(
        self, keyword: KeywordMatch, settings: JoinSettings, event: EditableEvent, organizer: str
    ) -> JoinDetails | None:
        backend = keyword.backend
        if backend == "webex_personal_room" and settings.webex_personal_room is not None:
            return settings.webex_personal_room.meeting(organizer)
        if backend == "jitsi" and settings.jitsi is not None:
            return settings.jitsi.meeting(secrets.token_bytes(16))
        if backend == "sip_vmr" and settings.sip_vmr is not None:
            return settings.sip_vmr.meeting(organizer)
        online = backend in self.provider.capabilities.online_meetings
        if online and (backend != "teams" or settings.teams):
            if event.online_meeting_url:
                return JoinDetails(
                    provider=backend, source="location", join_url=event.online_meeting_url
                )
            await self.provider.add_online_meeting(
                self.ref, event.provider_event_id, backend=backend, if_match=event.change_key
            )
            return None
        raise _NotConfigured(
            f"{keyword.keyword} asks for {backend} meetings: {_why_not(backend, online)}"
        )


def _why_not(backend: str, provider_can: bool) -> str:
    if backend in TEMPLATE_BACKENDS:
        return "the backend is not configured in the tenant's join settings"
    if provider_can:
        return "they are switched off in the tenant's join settings"
    if backend in ("webex_space", "webex_one_time"):
        return "calhub does not call the Webex meetings API yet; map the keyword to another backend"
    return "this calendar's provider cannot make them"
