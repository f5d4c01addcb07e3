"""A subscription as the emulator keeps it, and the JSON Graph shows for it.

``Subscription`` is the record; ``subscription_json`` is the resource ``/subscriptions`` returns
(graph.md §4.1); ``change_notification`` (§4.4) and ``lifecycle_notification`` (§4.7) are the
items of a ``{"value": [...]}`` POST to the notification and lifecycle URLs. ``DeliveryStats``
counts what happened to those POSTs, for ``GET /_emulator/state``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from calhub.emulators.graph.subscriptions.resource import WatchedResource

CHANGE_TYPES = ("created", "updated", "deleted")
LifecycleEvent = Literal["reauthorizationRequired", "subscriptionRemoved", "missed"]
CONTEXT = "https://graph.microsoft.com/v1.0/$metadata#subscriptions"


@dataclass(slots=True)
class DeliveryStats:
    """What became of the POSTs for one subscription on one channel (notifications or lifecycle).

    ``retried`` counts failed attempts that were retried; ``dropped`` counts notifications never
    delivered (the ``drop_notifications`` fault, or retries given up); ``last_status`` is the
    receiver's last HTTP status and ``last_error`` names a timeout or connection failure.
    """

    delivered: int = 0
    retried: int = 0
    dropped: int = 0
    duplicated: int = 0
    last_status: int | None = None
    last_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Subscription:
    """One subscription of one app in one tenant to one mailbox's events."""

    id: str
    tenant_id: str
    application_id: str
    creator_id: str
    mailbox_id: str
    watched: WatchedResource
    resource: str  # as the client wrote it; Graph echoes it
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    tls_version: str
    renewed_at: datetime  # creation or last renewal: the start of the current lifetime
    reauthorization_sent_for: datetime | None = None  # the expiration it was sent for
    notifications: DeliveryStats = field(default_factory=DeliveryStats)
    lifecycle: DeliveryStats = field(default_factory=DeliveryStats)

    def watches(self, calendar_id: str, default_calendar_id: str | None) -> bool:
        if self.watched.calendar_id is not None:
            return calendar_id == self.watched.calendar_id
        if self.watched.default_calendar:
            return calendar_id == default_calendar_id
        return True


def graph_datetime(instant: datetime) -> str:
    """UTC with a ``Z``, as Graph writes subscription expiry (graph.md §4.1)."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def subscription_json(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "resource": subscription.resource,
        "applicationId": subscription.application_id,
        "changeType": ",".join(subscription.change_types),
        "clientState": subscription.client_state,
        "notificationUrl": subscription.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": subscription.lifecycle_url,
        "expirationDateTime": graph_datetime(subscription.expiration),
        "creatorId": subscription.creator_id,
        "includeResourceData": None,
        "latestSupportedTlsVersion": subscription.tls_version,
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
    }


def change_notification(
    subscription: Subscription, mailbox_id: str, event_id: str, change_type: str, etag: str
) -> dict[str, Any]:
    """One item of a change notification POST, in Outlook's capitalised form (graph.md §4.4).

    ``deleted`` carries only the id: the event and its etag are gone.
    """
    path = f"Users/{mailbox_id}/Events/{event_id}"
    resource_data: dict[str, Any] = {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": path}
    if change_type != "deleted":
        resource_data["@odata.etag"] = etag
    resource_data["id"] = event_id
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": subscription.expiration.astimezone(UTC).isoformat(),
        "changeType": change_type,
        "resource": path,
        "resourceData": resource_data,
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }


def lifecycle_notification(subscription: Subscription, event: LifecycleEvent) -> dict[str, Any]:
    """One item of a lifecycle POST: no resource, no resourceData (graph.md §4.7)."""
    return {
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": graph_datetime(subscription.expiration),
        "tenantId": subscription.tenant_id,
        "clientState": subscription.client_state,
        "lifecycleEvent": event,
    }
