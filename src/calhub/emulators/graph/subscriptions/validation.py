"""Reading the bodies of ``POST /subscriptions`` and ``PATCH /subscriptions/{id}``.

Checks fields (graph.md §4.1, §4.6) and types and applies the lifetime rules (§4.2): an expiry
more than 10,070 minutes ahead is refused with the live service's ``ExtensionError``; one in the
past is refused; one less than 45 minutes ahead is raised to 45 minutes. URLs are checked by
``handshake.check_url``; the mailbox, consent and quota are checked by the routes and the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.subscriptions.handshake import check_url
from calhub.emulators.graph.subscriptions.model import CHANGE_TYPES
from calhub.emulators.graph.subscriptions.resource import WatchedResource, parse_resource

MAX_LIFETIME_MINUTES = 10_070
MIN_LIFETIME = timedelta(minutes=45)
MAX_CLIENT_STATE = 128
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
PATCH_NEEDS = (
    "Subscription must contain either the 'expirationDateTime' or 'notificationUrl' property "
    "and its value."
)


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """A valid creation request; nothing has been contacted yet."""

    resource: str
    watched: WatchedResource
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    expiration: datetime
    client_state: str | None
    tls_version: str


@dataclass(frozen=True, slots=True)
class Renewal:
    """A valid PATCH: a new expiry, a new notification URL, or both."""

    expiration: datetime | None
    notification_url: str | None


def read_creation(body: Mapping[str, Any], now: datetime) -> NewSubscription:
    resource = _required_str(body, "resource")
    watched = parse_resource(resource)
    change_types = _change_types(body.get("changeType"))
    notification_url = check_url(_required(body, "notificationUrl"), "notificationUrl")
    lifecycle_raw = body.get("lifecycleNotificationUrl")
    lifecycle_url = (
        None if lifecycle_raw is None else check_url(lifecycle_raw, "lifecycleNotificationUrl")
    )
    expiration = read_expiration(_required(body, "expirationDateTime"), now)
    client_state = body.get("clientState")
    if client_state is not None and not isinstance(client_state, str):
        raise _invalid("clientState must be a string.")
    if client_state is not None and len(client_state) > MAX_CLIENT_STATE:
        raise _invalid(f"clientState must not be longer than {MAX_CLIENT_STATE} characters.")
    tls_version = body.get("latestSupportedTlsVersion") or "v1_2"
    if tls_version not in TLS_VERSIONS:
        raise _invalid(
            f"Invalid 'latestSupportedTlsVersion' value: '{tls_version}'. "
            f"Supported values: {', '.join(TLS_VERSIONS)}."
        )
    if body.get("includeResourceData"):
        raise _invalid(
            "includeResourceData is not supported by this emulator: rich notifications need "
            "encryption with the app's certificate, which it does not implement."
        )
    return NewSubscription(
        resource=resource,
        watched=watched,
        change_types=change_types,
        notification_url=notification_url,
        lifecycle_url=lifecycle_url,
        expiration=expiration,
        client_state=client_state,
        tls_version=str(tls_version),
    )


def read_renewal(body: Mapping[str, Any], now: datetime) -> Renewal:
    raw_expiration = body.get("expirationDateTime")
    raw_url = body.get("notificationUrl")
    if raw_expiration is None and raw_url is None:
        raise GraphError(400, "InvalidRequest", PATCH_NEEDS)
    return Renewal(
        expiration=None if raw_expiration is None else read_expiration(raw_expiration, now),
        notification_url=None if raw_url is None else check_url(raw_url, "notificationUrl"),
    )


def read_expiration(raw: object, now: datetime) -> datetime:
    """The expiry Graph would keep for ``raw`` at ``now`` (graph.md §4.2); naive means UTC."""
    if not isinstance(raw, str):
        raise _invalid("expirationDateTime must be a DateTimeOffset string.")
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _invalid(
            f"Cannot convert the literal '{raw}' to the expected type 'Edm.DateTimeOffset'."
        ) from None
    expiration = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    if expiration <= now:
        raise _invalid("Subscription expiration must be in the future.")
    if expiration - now > timedelta(minutes=MAX_LIFETIME_MINUTES):
        raise GraphError(
            400,
            "ExtensionError",
            f"Subscription expiration can only be {MAX_LIFETIME_MINUTES} minutes in the future.",
        )
    return max(expiration, now + MIN_LIFETIME)


def _change_types(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid("changeType is a required property for subscription creation.")
    parts = tuple(part.strip() for part in raw.split(","))
    if any(part not in CHANGE_TYPES for part in parts) or len(set(parts)) != len(parts):
        raise _invalid(f"Invalid 'changeType' attribute: '{raw}'.")
    return parts


def _required(body: Mapping[str, Any], name: str) -> object:
    value = body.get(name)
    if value is None:
        raise _invalid(f"{name} is a required property for subscription creation.")
    return value


def _required_str(body: Mapping[str, Any], name: str) -> str:
    value = _required(body, name)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} must be a non-empty string.")
    return value


def _invalid(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)
