"""The channel store: watch channels on calendars' events and the messages they get (google.md §4).

``ChannelStore`` hangs off ``GoogleState``. ``open`` keeps a channel and queues its ``sync``
message (message number 1); ``calendar_changed``, which core registers with the events store,
queues an ``exists`` message for every live channel on that calendar. Message numbers after the
sync come from one store-wide counter that grows by random steps, so each channel sees them
increase but not consecutively, as Google's do (§4.3). ``exists`` messages get the notification
faults of ``POST /_emulator/faults``, drawn from the state's random generator:
``drop_notifications`` (never sent; its number is used up), ``duplicate_notifications`` (sent
twice, same number) and ``notification_delay_ms`` (extra wall-clock delay). The ``sync`` message
is always sent at once.

Channel ids are unique per service account (Google: per project) among live channels; a stopped
or expired id may be used again. Channels expire on the emulator clock: an expired channel gets
no more messages and can no longer be stopped. ``resourceId`` is derived from the calendar id, so
every channel on one calendar's events shares it, and it survives resets. Delivery
(``delivery.py``) runs in a background task started on the running loop; ``aclose`` stops it.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from calhub.emulators.google.channels.delivery import (
    CONTENT_TYPE,
    USER_AGENT,
    Deliverer,
    DeliveryPolicy,
    DeliveryStats,
    Message,
    ResourceState,
)
from calhub.emulators.google.channels.watch import EPOCH, WatchRequest
from calhub.emulators.google.errors import GoogleError
from calhub.emulators.graph.clock import EmulatorClock

if TYPE_CHECKING:
    from calhub.emulators.google.state import Faults

DEFAULT_LIFETIME = timedelta(days=7)  # google.md §4.1: params.ttl defaults to 604800 s
MAX_NUMBER_STEP = 100
ChannelKey = tuple[str, str]  # (lower-cased service account email, channel id)


@dataclass(slots=True, eq=False)
class Channel:
    """One live watch channel on one calendar's events."""

    id: str
    client_email: str  # the service account that opened it; only it may stop it
    calendar_id: str  # the calendar's canonical id
    resource_id: str
    resource_uri: str
    address: str
    token: str | None
    expiration: datetime
    lane: int  # store-unique, so a reused id never shares a delivery queue with its predecessor
    stats: DeliveryStats = field(default_factory=DeliveryStats)

    @property
    def key(self) -> ChannelKey:
        return (self.client_email.lower(), self.id)

    def as_json(self) -> dict[str, Any]:
        """The watch response (google.md §4.2)."""
        body: dict[str, Any] = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
        }
        if self.token is not None:
            body["token"] = self.token
        body["expiration"] = str(_milliseconds(self.expiration))
        return body


class ChannelStore:
    """Every live channel, indexed by owner and id and by calendar, and their delivery."""

    def __init__(
        self, clock: EmulatorClock, faults: Callable[[], Faults], rng: random.Random
    ) -> None:
        self._clock = clock
        self._faults = faults
        self._random = rng
        self.default_lifetime = DEFAULT_LIFETIME
        self.max_lifetime = DEFAULT_LIFETIME
        self._deliverer = Deliverer(DeliveryPolicy(), self._wanted)
        self._channels: dict[ChannelKey, Channel] = {}
        self._by_calendar: dict[str, dict[ChannelKey, Channel]] = {}
        self._lanes: dict[int, Channel] = {}  # by lane: what a queued message belongs to
        self._last_lane = 0
        self._number = 1  # the sync message's; later messages count up from here

    @property
    def policy(self) -> DeliveryPolicy:
        """Delivery timings (answer timeout, back-off, attempts); tests shorten them."""
        return self._deliverer.policy

    @policy.setter
    def policy(self, policy: DeliveryPolicy) -> None:
        self._deliverer.policy = policy

    def open(
        self, client_email: str, calendar_id: str, resource_uri: str, request: WatchRequest
    ) -> Channel:
        """Keep a new channel on ``calendar_id`` (canonical) and queue its ``sync`` message;
        Google's 400 ``channelIdNotUnique`` if the service account has a live one with that id."""
        self._expire()
        key = (client_email.lower(), request.id)
        if key in self._channels:
            raise GoogleError(400, "channelIdNotUnique", f"Channel id {request.id} not unique")
        self._last_lane += 1
        channel = Channel(
            id=request.id,
            client_email=client_email,
            calendar_id=calendar_id,
            resource_id=resource_id(calendar_id),
            resource_uri=resource_uri,
            address=request.address,
            token=request.token,
            expiration=request.expiration,
            lane=self._last_lane,
        )
        self._channels[key] = channel
        self._lanes[channel.lane] = channel
        self._by_calendar.setdefault(calendar_id.lower(), {})[key] = channel
        self._send(channel, "sync", 1)
        return channel

    def stop(self, client_email: str, channel_id: str, resource: str) -> bool:
        """Forget the service account's live channel; False if it has none with that id and
        resource id."""
        self._expire()
        channel = self._channels.get((client_email.lower(), channel_id))
        if channel is None or channel.resource_id != resource:
            return False
        self._discard(channel)
        return True

    def calendar_changed(self, calendar_id: str) -> None:
        """Queue an ``exists`` message for every live channel on ``calendar_id``."""
        watching = self._by_calendar.get(calendar_id.lower())
        if not watching:
            return
        now = self._clock.now()
        for channel in list(watching.values()):
            if channel.expiration <= now:
                self._discard(channel)
                continue
            self._number += self._random.randint(1, MAX_NUMBER_STEP)
            self._notify(channel, self._number)

    async def drain(self) -> None:
        """Wait until every queued message is delivered or given up (retries included)."""
        await self._deliverer.drain()

    def live(self) -> list[Channel]:
        """Every channel not stopped and not expired."""
        self._expire()
        return list(self._channels.values())

    def summary(self) -> dict[str, Any]:
        """For ``GET /_emulator/state``: the live channels and what became of their messages."""
        return {
            "channels": [
                {
                    **channel.as_json(),
                    "calendarId": channel.calendar_id,
                    "address": channel.address,
                    "serviceAccount": channel.client_email,
                    "messages": channel.stats.as_json(),
                }
                for channel in self.live()
            ]
        }

    def reset(self) -> None:
        self._channels.clear()
        self._lanes.clear()
        self._by_calendar.clear()
        self._number = 1
        self._deliverer.reset()

    async def aclose(self) -> None:
        """Stop delivering and close the HTTP client (the app's shutdown)."""
        await self._deliverer.close()

    def _notify(self, channel: Channel, number: int) -> None:
        faults = self._faults()
        if faults.drop_notifications > 0 and self._random.random() < faults.drop_notifications:
            channel.stats.dropped += 1
            return
        copies = 1
        if (
            faults.duplicate_notifications > 0
            and self._random.random() < faults.duplicate_notifications
        ):
            channel.stats.duplicated += 1
            copies = 2
        low, high = faults.notification_delay_ms
        for _ in range(copies):
            delay = self._random.uniform(low, high) / 1000 if high > 0 else 0.0
            self._send(channel, "exists", number, delay)

    def _send(
        self, channel: Channel, state: ResourceState, number: int, delay: float = 0.0
    ) -> None:
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": format_datetime(channel.expiration, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(number),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token
        self._deliverer.queue(
            Message(
                lane=channel.lane,
                address=channel.address,
                headers=headers,
                stats=channel.stats,
                not_before=time.monotonic() + delay,
            )
        )

    def _wanted(self, message: Message) -> bool:
        """Whether a due message's channel is still live (not stopped, replaced or expired)."""
        channel = self._lanes.get(message.lane)
        return channel is not None and channel.expiration > self._clock.now()

    def _expire(self) -> None:
        now = self._clock.now()
        for channel in [c for c in self._channels.values() if c.expiration <= now]:
            self._discard(channel)

    def _discard(self, channel: Channel) -> None:
        self._channels.pop(channel.key, None)
        self._lanes.pop(channel.lane, None)
        watching = self._by_calendar.get(channel.calendar_id.lower())
        if watching is not None:
            watching.pop(channel.key, None)
            if not watching:
                del self._by_calendar[channel.calendar_id.lower()]


def resource_id(calendar_id: str) -> str:
    """The opaque, stable id of a calendar's events collection (27 characters, like Google's)."""
    digest = hashlib.sha1(f"events:{calendar_id.lower()}".encode(), usedforsecurity=False)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def _milliseconds(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(milliseconds=1)
