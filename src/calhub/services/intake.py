"""Intake of Microsoft Graph change and lifecycle notifications (issue 4, "Sync";
ARCHITECTURE.md §4 step 1; graph.md §4.4, §4.5, §4.7).

``receive_notifications(ctx, body)`` handles one POST to ``/hooks/microsoft`` or
``/hooks/microsoft/lifecycle`` (Graph lets a subscription use one URL for both, so either URL
takes both kinds) and answers in a handful of queries, however many items the POST batches:

1. parse the body (``calhub.providers.msgraph.notifications``); a body that is not Graph's
   wrapper raises ``MalformedNotifications``, an unreadable item is skipped and counted;
2. look every subscription id up in one query (``subscriptions.for_intake``), across tenants
   and without opening any tenant key, and check each item's ``clientState`` against its
   subscription's digest in constant time; unknown subscriptions and wrong states are dropped,
   counted and logged by subscription id only;
3. in one transaction: store the change notifications idempotently (``notifications.add_many``
   returns only the new ones), record when each calendar last heard, mark subscriptions Graph
   says need reauthorization or were removed, and defer the work: one ``sync_calendar`` per
   calendar with a new notification, all in one round trip (``defer_syncs``; each job's
   queueing lock collapses a storm into one waiting job),
   ``renew_subscription`` for ``reauthorizationRequired``, ``ensure_subscription`` (recreate,
   then resync) for ``subscriptionRemoved``, ``sync_calendar`` for ``missed``.

The syncs' jobs are written in the same transaction (``defer_syncs(..., within=uow)``), the
lifecycle ones just before it commits: if deferring fails, nothing is stored, the POST fails and
Graph's retry finds every notification new again, so no change waits for the safety net. A
lifecycle job that starts before the commit still reads the provider's state.

``IntakeResult.forged_only`` says that every item carried a wrong ``clientState``; the route
answers 401 then, and 202 otherwise (graph.md §4.5 asks for 2xx within 3 s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import structlog

from calhub.domain.calendars import SubscriptionStatus
from calhub.domain.ids import CalendarId, SubscriptionId, TenantId
from calhub.providers.msgraph.notifications import (
    ChangeNotification,
    LifecycleEvent,
    LifecycleNotification,
    parse_notifications,
)
from calhub.services.context import HubContext
from calhub.services.jobs import (
    JobQueue,
    defer_ensure_subscription,
    defer_renewal,
    defer_syncs,
)
from calhub.storage.repositories import InboxNotification, IntakeSubscription
from calhub.storage.unit_of_work import UnitOfWork

CHANGE_NOTIFICATIONS_PATH: Final = "/hooks/microsoft"
"""Where Graph POSTs change notifications: a subscription's ``notificationUrl`` path."""
LIFECYCLE_NOTIFICATIONS_PATH: Final = "/hooks/microsoft/lifecycle"
"""Where Graph POSTs lifecycle notifications: a subscription's ``lifecycleNotificationUrl``."""

_LIFECYCLE_STATUS: Final[Mapping[LifecycleEvent, SubscriptionStatus]] = {
    LifecycleEvent.REAUTHORIZATION_REQUIRED: SubscriptionStatus.REAUTHORIZATION_REQUIRED,
    LifecycleEvent.SUBSCRIPTION_REMOVED: SubscriptionStatus.REMOVED,
}

log = structlog.get_logger("calhub.intake")


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What one POST brought. ``received`` counts every item of it."""

    received: int = 0
    stored: int = 0  # change notifications not seen before, now in the inbox
    duplicates: int = 0  # authentic, but already stored (or repeated within this POST)
    lifecycle: int = 0  # authentic lifecycle notifications, acted on
    malformed: int = 0  # items that could not be read
    unknown: int = 0  # items for a subscription calhub does not hold
    forged: int = 0  # items whose clientState is not their subscription's
    jobs_queued: int = 0  # jobs deferred (a job already waiting under its queueing lock is not)

    @property
    def rejected(self) -> int:
        return self.malformed + self.unknown + self.forged

    @property
    def forged_only(self) -> bool:
        """Every item carried a wrong clientState: not from Graph, nothing was stored."""
        return self.received > 0 and self.forged == self.received


class _Gate:
    """Admits the items whose subscription is known and whose clientState is its secret."""

    def __init__(self, known: Mapping[str, IntakeSubscription]) -> None:
        self._known = known
        self.rejections: Counter[tuple[str, str]] = Counter()

    def admit(self, item: ChangeNotification | LifecycleNotification) -> IntakeSubscription | None:
        subscription = self._known.get(item.subscription_id)
        if subscription is None:
            self.rejections["unknown_subscription", item.subscription_id] += 1
            return None
        if item.client_state is None or not subscription.accepts(item.client_state):
            self.rejections["wrong_client_state", item.subscription_id] += 1
            return None
        return subscription

    def count(self, reason: str) -> int:
        return sum(n for (why, _), n in self.rejections.items() if why == reason)

    def log_rejections(self) -> None:
        for (reason, subscription_id), count in self.rejections.items():
            log.warning(
                "notifications_rejected",
                reason=reason,
                subscription_id=subscription_id,
                count=count,
            )


async def receive_notifications(ctx: HubContext, body: bytes) -> IntakeResult:
    """Authenticate, store and act on one Graph notification POST (see the module doc).

    Raises ``MalformedNotifications`` when the body is not Graph's ``{"value": [...]}``.
    """
    parsed = parse_notifications(body)
    subscription_ids = sorted(
        {n.subscription_id for n in parsed.changes} | {n.subscription_id for n in parsed.lifecycle}
    )
    if not subscription_ids:
        return IntakeResult(received=parsed.received, malformed=parsed.skipped)
    async with ctx.uow() as uow:
        gate = _Gate(await uow.subscriptions.for_intake(subscription_ids))
        changes = [(s, n) for n in parsed.changes if (s := gate.admit(n)) is not None]
        lifecycle = [(s, n) for n in parsed.lifecycle if (s := gate.admit(n)) is not None]
        lifecycle.sort(key=lambda admitted: admitted[0].id)
        now = ctx.clock.now()
        # Rows are written in one order by every POST, so two POSTs carrying the same
        # duplicated items cannot deadlock on the inbox's unique index.
        entries = sorted((_inbox_entry(s, n) for s, n in changes), key=_inbox_order)
        new = await uow.notifications.add_many(entries, now)
        await uow.sync_status.record_notifications(
            [(s.tenant_id, s.calendar_id) for s, _ in changes], now
        )
        for subscription, notification in lifecycle:
            status = _LIFECYCLE_STATUS.get(notification.event)
            if status is not None and status is not subscription.status:
                await uow.subscriptions.set_status(subscription.tenant_id, subscription.id, status)
        queued = await _defer_jobs(ctx.jobs, uow, new, lifecycle)
        await uow.commit()
    gate.log_rejections()
    return IntakeResult(
        received=parsed.received,
        stored=len(new),
        duplicates=len(changes) - len(new),
        lifecycle=len(lifecycle),
        malformed=parsed.skipped,
        unknown=gate.count("unknown_subscription"),
        forged=gate.count("wrong_client_state"),
        jobs_queued=queued,
    )


def _inbox_entry(
    subscription: IntakeSubscription, notification: ChangeNotification
) -> InboxNotification:
    return InboxNotification(
        tenant_id=subscription.tenant_id,
        calendar_id=subscription.calendar_id,
        subscription_id=subscription.id,
        change_type=notification.change_type.value,
        resource_id=notification.resource_id,
        dedupe=notification.dedupe,
    )


def _inbox_order(entry: InboxNotification) -> tuple[str, str, str, str]:
    return (str(entry.subscription_id), entry.resource_id, entry.change_type, entry.dedupe)


async def _defer_jobs(
    queue: JobQueue,
    uow: UnitOfWork,
    new: Sequence[InboxNotification],
    lifecycle: Sequence[tuple[IntakeSubscription, LifecycleNotification]],
) -> int:
    """One job per calendar (or subscription) and kind, whatever the number of items; the
    syncs go in one round trip in ``uow``'s transaction (``defer_syncs``), however many
    calendars the POST touches. Returns how many jobs were queued."""
    syncs: dict[CalendarId, TenantId] = {n.calendar_id: n.tenant_id for n in new}
    resubscribes: dict[CalendarId, TenantId] = {}
    renewals: dict[SubscriptionId, TenantId] = {}
    for subscription, notification in lifecycle:
        match notification.event:
            case LifecycleEvent.REAUTHORIZATION_REQUIRED:
                renewals[subscription.id] = subscription.tenant_id
            case LifecycleEvent.SUBSCRIPTION_REMOVED:
                resubscribes[subscription.calendar_id] = subscription.tenant_id
            case LifecycleEvent.MISSED:
                syncs[subscription.calendar_id] = subscription.tenant_id
    queued = 0
    for subscription_id, tenant_id in renewals.items():
        queued += await defer_renewal(queue, tenant_id, subscription_id) is not None
    for calendar_id, tenant_id in resubscribes.items():
        queued += await defer_ensure_subscription(queue, tenant_id, calendar_id) is not None
    # Recreating a subscription resyncs its calendar: no separate sync for those.
    to_sync = [(t, c) for c, t in syncs.items() if c not in resubscribes]
    return queued + await defer_syncs(queue, to_sync, within=uow)
