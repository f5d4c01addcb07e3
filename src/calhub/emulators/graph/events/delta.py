"""``calendarView/delta``: incremental sync of a calendar window (graph.md §3).

A round is the first call (with the window) and every ``@odata.nextLink`` (``$skiptoken``) until
the ``@odata.deltaLink`` (``$deltatoken``) that starts the next round. Tokens are opaque base64
and carry the mailbox, calendar, window, the mailbox's journal position and its token generation;
links keep the request's own path (``/users/{id}/...``). Page size is ``Prefer:
odata.maxpagesize`` (echoed), 10 by default (UNVERIFIED).

What a round contains, as the live service does it (microsoft-graph-docs PR #4501, issues #7632
and #22197):

- the first round: every single event, exception and occurrence in the window plus the masters
  of those series; later rounds: what changed since the token, as full objects;
- occurrences carry only ``id``, ``seriesMasterId``, ``type``, ``start``, ``end`` (read the
  master for the rest); a series never straddles two pages;
- deletions and events that left the window come as
  ``{"@odata.type": "#microsoft.graph.event", "id": ..., "@removed": {"reason": "deleted"}}``;
  a cancelled occurrence is not reported on its own - its master comes back updated with
  ``cancelledOccurrences``.

A token whose generation was expired (``POST /_emulator/mailboxes/{upn}/expire-delta``) or whose
history was trimmed from the journal is ``410 SyncStateNotFound``, the live service's PascalCase
code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from calhub.emulators.graph.access import CallerDep, MailboxDep, StateDep
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.context import EventRequest, event_request
from calhub.emulators.graph.events.model import StoredEvent
from calhub.emulators.graph.events.odata import base_path, json_response
from calhub.emulators.graph.events.render import (
    GRAPH_ROOT,
    RenderOptions,
    removed,
    render_instance,
    render_item,
)
from calhub.emulators.graph.events.series import instances
from calhub.emulators.graph.events.store import MailboxEvents
from calhub.emulators.graph.events.views import CALENDAR_PATHS, window
from calhub.emulators.graph.state import Mailbox

DEFAULT_PAGE = 10
CONTEXT = f"{GRAPH_ROOT}/$metadata#Collection(event)"

router = APIRouter()


@dataclass(frozen=True, slots=True)
class SyncToken:
    """What a skip or delta token says; ``start_seq`` is set on the later rounds' pages."""

    mailbox_id: str
    calendar: str
    window: tuple[int, int]
    generation: int
    epoch: str
    seq: int
    start_seq: int | None = None
    position: Any = None

    def encode(self) -> str:
        raw = {
            "m": self.mailbox_id,
            "c": self.calendar,
            "w": list(self.window),
            "g": self.generation,
            "x": self.epoch,
            "q": self.seq,
            "f": self.start_seq,
            "p": self.position,
        }
        text = json.dumps(raw, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> SyncToken:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return cls(
                mailbox_id=str(raw["m"]),
                calendar=str(raw["c"]),
                window=(int(raw["w"][0]), int(raw["w"][1])),
                generation=int(raw["g"]),
                epoch=str(raw["x"]),
                seq=int(raw["q"]),
                start_seq=None if raw["f"] is None else int(raw["f"]),
                position=raw["p"],
            )
        except (binascii.Error, ValueError, KeyError, TypeError, IndexError):
            raise GraphError(
                400, "ErrorInvalidUrlQuery", "The delta or skip token is not valid."
            ) from None


async def calendar_view_delta(
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    epoch = ctx.scope.state.events.epoch
    calendar = _calendar_key(ctx.calendar.id)
    skip, delta = ctx.params.get("$skiptoken"), ctx.params.get("$deltatoken")
    if skip or delta:
        token = SyncToken.decode(skip or delta or "")
        _check(token, ctx.box, mailbox, calendar, epoch)
        if delta:  # a new round: changes since the token, up to now
            token = SyncToken(
                token.mailbox_id, calendar, token.window, token.generation, epoch,
                ctx.box.seq, start_seq=token.seq,
            )  # fmt: skip
    else:
        lo, hi = window(ctx.params)
        span = (int(lo.timestamp()), int(hi.timestamp()))
        token = SyncToken(mailbox.id, calendar, span, ctx.box.generation, epoch, ctx.box.seq)
    size = ctx.prefs.max_page_size or DEFAULT_PAGE
    options = RenderOptions(zone=ctx.prefs.output_zone, text_body=bool(ctx.prefs.text_body),
                            delta=True)  # fmt: skip
    if token.start_seq is None:
        values, position = _initial_page(ctx, token, size, options)
    else:
        values, position = _changes_page(ctx, token, size, options)
    body: dict[str, Any] = {"@odata.context": CONTEXT}
    if position is not None:
        following = replace(token, position=position)
        body["@odata.nextLink"] = f"{base_path(request)}?$skiptoken={following.encode()}"
    else:
        final = replace(token, start_seq=None, position=None)
        body["@odata.deltaLink"] = f"{base_path(request)}?$deltatoken={final.encode()}"
    body["value"] = values
    return json_response(body, headers=ctx.headers())


for _path in CALENDAR_PATHS:
    router.add_api_route(f"{_path}/calendarView/delta", calendar_view_delta, methods=["GET"])


@router.post("/_emulator/mailboxes/{upn}/expire-delta", status_code=204)
async def expire_delta(upn: str, state: StateDep) -> Response:
    """Invalidate every outstanding delta token of one mailbox (the next use gets 410)."""
    mailbox = state.mailbox_anywhere(upn)
    if mailbox is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{upn}' is invalid.")
    state.events.box(mailbox).expire_tokens()
    return Response(status_code=204)


def _initial_page(
    ctx: EventRequest, token: SyncToken, size: int, options: RenderOptions
) -> tuple[list[dict[str, Any]], Any]:
    store = ctx.scope.state.events
    # Pages of one initial round show the calendar as it was on the first page; what changed
    # since is in the next round anyway, because the round's deltaLink starts from its seq.
    round_key = (ctx.box.mailbox_id, token.calendar, token.window, token.generation, token.seq)
    groups = store.snapshot(round_key)
    if groups is None:
        groups = _groups(ctx, token)
        store.remember(round_key, groups)
    after = token.position
    values: list[dict[str, Any]] = []
    for key, item, found in groups:
        if after is not None and key <= after:
            continue
        if len(values) >= size:
            return values, after
        values.extend(_group(item, found, options))
        after = key
    return values, None


def _groups(ctx: EventRequest, token: SyncToken) -> list[Any]:
    """Each item with instances in the window, with them, in page order."""
    lo, hi = _window(token)
    groups = []
    for item in ctx.box.items.values():
        if item.calendar_id != ctx.calendar.id:
            continue
        found = instances(item, lo, hi)
        if found:
            groups.append(([found[0].sort_key.timestamp(), item.id], item, found))
    groups.sort(key=lambda group: group[0])
    return groups


def _changes_page(
    ctx: EventRequest, token: SyncToken, size: int, options: RenderOptions
) -> tuple[list[dict[str, Any]], Any]:
    assert token.start_seq is not None
    lo, hi = _window(token)
    earliest: dict[str, StoredEvent | None] = {}
    for entry in ctx.box.entries_after(token.start_seq, token.seq, ctx.calendar.id):
        earliest.setdefault(entry.item_id, entry.before)
    changed = list(earliest.items())
    index = int(token.position or 0)
    values: list[dict[str, Any]] = []
    while index < len(changed):
        if len(values) >= size:
            return values, index
        item_id, before = changed[index]
        index += 1
        now = ctx.box.items.get(item_id)
        found = instances(now, lo, hi) if now is not None else []
        if found:
            assert now is not None
            values.extend(_group(now, found, options))
        elif before is not None and instances(before, lo, hi):
            values.append(removed(item_id))
    return values, None


def _group(item: StoredEvent, found: list[Any], options: RenderOptions) -> list[dict[str, Any]]:
    rendered = [render_instance(instance, options) for instance in found]
    if item.plan is not None:
        rendered.insert(0, render_item(item, options))
    return rendered


def _check(
    token: SyncToken, box: MailboxEvents, mailbox: Mailbox, calendar: str, epoch: str
) -> None:
    if token.mailbox_id != mailbox.id or token.calendar != calendar:
        raise GraphError(400, "ErrorInvalidUrlQuery", "The token belongs to another calendar.")
    oldest = token.start_seq if token.start_seq is not None else token.seq
    if (
        token.generation != box.generation
        or token.epoch != epoch
        or oldest < box.floor
        or token.seq > box.seq
    ):
        raise GraphError(
            410,
            "SyncStateNotFound",
            f"The sync state generation is not found; generation={token.generation};"
            f"[highest={box.generation}][{box.generation}].",
        )


def _window(token: SyncToken) -> tuple[datetime, datetime]:
    return (
        datetime.fromtimestamp(token.window[0], UTC),
        datetime.fromtimestamp(token.window[1], UTC),
    )


def _calendar_key(calendar_id: str) -> str:
    return hashlib.sha256(calendar_id.encode()).hexdigest()[:12]
