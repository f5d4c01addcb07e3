"""What a subscription's ``resource`` watches: one mailbox, and maybe one calendar (graph.md §4.1).

Accepted, case-insensitively, with or without a leading slash and with any query (``$filter``)
after ``?`` (tolerated, not applied): ``users/{id|upn}/events`` (every event in the mailbox),
``users/{id}/calendar/events`` (the default calendar) and ``users/{id}/calendars/{calId}/events``
(one calendar; observed on v1.0). ``users('{id}')`` key syntax is read like ``users/{id}``.
A single event (``.../events/{eventId}``) and anything else is rejected as unsupported; ``/me`` is
rejected as Graph rejects it for app-only tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from calhub.emulators.graph.errors import GraphError

_KEY_SYNTAX = re.compile(r"^users\('([^']*)'\)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class WatchedResource:
    """The mailbox a subscription names and which of its calendars it watches.

    ``calendar_id`` is a calendar id from the URL; ``default_calendar`` means ``/calendar/events``;
    neither means every calendar in the mailbox.
    """

    mailbox_key: str
    calendar_id: str | None = None
    default_calendar: bool = False


def parse_resource(resource: str) -> WatchedResource:
    """The watched mailbox and calendar, or the 400 Graph answers for the resource."""
    path = resource.split("?", 1)[0].strip().strip("/")
    path = _KEY_SYNTAX.sub(lambda match: f"users/{match.group(1)}", path)
    segments = [unquote(segment) for segment in path.split("/")]
    lowered = [segment.lower() for segment in segments]
    if lowered and lowered[0] == "me":
        raise GraphError(
            400, "BadRequest", "/me request is only valid with delegated authentication flow."
        )
    if len(segments) >= 3 and lowered[0] == "users" and segments[1]:
        mailbox = segments[1]
        tail = lowered[2:]
        if tail == ["events"]:
            return WatchedResource(mailbox)
        if tail == ["calendar", "events"]:
            return WatchedResource(mailbox, default_calendar=True)
        if len(tail) == 3 and tail[0] == "calendars" and tail[2] == "events" and segments[3]:
            return WatchedResource(mailbox, calendar_id=segments[3])
    raise GraphError(400, "InvalidRequest", f"Resource '{resource}' is not supported.")
