"""The subscription store: records, indexes, notification fan-out and lifecycle (graph.md §4).

``SubscriptionStore`` hangs off ``GraphState``. It keeps subscriptions by id, by mailbox (so an
event change looks only at its own mailbox's subscriptions, however many mailboxes there are)
and by app (for consent changes). ``on_change`` is the state's change listener: for every live
subscription that watches the change's mailbox, calendar and change type it queues a
notification, applying the notification faults of ``POST /_emulator/faults`` with
``state.random``: ``drop_notifications`` (never sent; a ``missed`` lifecycle event follows),
``duplicate_notifications`` (sent twice), ``notification_delay_ms`` (extra wall-clock delay).
Notifications pause while the app's consent is not granted.

``tick`` (run by a background ticker every ``policy.tick_interval`` seconds, and callable by
tests after moving the clock) deletes expired subscriptions and sends
``reauthorizationRequired`` before expiry and once after consent is revoked. Background tasks
start on first use; ``close`` (the app's lifespan) cancels them and closes the HTTP client.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.ids import calendar_id as default_calendar_id
from calhub.emulators.graph.subscriptions.delivery import Deliverer, DeliveryPolicy, Pending
from calhub.emulators.graph.subscriptions.handshake import validate_endpoint
from calhub.emulators.graph.subscriptions.lifecycle import (
    LifecycleSchedule,
    Ticking,
    tick_while_alive,
)
from calhub.emulators.graph.subscriptions.model import (
    LifecycleEvent,
    Subscription,
    change_notification,
    lifecycle_notification,
    subscription_json,
)
from calhub.emulators.graph.subscriptions.validation import NewSubscription, Renewal

if TYPE_CHECKING:
    from datetime import datetime

    from calhub.emulators.graph.state import App, EventChange, GraphState, Mailbox, Tenant

MAX_PER_MAILBOX = 1_000
QUOTA_EXCEEDED = (
    "Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of "
    f"subscriptions has been reached: a mailbox can have at most {MAX_PER_MAILBOX} active "
    "subscriptions across all apps.]"
)
AppKey = tuple[str, str]  # (tenant id, application id)
_Key = TypeVar("_Key", str, AppKey)


class SubscriptionStore:
    """Every subscription of every tenant, and the delivery of their notifications."""

    def __init__(self, state: GraphState) -> None:
        self._state = state
        self._deliverer = Deliverer(DeliveryPolicy(), lambda: state.clock.now(), self._given_up)
        self._subscriptions: dict[str, Subscription] = {}
        self._by_mailbox: dict[str, dict[str, Subscription]] = {}
        self._by_app: dict[AppKey, dict[str, Subscription]] = {}
        self._consent_lost: set[AppKey] = set()
        self._schedule = LifecycleSchedule()
        self._ticker: asyncio.Task[None] | None = None

    @property
    def policy(self) -> DeliveryPolicy:
        """Handshake, delivery and ticker timings; tests shorten them."""
        return self._deliverer.policy

    @policy.setter
    def policy(self, policy: DeliveryPolicy) -> None:
        self._deliverer.policy = policy

    @property
    def transport(self) -> httpx.AsyncBaseTransport | None:
        """Where handshakes and notifications go; None: the network (loopback and test hosts)."""
        return self._deliverer.transport

    @transport.setter
    def transport(self, transport: httpx.AsyncBaseTransport | None) -> None:
        self._deliverer.transport = transport

    async def create(
        self, tenant: Tenant, app: App, mailbox: Mailbox, request: NewSubscription
    ) -> Subscription:
        """Validate the endpoints (handshake), check the quota and keep the subscription."""
        client = self._deliverer.client()
        for url in dict.fromkeys(filter(None, (request.notification_url, request.lifecycle_url))):
            await validate_endpoint(client, url, self.policy.validation_timeout)
        now = self._now()
        self._expire(now)
        if len(self._by_mailbox.get(mailbox.id, ())) >= MAX_PER_MAILBOX:
            raise GraphError(403, "ExtensionError", QUOTA_EXCEEDED)
        subscription = Subscription(
            id=str(uuid.uuid4()),
            tenant_id=tenant.id,
            application_id=app.client_id,
            creator_id=app.service_principal_id,
            mailbox_id=mailbox.id,
            watched=request.watched,
            resource=request.resource,
            change_types=request.change_types,
            notification_url=request.notification_url,
            lifecycle_url=request.lifecycle_url,
            expiration=request.expiration,
            client_state=request.client_state,
            tls_version=request.tls_version,
            renewed_at=now,
        )
        self._add(subscription)
        self._start_ticker()
        return subscription

    def find(
        self, tenant_id: str, application_id: str, subscription_id: str
    ) -> Subscription | None:
        """The app's own live subscription; other apps' and tenants' are invisible."""
        self._expire(self._now())
        return self._by_app.get((tenant_id, application_id), {}).get(subscription_id)

    def owned_by(self, tenant_id: str, application_id: str) -> list[Subscription]:
        self._expire(self._now())
        return list(self._by_app.get((tenant_id, application_id), {}).values())

    async def renew(self, subscription: Subscription, renewal: Renewal) -> None:
        """PATCH: a new expiry starts a new lifetime; a new URL is validated first."""
        if renewal.notification_url not in (None, subscription.notification_url):
            await validate_endpoint(
                self._deliverer.client(), renewal.notification_url, self.policy.validation_timeout
            )
            subscription.notification_url = renewal.notification_url
        if renewal.expiration is not None:
            subscription.expiration = renewal.expiration
            subscription.renewed_at = self._now()
            self._schedule.add(subscription)

    def delete(self, subscription: Subscription) -> None:
        self._discard(subscription)

    def remove(self, subscription_id: str) -> bool:
        """Control API: send ``subscriptionRemoved`` and delete; False if there is no such id."""
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            return False
        self._send_lifecycle(subscription, "subscriptionRemoved")
        self._discard(subscription)
        return True

    def report_missed(self, subscription_id: str) -> Subscription | None:
        """Control API: send ``missed``; the subscription, or None if there is no such id."""
        subscription = self._subscriptions.get(subscription_id)
        if subscription is not None:
            self._send_lifecycle(subscription, "missed")
        return subscription

    def on_change(self, change: EventChange) -> None:
        """The state's change listener: queue a notification for each watching subscription."""
        candidates = self._by_mailbox.get(change.mailbox.id)
        if not candidates:
            return
        now = self._now()
        default_calendar: str | None = None
        for subscription in list(candidates.values()):
            if (
                subscription.expiration <= now
                or change.change_type not in subscription.change_types
            ):
                continue
            if not self._consent_granted((subscription.tenant_id, subscription.application_id)):
                continue
            if subscription.watched.default_calendar and default_calendar is None:
                default_calendar = default_calendar_id(change.mailbox.id)
            if subscription.watches(change.calendar_id, default_calendar):
                self._notify(subscription, change)

    async def tick(self) -> bool:
        """Expire, ask for reauthorization, watch consent; False when nothing is subscribed."""
        now = self._now()
        self._expire(now)
        for subscription in self._schedule.needing_reauthorization(now, self._subscriptions):
            self._send_lifecycle(subscription, "reauthorizationRequired")
        for key, members in self._by_app.items():
            if self._consent_granted(key):
                self._consent_lost.discard(key)
            elif key not in self._consent_lost:
                self._consent_lost.add(key)
                for subscription in members.values():
                    self._send_lifecycle(subscription, "reauthorizationRequired")
        self._deliverer.start_workers()
        return bool(self._subscriptions)

    async def drain(self) -> None:
        """Wait until every queued notification is delivered or dropped (retries included)."""
        await self._deliverer.drain()

    def dump(self) -> list[dict[str, Any]]:
        """For ``GET /_emulator/state``: each subscription with its delivery statistics."""
        return [
            {
                **subscription_json(subscription),
                "tenantId": subscription.tenant_id,
                "mailboxId": subscription.mailbox_id,
                "notifications": subscription.notifications.as_json(),
                "lifecycleNotifications": subscription.lifecycle.as_json(),
            }
            for subscription in self._subscriptions.values()
        ]

    def reset(self) -> None:
        self._subscriptions.clear()
        self._by_mailbox.clear()
        self._by_app.clear()
        self._consent_lost.clear()
        self._schedule.clear()
        self._deliverer.reset()

    async def close(self) -> None:
        """Cancel the ticker and every delivery, and close the HTTP client."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await self._deliverer.close()

    def _notify(self, subscription: Subscription, change: EventChange) -> None:
        faults = self._state.faults
        random = self._state.random
        payload = change_notification(
            subscription, change.mailbox.id, change.event_id, change.change_type, change.etag
        )
        stats = subscription.notifications
        if faults.drop_notifications > 0 and random.random() < faults.drop_notifications:
            stats.dropped += 1
            self._send_lifecycle(subscription, "missed")
            return
        copies = 1
        if faults.duplicate_notifications > 0 and random.random() < faults.duplicate_notifications:
            stats.duplicated += 1
            copies = 2
        low, high = faults.notification_delay_ms
        for _ in range(copies):
            delay = random.uniform(low, high) / 1000 if high > 0 else 0.0
            self._deliverer.queue(
                subscription.notification_url,
                "notifications",
                subscription.id,
                payload,
                stats,
                delay=delay,
            )

    def _send_lifecycle(self, subscription: Subscription, event: LifecycleEvent) -> None:
        """Queue ``event`` to the lifecycle URL, once while one is waiting; none without a URL."""
        if subscription.lifecycle_url is None:
            return
        self._deliverer.queue(
            subscription.lifecycle_url,
            "lifecycle",
            subscription.id,
            lifecycle_notification(subscription, event),
            subscription.lifecycle,
            dedupe_key=f"{event}:{subscription.id}",
        )

    def _given_up(self, item: Pending) -> None:
        """A change notification was dropped after its retries: Outlook reports it as missed."""
        subscription = self._subscriptions.get(item.subscription_id)
        if item.channel == "notifications" and subscription is not None:
            self._send_lifecycle(subscription, "missed")

    def _consent_granted(self, key: AppKey) -> bool:
        tenant = self._state.tenants.get(key[0])
        app = tenant.apps.get(key[1]) if tenant is not None else None
        return app is not None and app.consent == "granted"

    def _add(self, subscription: Subscription) -> None:
        self._subscriptions[subscription.id] = subscription
        self._by_mailbox.setdefault(subscription.mailbox_id, {})[subscription.id] = subscription
        key = (subscription.tenant_id, subscription.application_id)
        self._by_app.setdefault(key, {})[subscription.id] = subscription
        self._schedule.add(subscription)

    def _discard(self, subscription: Subscription) -> None:
        self._subscriptions.pop(subscription.id, None)
        app_key = (subscription.tenant_id, subscription.application_id)
        _remove_member(self._by_mailbox, subscription.mailbox_id, subscription.id)
        _remove_member(self._by_app, app_key, subscription.id)

    def _expire(self, now: datetime) -> None:
        for subscription in self._schedule.expired(now, self._subscriptions):
            self._discard(subscription)

    def _start_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            store: weakref.ref[Ticking] = weakref.ref(self)
            self._ticker = asyncio.get_running_loop().create_task(
                tick_while_alive(store), name="graph-subscriptions-ticker"
            )

    def _now(self) -> datetime:
        return self._state.clock.now()


def _remove_member(index: dict[_Key, dict[str, Subscription]], key: _Key, member: str) -> None:
    members = index.get(key)
    if members is not None:
        members.pop(member, None)
        if not members:
            del index[key]
