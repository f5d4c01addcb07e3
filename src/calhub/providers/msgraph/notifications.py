"""Graph notification POST bodies → ``ChangeNotification`` / ``LifecycleNotification``
(graph.md §4.4 change notifications, §4.7 lifecycle notifications).

Pure parsing, no I/O: ``parse_notifications(body)`` reads one POST body, the
``{"value": [...]}`` wrapper Graph sends to a subscription's ``notificationUrl`` or
``lifecycleNotificationUrl``. An item with a ``lifecycleEvent`` is a lifecycle notification,
any other item a change notification; both kinds are read from either URL, because Graph lets a
subscription use one URL for both (§4.1).

A body that is not such a wrapper raises ``MalformedNotifications`` (an ``InvalidResponse``),
whose message says what is wrong without echoing the body. An item that cannot be read is
skipped and counted in ``ParsedNotifications.skipped``, with a reason in ``problems``; the rest
of the POST still counts. Nothing is authenticated here: the ``clientState`` each item carries
is returned (kept out of reprs) for the caller to check against the subscription's secret.

Each change gets a ``dedupe`` string that tells deliveries of one change apart from later
changes to the same item: the item's ``@odata.etag`` when Graph sends one (it changes with
every edit of the event), else a digest of the item without its subscription expiry (which a
renewal changes while the change stays the same).
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from calhub.providers.base import InvalidResponse

__all__ = [
    "ChangeNotification",
    "ChangeType",
    "LifecycleEvent",
    "LifecycleNotification",
    "MalformedNotifications",
    "NotificationsNotJson",
    "ParsedNotifications",
    "parse_notifications",
]

MAX_ID_LENGTH: Final = 512
"""Longest subscription or resource id read; Graph's are GUIDs and ~150-character item ids."""

# ``Users/{guid}/Events/{id}`` or ``Users('{guid}')/Events('{id}')``, any capitalisation (§4.4).
_EVENT_ID_IN_RESOURCE: Final = re.compile(r"/events(?:/|\(')([^/'()]+)", re.IGNORECASE)


class MalformedNotifications(InvalidResponse):
    """The POST body is not a Graph notification wrapper; the message says why."""


class NotificationsNotJson(MalformedNotifications):
    """The POST body is not JSON at all."""


class ChangeType(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


class LifecycleEvent(enum.StrEnum):
    REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
    SUBSCRIPTION_REMOVED = "subscriptionRemoved"
    MISSED = "missed"


_CHANGE_TYPES: Final[Mapping[str, ChangeType]] = {kind.value: kind for kind in ChangeType}
_LIFECYCLE_EVENTS: Final[Mapping[str, LifecycleEvent]] = {
    kind.value.lower(): kind for kind in LifecycleEvent
}


@dataclass(frozen=True, slots=True)
class ChangeNotification:
    """One changed event of a subscription; ``resource_id`` is the event's Graph id."""

    subscription_id: str
    client_state: str | None = field(repr=False)
    change_type: ChangeType
    resource: str
    resource_id: str
    dedupe: str
    etag: str | None = None
    tenant_id: str | None = None
    subscription_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LifecycleNotification:
    """Graph's word about a subscription itself: renew it, recreate it, or resync."""

    subscription_id: str
    client_state: str | None = field(repr=False)
    event: LifecycleEvent
    tenant_id: str | None = None
    subscription_expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParsedNotifications:
    """What one POST carried. ``received`` counts every item, ``skipped`` those unreadable."""

    changes: tuple[ChangeNotification, ...] = ()
    lifecycle: tuple[LifecycleNotification, ...] = ()
    skipped: int = 0
    problems: tuple[str, ...] = ()

    @property
    def received(self) -> int:
        return len(self.changes) + len(self.lifecycle) + self.skipped


class _UnreadableItem(Exception):
    """One item of the POST cannot be read; the message says why (without its values)."""


def parse_notifications(body: bytes) -> ParsedNotifications:
    """Read a Graph notification POST body (graph.md §4.4, §4.7)."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON; absurd nesting
        raise NotificationsNotJson("The body is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise MalformedNotifications("The body must be a JSON object with a 'value' list.")
    items = document.get("value")
    if not isinstance(items, list):
        raise MalformedNotifications("The body has no 'value' list of notifications.")
    changes: list[ChangeNotification] = []
    lifecycle: list[LifecycleNotification] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise _UnreadableItem("not a JSON object")
            if "lifecycleEvent" in item:
                lifecycle.append(_lifecycle(item))
            else:
                changes.append(_change(item))
        except _UnreadableItem as exc:
            problems.append(f"value[{index}]: {exc}")
    return ParsedNotifications(tuple(changes), tuple(lifecycle), len(problems), tuple(problems))


def _change(item: Mapping[str, Any]) -> ChangeNotification:
    change_type = _CHANGE_TYPES.get(str(item.get("changeType", "")).lower())
    if change_type is None:
        raise _UnreadableItem("changeType is not created, updated or deleted")
    resource = item.get("resource")
    if not isinstance(resource, str) or not resource:
        raise _UnreadableItem("no resource")
    resource_data = item.get("resourceData")
    if resource_data is None:
        resource_data = {}
    if not isinstance(resource_data, dict):
        raise _UnreadableItem("resourceData is not an object")
    resource_id = resource_data.get("id")
    if resource_id is None:
        found = _EVENT_ID_IN_RESOURCE.search(resource)
        resource_id = found.group(1) if found else None
    etag = _optional_text(resource_data, "@odata.etag")
    return ChangeNotification(
        subscription_id=_subscription_id(item),
        client_state=_optional_text(item, "clientState"),
        change_type=change_type,
        resource=resource,
        resource_id=_identifier(resource_id, "resourceData.id"),
        dedupe=f"etag:{etag}" if etag else f"digest:{_digest(item)}",
        etag=etag,
        tenant_id=_optional_text(item, "tenantId"),
        subscription_expires_at=_expiry(item),
    )


def _lifecycle(item: Mapping[str, Any]) -> LifecycleNotification:
    event = _LIFECYCLE_EVENTS.get(str(item.get("lifecycleEvent")).lower())
    if event is None:
        raise _UnreadableItem(
            "lifecycleEvent is not reauthorizationRequired, subscriptionRemoved or missed"
        )
    return LifecycleNotification(
        subscription_id=_subscription_id(item),
        client_state=_optional_text(item, "clientState"),
        event=event,
        tenant_id=_optional_text(item, "tenantId"),
        subscription_expires_at=_expiry(item),
    )


def _subscription_id(item: Mapping[str, Any]) -> str:
    return _identifier(item.get("subscriptionId"), "subscriptionId")


def _identifier(value: object, name: str) -> str:
    """An id safe to look up and store: text, not too long, no control characters."""
    if not isinstance(value, str) or not value:
        raise _UnreadableItem(f"no {name}")
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise _UnreadableItem(f"{name} is not a Graph id")
    return value


def _optional_text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _UnreadableItem(f"{name} is not a string")
    return value


def _expiry(item: Mapping[str, Any]) -> datetime | None:
    """``subscriptionExpirationDateTime``; Graph writes an offset or ``Z``, naive means UTC."""
    text = _optional_text(item, "subscriptionExpirationDateTime")
    if text is None:
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _UnreadableItem("subscriptionExpirationDateTime is not a date and time") from exc
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _digest(item: Mapping[str, Any]) -> str:
    stable = {key: value for key, value in item.items() if key != "subscriptionExpirationDateTime"}
    canonical = json.dumps(stable, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
