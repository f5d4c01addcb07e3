"""Intake of Google Calendar push messages (issue 7, "Sync"; google.md §4.3, §4.4;
ARCHITECTURE.md §4 step 1).

``receive_push(ctx, headers)`` handles one POST to ``/hooks/google``. A push message has no
body; its ``X-Goog-*`` headers name the channel and say what happened, never what changed:

1. read the headers (``calhub.providers.google.push.parse_push``); a request that is not a push
   message raises ``MalformedPush``;
2. find the subscription by ``"<channel id>/<resource id>"`` (``subscriptions.for_intake``,
   across tenants, no tenant key opened) and check the channel token against its client-state
   digest in constant time; an unknown channel or a wrong token is refused (``accepted`` False)
   and logged by subscription id only;
3. ``sync`` (the channel was just created) needs nothing: creating a subscription already
   queued a sync of its calendar;
4. ``exists`` / ``not_exists``: in one transaction, store the message in the inbox (the message
   number tells a redelivery from a later change), record when the calendar last heard, and
   queue its sync (``defer_syncs``; the queueing lock collapses a storm into one waiting job).

The sync is queued before the transaction commits: when the queue refuses, nothing is stored
and ``IntakeUnavailable`` tells the route to answer 503, which Google retries (§4.4); its retry
then finds the message new again. Nothing is kept in the process: any API process can take any
message.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import structlog

from calhub.providers.google.push import PushMessage, ResourceState, parse_push
from calhub.services.context import HubContext
from calhub.services.jobs import defer_syncs
from calhub.storage.repositories import InboxNotification, IntakeSubscription

PUSH_PATH: Final = "/hooks/google"
"""Where Google POSTs push messages: the ``address`` of calhub's watch channels."""

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


@dataclass(frozen=True, slots=True)
class PushResult:
    outcome: PushOutcome
    jobs_queued: int = 0

    @property
    def accepted(self) -> bool:
        return self.outcome.accepted


async def receive_push(ctx: HubContext, headers: Mapping[str, str]) -> PushResult:
    """Authenticate, store and act on one push message (see the module doc).

    ``headers`` is a case-insensitive mapping (Starlette's). Raises ``MalformedPush`` when it is
    not a push message, ``IntakeUnavailable`` when the sync could not be queued.
    """
    message = parse_push(headers)
    async with ctx.uow() as uow:
        known = await uow.subscriptions.for_intake([message.subscription_id])
        subscription = known.get(message.subscription_id)
        if subscription is None or not _authentic(subscription, message):
            outcome = PushOutcome.UNKNOWN if subscription is None else PushOutcome.FORGED
            log.warning(
                "push_rejected", reason=outcome.value, subscription_id=message.subscription_id
            )
            return PushResult(outcome)
        if message.state is ResourceState.SYNC:
            log.debug("channel_confirmed", subscription_id=str(subscription.id))
            return PushResult(PushOutcome.CONFIRMED)
        now = ctx.clock.now()
        new = await uow.notifications.add_many([_inbox_entry(subscription, message)], now)
        await uow.sync_status.record_notifications(
            [(subscription.tenant_id, subscription.calendar_id)], now
        )
        queued = 0
        if new:
            try:
                queued = await defer_syncs(
                    ctx.jobs, [(subscription.tenant_id, subscription.calendar_id)]
                )
            except Exception as exc:  # whatever the queue's backend raises: retry later
                raise IntakeUnavailable("the calendar's sync could not be queued") from exc
        await uow.commit()
    return PushResult(PushOutcome.STORED if new else PushOutcome.DUPLICATE, queued)


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
