"""Fan outbox events out to webhook endpoints and deliver them, signed, with retries
(docs/feeds.md, "Webhooks"; Standard Webhooks 1.0, "Signature scheme").

``run_webhook_delivery`` is what the ``calhub.deliver_webhooks`` job and the minute sweep run:

1. Fan-out: events not fanned out yet (``outbox.delivered_at IS NULL``, locked with ``SKIP
   LOCKED``) get one pending delivery per active endpoint of their tenant that wants their type,
   and are marked fanned out, in one transaction per batch of ``FAN_OUT_BATCH``.
2. Delivery: batches of up to ``CONCURRENCY`` due deliveries are claimed (row locks held while
   they are POSTed, see ``calhub.storage.repositories.webhooks``) and POSTed concurrently with
   httpx (``REQUEST_TIMEOUT_S``, redirects not followed). A 2xx delivers; anything else -
   connection refused, timeout, TLS failure, 3xx, 4xx, 5xx - is an attempt recorded with its
   status and a reason in words (never the response body), retried after ``retry_delay``
   (5 s doubling, jittered, at most an hour; a longer ``Retry-After`` is honoured) until
   ``RETRY_WINDOW`` (24 h) after the delivery was created, the last attempt at that limit.
   Then the delivery fails.
3. A run does at most ``MAX_DELIVERIES_PER_RUN`` deliveries and defers a follow-up job when
   work is left, or a delayed one for retries due within the minute (later ones are the sweep's).

Signing: ``webhook-id`` is ``msg_<outbox id>`` (the same for every attempt and endpoint),
``webhook-timestamp`` the attempt's Unix time, ``webhook-signature`` ``v1,`` + base64 of
HMAC-SHA256 over ``{id}.{timestamp}.{body}`` keyed with the base64-decoded secret after
``whsec_``.

Disabling: when a delivery gives up and nothing was delivered to its endpoint since that
delivery was created - a day of failed attempts in a row - the endpoint is disabled with the
reason, and a ``webhook_endpoint.disabled`` event says so (to streams and to the tenant's other
endpoints; the disabled one gets nothing more). Events while it is disabled are not queued for
it; deliveries still pending wait, and ``enable`` resumes them (those past their 24 h fail
without another attempt).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import ssl
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Final

import httpx
import structlog

from calhub import __version__
from calhub.domain.ids import TenantId, WebhookEndpointId
from calhub.services.context import HubContext
from calhub.services.feed_messages import ENDPOINT_DISABLED, FeedMessage, render_messages
from calhub.services.jobs import defer_webhook_delivery
from calhub.services.webhooks import SECRET_PREFIX, wants
from calhub.storage.repositories.webhooks import AttemptRecord, DeliveryState, WebhookDelivery
from calhub.storage.unit_of_work import UnitOfWork

FAN_OUT_BATCH: Final = 500
MAX_FAN_OUT_BATCHES: Final = 20
CONCURRENCY: Final = 20
MAX_DELIVERIES_PER_RUN: Final = 1000
RUN_BUDGET_S: Final = 45.0
REQUEST_TIMEOUT_S: Final = 10.0
RETRY_BASE: Final = timedelta(seconds=5)
RETRY_CAP: Final = timedelta(hours=1)
RETRY_WINDOW: Final = timedelta(hours=24)
SWEEP_EVERY: Final = timedelta(minutes=1)

log = structlog.get_logger("calhub.webhooks")


@dataclass(frozen=True, slots=True)
class DeliveryRun:
    fanned_out: int = 0  # deliveries created
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: int = 0  # endpoints


@dataclass(frozen=True, slots=True)
class _Attempt:
    ok: bool
    status: int | None
    error: str | None
    retry_after_s: float | None = None


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value for one message."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, message: FeedMessage, now: datetime) -> dict[str, str]:
    message_id = f"msg_{message.event_id}"
    timestamp = int(now.timestamp())
    return {
        "content-type": "application/json",
        "user-agent": f"calhub/{__version__}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, message.body),
    }


def retry_delay(attempts: int, rng: random.Random) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 5 s doubling up to an hour, of which
    a random half is taken off so a crowd of retries spreads out ("equal jitter")."""
    full: timedelta = min(RETRY_BASE * 2 ** min(max(attempts - 1, 0), 20), RETRY_CAP)
    return full / 2 + full / 2 * rng.random()


def _status_words(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _caused_by_tls(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


async def _post(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], body: str
) -> _Attempt:
    """One POST; whatever happens becomes an attempt with a reason in words."""
    try:
        response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.TimeoutException:
        return _Attempt(False, None, f"no answer within {REQUEST_TIMEOUT_S:g} s")
    except httpx.ConnectError as exc:
        if _caused_by_tls(exc):
            return _Attempt(False, None, "TLS handshake failed (certificate or protocol)")
        return _Attempt(False, None, "could not connect (refused, unreachable or DNS failure)")
    except httpx.HTTPError as exc:
        return _Attempt(False, None, f"the request failed ({type(exc).__name__})")
    status = response.status_code
    if 200 <= status < 300:
        return _Attempt(True, status, None)
    words = _status_words(status)
    if 300 <= status < 400:
        words += ": redirects are not followed"
    return _Attempt(False, status, words, _retry_after(response))


async def fan_out(ctx: HubContext) -> int:
    """Pending deliveries for events not fanned out yet; returns how many were created."""
    created = 0
    for _ in range(MAX_FAN_OUT_BATCHES):
        now = ctx.clock.now()
        async with ctx.uow() as uow:
            events = await uow.outbox.undelivered(FAN_OUT_BATCH)
            if not events:
                break
            routes = await uow.webhooks.routes([event.tenant_id for event in events])
            by_tenant = defaultdict(list)
            for route in routes:
                by_tenant[route.tenant_id].append(route)
            rows = [
                (event.tenant_id, route.id, event.id)
                for event in events
                for route in by_tenant[event.tenant_id]
                if wants(route.event_types, event.kind)
            ]
            created += await uow.webhooks.add_deliveries(rows, now)
            await uow.outbox.mark_delivered([event.id for event in events], now)
            await uow.commit()
        if len(events) < FAN_OUT_BATCH:
            break
    return created


@dataclass
class _Tally:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: int = 0


class _Deliverer:
    def __init__(self, ctx: HubContext, client: httpx.AsyncClient, rng: random.Random) -> None:
        self.ctx = ctx
        self.client = client
        self.rng = rng
        self.tally = _Tally()

    async def batch(self) -> int:
        """Claim and attempt one batch; returns how many deliveries it took."""
        now = self.ctx.clock.now()
        async with self.ctx.uow() as uow:
            claimed = await uow.webhooks.claim_due(now, CONCURRENCY)
            if not claimed:
                return 0
            expired = [d for d in claimed if d.created_at + RETRY_WINDOW < now]
            live = [d for d in claimed if d not in expired]
            sendable, gone = await self._messages(uow, live)
            await uow.webhooks.expire(
                [d.id for d in expired], "expired: not delivered within 24 h of the event"
            )
            await uow.webhooks.expire([d.id for d in gone], "the event or endpoint is gone")
            self.tally.failed += len(expired) + len(gone)
            outcomes = await asyncio.gather(
                *(
                    _post(self.client, url, signed_headers(secret, m, now), m.body)
                    for _, url, secret, m in sendable
                )
            )
            await self._record(uow, [d for d, *_ in sendable], outcomes, now)
            await uow.commit()
        return len(claimed)

    async def _messages(
        self, uow: UnitOfWork, deliveries: Sequence[WebhookDelivery]
    ) -> tuple[list[tuple[WebhookDelivery, str, str, FeedMessage]], list[WebhookDelivery]]:
        """Each delivery with its endpoint's URL and secret and its rendered message, and the
        deliveries whose event or endpoint no longer exists."""
        sendable, gone = [], []
        by_tenant: defaultdict[TenantId, list[WebhookDelivery]] = defaultdict(list)
        for delivery in deliveries:
            by_tenant[delivery.tenant_id].append(delivery)
        for tenant_id, mine in by_tenant.items():
            endpoints = {
                e.id: e
                for e in await uow.webhooks.get_many(tenant_id, [d.endpoint_id for d in mine])
            }
            events = await uow.outbox.get_many(tenant_id, sorted({d.event_id for d in mine}))
            messages = {m.event_id: m for m in await render_messages(uow, tenant_id, events)}
            for delivery in mine:
                endpoint = endpoints.get(delivery.endpoint_id)
                message = messages.get(delivery.event_id)
                if endpoint is None or message is None:
                    gone.append(delivery)
                else:
                    secret = endpoint.secret.reveal()
                    sendable.append((delivery, endpoint.url, secret, message))
        return sendable, gone

    def _settle(self, delivery: WebhookDelivery, outcome: _Attempt, now: datetime) -> AttemptRecord:
        """What one attempt makes of its delivery: delivered, retried later, or given up."""
        if outcome.ok:
            self.tally.delivered += 1
            return AttemptRecord(delivery.id, DeliveryState.DELIVERED, outcome.status, None, now)
        deadline = delivery.created_at + RETRY_WINDOW
        if now >= deadline:
            self.tally.failed += 1
            reason = f"gave up after 24 h: {outcome.error}"
            return AttemptRecord(delivery.id, DeliveryState.FAILED, outcome.status, reason, now)
        delay = retry_delay(delivery.attempts + 1, self.rng)
        if outcome.retry_after_s is not None:
            delay = min(max(delay, timedelta(seconds=outcome.retry_after_s)), RETRY_CAP)
        self.tally.retrying += 1
        return AttemptRecord(
            delivery.id,
            DeliveryState.PENDING,
            outcome.status,
            outcome.error,
            min(now + delay, deadline),  # the last attempt is made at the deadline
        )

    async def _record(
        self,
        uow: UnitOfWork,
        deliveries: Sequence[WebhookDelivery],
        outcomes: Sequence[_Attempt],
        now: datetime,
    ) -> None:
        attempts = list(zip(deliveries, outcomes, strict=True))
        records = [self._settle(delivery, outcome, now) for delivery, outcome in attempts]
        await uow.webhooks.record_attempts(records, now)
        by_endpoint: defaultdict[WebhookEndpointId, list[_Attempt]] = defaultdict(list)
        for delivery, outcome in attempts:
            by_endpoint[delivery.endpoint_id].append(outcome)
        for endpoint_id in sorted(by_endpoint):  # one order, so two workers never deadlock
            tried = by_endpoint[endpoint_id]
            await uow.webhooks.record_outcomes(
                endpoint_id,
                succeeded=any(o.ok for o in tried),
                failures=sum(not o.ok for o in tried),
                now=now,
            )
        for (delivery, _), record in zip(attempts, records, strict=True):
            if record.state is DeliveryState.FAILED:
                await self._disable_if_failing(uow, delivery, now)

    async def _disable_if_failing(
        self, uow: UnitOfWork, delivery: WebhookDelivery, now: datetime
    ) -> None:
        reason = "every delivery attempt for 24 h failed"
        if await uow.webhooks.disable_if_failing_since(
            delivery.tenant_id, delivery.endpoint_id, delivery.created_at, reason, now
        ):
            await uow.outbox.add(
                delivery.tenant_id,
                ENDPOINT_DISABLED,
                {"endpoint_id": str(delivery.endpoint_id), "reason": reason},
                now,
            )
            self.tally.disabled += 1
            log.warning(
                "webhook_endpoint_disabled",
                tenant_id=str(delivery.tenant_id),
                endpoint_id=str(delivery.endpoint_id),
            )


def _client(ctx: HubContext, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    ca_bundle = ctx.providers.endpoints.ca_bundle
    return httpx.AsyncClient(
        transport=transport,
        timeout=REQUEST_TIMEOUT_S,
        follow_redirects=False,
        verify=ssl.create_default_context(cafile=ca_bundle) if ca_bundle is not None else True,
        trust_env=ca_bundle is None,
        limits=httpx.Limits(max_connections=CONCURRENCY),
    )


async def run_webhook_delivery(
    ctx: HubContext,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    rng: random.Random | None = None,
) -> DeliveryRun:
    """Fan out new events, then deliver what is due (bounded; see the module docstring)."""
    started = time.monotonic()
    deliverer = _Deliverer(ctx, _client(ctx, transport), rng or random.Random())  # noqa: S311
    fanned_out = taken = 0
    more = True  # stopped by the budget with deliveries still due
    async with deliverer.client:
        # A second pass carries the webhook_endpoint.disabled events the first one added.
        for _ in range(2):
            disabled_before, more = deliverer.tally.disabled, True
            fanned_out += await fan_out(ctx)
            while taken < MAX_DELIVERIES_PER_RUN and time.monotonic() - started < RUN_BUDGET_S:
                claimed = await deliverer.batch()
                if not claimed:
                    more = False
                    break
                taken += claimed
            if more or deliverer.tally.disabled == disabled_before:
                break
    await _follow_up(ctx, more)
    tally = deliverer.tally
    run = DeliveryRun(fanned_out, tally.delivered, tally.retrying, tally.failed, tally.disabled)
    if taken or fanned_out:
        log.info("webhooks_delivered", **{k: getattr(run, k) for k in DeliveryRun.__slots__})
    return run


async def _follow_up(ctx: HubContext, more: bool) -> None:
    """Queue the next run: now when this one stopped with work left, or when the soonest
    retry is due if that is before the sweep comes by."""
    if more:
        await defer_webhook_delivery(ctx.jobs)
        return
    async with ctx.uow.reading() as uow:
        due = await uow.webhooks.next_due_at()
    if due is None:
        return
    wait = (due - ctx.clock.now()).total_seconds()
    if wait < SWEEP_EVERY.total_seconds():
        # At least a second: deliveries due now but locked by another worker are its to do.
        await defer_webhook_delivery(ctx.jobs, delay_s=max(wait, 1.0))
