"""Meetings made for keyword invites by templates (issue 5, "Meetings for keyword invites").

A keyword in Location names a meeting backend (``KeywordTable``); the backends here need no call
to a provider, only the tenant's configuration and the organizer's address:

- ``WebexPersonalRoom``: the organizer's Webex Personal Room from a URL template such as
  ``https://{site}.webex.com/meet/{user}``; ``{user}`` is the Personal Room ID Webex derives from
  the username (``shared/reference/joinlinks.md`` §2.1: the address before ``@``, only letters,
  digits, ``-``, ``.`` and ``_``, at most 64 characters, a ``pr`` prefix for all-digit names)
  and the video address is ``<id>@<site>.webex.com``;
- ``JitsiRooms``: a one-time room on a configured Jitsi domain, its name drawn from random bytes
  the caller supplies (at least 16: the name is the only thing guarding the room);
- ``SipVirtualRooms``: a static virtual meeting room from a SIP URI template such as
  ``sip:{user}@vmr.example.com``.

Backends that call a provider (Teams through Graph, Google Meet) live in the services layer.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Final

from calhub.domain.joinlinks.model import JoinDetails

__all__ = [
    "InvalidBackendConfiguration",
    "JitsiRooms",
    "SipVirtualRooms",
    "WebexPersonalRoom",
    "personal_room_id",
]

MIN_ROOM_ENTROPY_BYTES: Final = 16
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
_SITE = re.compile(_LABEL)
_NOT_IN_ROOM_ID = re.compile(r"[^a-z0-9._-]+")
_PLACEHOLDER = re.compile(r"{([^{}]*)}")


class InvalidBackendConfiguration(ValueError):
    """A tenant's backend setting cannot make meetings; the message says what to fix."""


def personal_room_id(organizer: str) -> str:
    """The Webex Personal Room ID for an organizer's address (module docstring)."""
    local = organizer.strip().lower().partition("@")[0]
    room = _NOT_IN_ROOM_ID.sub("", local)
    if not room or not any(c.isalpha() for c in room):
        room = f"pr{room}"
    return room[:64]


def _check_placeholders(template: str, allowed: set[str]) -> None:
    unknown = set(_PLACEHOLDER.findall(template)) - allowed
    if unknown or template.count("{") != template.count("}"):
        raise InvalidBackendConfiguration(
            f"the template may only use {{{'}, {'.join(sorted(allowed))}}} as placeholders"
        )


@dataclass(frozen=True, slots=True)
class WebexPersonalRoom:
    site: str
    url_template: str = "https://{site}.webex.com/meet/{user}"

    def __post_init__(self) -> None:
        if not _SITE.fullmatch(self.site):
            raise InvalidBackendConfiguration("a Webex site is a host label such as 'acme'")
        _check_placeholders(self.url_template, {"site", "user"})
        if not self.url_template.startswith("https://"):
            raise InvalidBackendConfiguration("the Personal Room URL template must be https")

    def meeting(self, organizer: str) -> JoinDetails:
        room = personal_room_id(organizer)
        return JoinDetails(
            provider="webex",
            source="location",
            join_url=self.url_template.format(site=self.site, user=room),
            sip_uri=f"sip:{room}@{self.site}.webex.com",
        )


@dataclass(frozen=True, slots=True)
class JitsiRooms:
    domain: str = "meet.jit.si"

    def __post_init__(self) -> None:
        if not _HOST.fullmatch(self.domain):
            raise InvalidBackendConfiguration("a Jitsi domain is a host name such as 'meet.jit.si'")

    def meeting(self, randomness: bytes) -> JoinDetails:
        """A room nobody can guess: ``randomness`` must come from ``secrets.token_bytes``."""
        if len(randomness) < MIN_ROOM_ENTROPY_BYTES:
            raise ValueError(f"a one-time room needs {MIN_ROOM_ENTROPY_BYTES} random bytes")
        room = base64.b32encode(randomness).decode().rstrip("=").lower()
        return JoinDetails(
            provider="jitsi",
            source="location",
            join_url=f"https://{self.domain}/{room}",
            meeting_id=room,
        )


@dataclass(frozen=True, slots=True)
class SipVirtualRooms:
    uri_template: str

    def __post_init__(self) -> None:
        _check_placeholders(self.uri_template, {"user"})
        scheme, _, rest = self.uri_template.partition(":")
        user, at, host = rest.rpartition("@")
        if scheme not in ("sip", "sips") or not at or not user or not _HOST.fullmatch(host):
            raise InvalidBackendConfiguration(
                "a virtual room template is a SIP URI such as 'sip:{user}@vmr.example.com'"
            )

    def meeting(self, organizer: str) -> JoinDetails:
        user = personal_room_id(organizer)
        return JoinDetails(
            provider="sip", source="location", sip_uri=self.uri_template.format(user=user)
        )
