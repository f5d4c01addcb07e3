"""Intake of Google Calendar push messages (issue 7, "Sync"; google.md §4.3, §4.4;
ARCHITECTURE.md §4 step 1).

Google POSTs one push message per request to ``/hooks/google``. A push message has no body;
its ``X-Goog-*`` headers name the channel and say what happened, never what changed.
``PushIntake.receive(headers)`` handles one such request:

1. read the headers (``calhub.providers.google.push.parse_push``); a request that is not a push
   message raises ``MalformedPush`` at once;
2. wait for the next group: while a group of messages is being stored, the messages arriving
   meanwhile gather and go together in the next one (group commit), and a group that would
   start with fewer than ``GATHER_UP_TO`` messages first waits up to ``GATHER_S`` for more.
   Graph batches its notifications itself; Google sends one request per message, and one
   transaction per message held the intake to about 130 messages a second on the benchmark
   machine. The window matters at moderate rates, where groups would otherwise hold one or two
   messages: at 150 pushes a second it halved the API process's CPU (``calhub bench sync``,
   docs/sync.md), for at most ``GATHER_S`` more before a push is answered;
3. ``store_pushes`` stores a group: find the subscriptions by ``"<channel id>/<resource id>"`` in
   one query (``subscriptions.for_intake``, across tenants, no tenant key opened) and check each
   channel token against its client-state digest in constant time (an unknown channel or a wrong
   token is refused, logged by subscription id only, as a warning except for the ``sync`` message
   of a channel not stored yet, which every new channel may send); ``sync`` messages (the channel
   was just created) need nothing, since creating a subscription already queued a sync of its
   calendar; ``exists`` / ``not_exists`` messages are stored in the inbox (the message number
   tells a redelivery from a later change), each calendar's last-heard time is recorded and one
   sync per calendar with a new message is queued (``defer_syncs``; the queueing lock collapses a
   storm into one waiting job). All in one transaction, the syncs' jobs too.

When the queue (or the database) fails, nothing of the group is stored and every message of it
gets ``IntakeUnavailable``, which the route answers with 503; Google retries (§4.4) and finds
the message new again. Nothing is kept in the process beyond the requests in flight: any API
process can take any message.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Mapping, Sequence
from typing import Final

import structlog

from calhub.providers.google.push import PushMessage, ResourceState, parse_push
from calhub.services.context import HubContext
from calhub.services.jobs import defer_syncs
from calhub.storage.repositories import InboxNotification, IntakeSubscription

PUSH_PATH: Final = "/hooks/google"
"""Where Google POSTs push messages: the ``address`` of calhub's watch channels."""
MAX_GROUP: Final = 500  # push messages stored in one transaction at most
GATHER_UP_TO: Final = 16  # a group smaller than this waits for company first ...
GATHER_S: Final = 0.02  # ... this long at most

log = structlog.get_logger("calhub.intake")


class IntakeUnavailable(Exception):
    """The message could not be stored and acted on now; nothing was kept (answer 5xx)."""


class PushOutcome(enum.StrEnum):
    STORED = "stored"  # a change, new to the inbox; the calendar's sync is queued
    DUPLICATE = "duplicate"  # a change already stored (Google delivered it again)
    CONFIRMED = "confirmed"  # the channel's sync message
    UNKNOWN = "unknown"  # no subscription with this channel
    FORGED = "forged"  # the token is not the subscription's client state

    @property
    def accepted(self) -> bool:
        return self not in (PushOutcome.UNKNOWN, PushOutcome.FORGED)


class PushIntake:
    """One API process's intake of push messages, stored in groups (see the module doc)."""

    def __init__(
        self,
        ctx: HubContext,
        max_group: int = MAX_GROUP,
        *,
        gather_up_to: int = GATHER_UP_TO,
        gather_s: float = GATHER_S,
    ) -> None:
        self._ctx = ctx
        self._max_group = max_group
        self._gather_up_to = gather_up_to
        self._gather_s = gather_s
        self._waiting: list[tuple[PushMessage, asyncio.Future[PushOutcome]]] = []
        self._gathered = asyncio.Event()  # set once ``gather_up_to`` messages wait
        self._storing: asyncio.Task[None] | None = None

    async def receive(self, headers: Mapping[str, str]) -> PushOutcome:
        """Authenticate, store and act on one push message.

        ``headers`` is a case-insensitive mapping (Starlette's). Raises ``MalformedPush`` when
        it is not a push message, ``IntakeUnavailable`` when it could not be stored and its
        calendar's sync queued.
        """
        message = parse_push(headers)
        answer: asyncio.Future[PushOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((message, answer))
        if len(self._waiting) >= self._gather_up_to:
            self._gathered.set()
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_waiting())
        return await answer

    async def _store_waiting(self) -> None:
        while self._waiting:
            await self._gather()
            group = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
            try:
                outcomes = await store_pushes(self._ctx, [message for message, _ in group])
            except Exception as exc:  # whatever the database or the queue raised: retry later
                log.warning("push_group_not_stored", messages=len(group), error=type(exc).__name__)
                for _, answer in group:
                    if not answer.done():
                        answer.set_exception(
                            IntakeUnavailable("the change could not be stored and queued")
                        )
                continue
            for (_, answer), outcome in zip(group, outcomes, strict=True):
                if not answer.done():  # its request may have been cancelled meanwhile
                    answer.set_result(outcome)

    async def _gather(self) -> None:
        """Wait, up to ``gather_s``, until ``gather_up_to`` messages wait."""
        if len(self._waiting) >= self._gather_up_to:
            return
        self._gathered.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._gather_s):
                await self._gathered.wait()


async def store_pushes(ctx: HubContext, messages: Sequence[PushMessage]) -> list[PushOutcome]:
    """Authenticate, store and act on ``messages`` in one transaction; their outcomes in order.
    Raises whatever the database or the queue raised, with nothing stored."""
    async with ctx.uow() as uow:
        known = await uow.subscriptions.for_intake(
            sorted({message.subscription_id for message in messages})
        )
        outcomes: dict[int, PushOutcome] = {}  # by the message's place in ``messages``
        changes: list[tuple[int, InboxNotification]] = []
        for at, message in enumerate(messages):
            subscription = known.get(message.subscription_id)
            if subscription is None and message.state is ResourceState.SYNC:
                # Google sends a new channel's sync message at once, often before calhub has
                # stored the channel: expected at every new channel, and it asks for nothing.
                log.info("push_sync_before_channel_stored", subscription_id=message.subscription_id)
                outcomes[at] = PushOutcome.UNKNOWN
            elif subscription is None or not _authentic(subscription, message):
                outcome = PushOutcome.UNKNOWN if subscription is None else PushOutcome.FORGED
                log.warning(
                    "push_rejected", reason=outcome.value, subscription_id=message.subscription_id
                )
                outcomes[at] = outcome
            elif message.state is ResourceState.SYNC:
                log.debug("channel_confirmed", subscription_id=str(subscription.id))
                outcomes[at] = PushOutcome.CONFIRMED
            else:
                changes.append((at, _inbox_entry(subscription, message)))
        if changes:
            now = ctx.clock.now()
            new = set(await uow.notifications.add_many([entry for _, entry in changes], now))
            calendars = sorted({(entry.tenant_id, entry.calendar_id) for _, entry in changes})
            await uow.sync_status.record_notifications(calendars, now)
            to_sync = sorted({(entry.tenant_id, entry.calendar_id) for entry in new})
            if to_sync:
                await defer_syncs(ctx.jobs, to_sync, within=uow)
            for at, entry in changes:
                stored = entry in new
                new.discard(entry)  # a message twice in the group: the second is a duplicate
                outcomes[at] = PushOutcome.STORED if stored else PushOutcome.DUPLICATE
        await uow.commit()
    return [outcomes[at] for at in range(len(messages))]


def _authentic(subscription: IntakeSubscription, message: PushMessage) -> bool:
    return message.token is not None and subscription.accepts(message.token)


def _inbox_entry(subscription: IntakeSubscription, message: PushMessage) -> InboxNotification:
    return InboxNotification(
        tenant_id=subscription.tenant_id,
        calendar_id=subscription.calendar_id,
        subscription_id=subscription.id,
        change_type=message.state.value,
        resource_id=message.resource_id,
        dedupe=str(message.message_number),
    )
