"""Google's watch channels as calhub's subscriptions, and the push messages they bring
(google.md §4).

A channel is named by two ids: the ``id`` calhub chose and the ``resourceId`` Google gave the
watched collection, and ``channels.stop`` needs both. calhub keeps them together as the
subscription's provider id, ``"<channel id>/<resource id>"`` (``subscription_id``), so a push
message, which carries both in its headers, names its subscription without another lookup.

A push message is a POST with no body and ``X-Goog-*`` headers (§4.3): ``parse_push`` reads
them into a ``PushMessage`` or raises ``MalformedPush`` saying which header is missing or wrong.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

MAX_CHANNEL_ID: Final = 64  # google.md §4.1
MAX_TOKEN: Final = 256
MAX_RESOURCE_ID: Final = 256  # opaque; Google's are about 30 characters
_SEPARATOR: Final = "/"


class MalformedPush(ValueError):
    """The request is not a Google push message; the message says why."""


class ResourceState(enum.StrEnum):
    SYNC = "sync"  # the channel was just created
    EXISTS = "exists"  # something in the watched collection changed
    NOT_EXISTS = "not_exists"


@dataclass(frozen=True, slots=True)
class PushMessage:
    channel_id: str
    resource_id: str
    state: ResourceState
    message_number: int
    token: str | None  # the channel's token, echoed (calhub's client state)

    @property
    def subscription_id(self) -> str:
        return subscription_id(self.channel_id, self.resource_id)

    def __repr__(self) -> str:  # the token is a secret
        return (
            f"PushMessage(channel_id={self.channel_id!r}, state={self.state.value}, "
            f"message_number={self.message_number})"
        )


def subscription_id(channel_id: str, resource_id: str) -> str:
    """The provider subscription id calhub stores for a channel."""
    if not channel_id or _SEPARATOR in channel_id:
        raise ValueError(f"a channel id must be non-empty and without {_SEPARATOR!r}")
    return f"{channel_id}{_SEPARATOR}{resource_id}"


def channel_of(subscription: str) -> tuple[str, str]:
    """``(channel id, resource id)`` of a subscription id made by ``subscription_id``."""
    channel_id, separator, resource_id = subscription.partition(_SEPARATOR)
    if not separator or not channel_id or not resource_id:
        raise ValueError("not a Google channel's subscription id")
    return channel_id, resource_id


def parse_push(headers: Mapping[str, str]) -> PushMessage:
    """Read a push message from its request headers (a case-insensitive mapping)."""
    channel_id = _header(headers, "X-Goog-Channel-ID", MAX_CHANNEL_ID)
    resource_id = _header(headers, "X-Goog-Resource-ID", MAX_RESOURCE_ID)
    if _SEPARATOR in channel_id:
        raise MalformedPush("X-Goog-Channel-ID is not a channel id calhub makes")
    state_text = _header(headers, "X-Goog-Resource-State", 32)
    try:
        state = ResourceState(state_text)
    except ValueError:
        raise MalformedPush(
            "X-Goog-Resource-State must be one of sync, exists, not_exists"
        ) from None
    number_text = _header(headers, "X-Goog-Message-Number", 20)
    if not number_text.isdigit():
        raise MalformedPush("X-Goog-Message-Number must be a whole number")
    token = headers.get("X-Goog-Channel-Token")
    if token is not None and len(token) > MAX_TOKEN:
        raise MalformedPush(f"X-Goog-Channel-Token is longer than {MAX_TOKEN} characters")
    return PushMessage(channel_id, resource_id, state, int(number_text), token or None)


def _header(headers: Mapping[str, str], name: str, longest: int) -> str:
    value = headers.get(name)
    if not value:
        raise MalformedPush(f"the {name} header is missing")
    if len(value) > longest:
        raise MalformedPush(f"the {name} header is longer than {longest} characters")
    return value
