"""Meeting responses and cancellation: ``accept``, ``tentativelyAccept``, ``decline``, ``cancel``
(graph.md §9).

All answer ``202`` with no body. Parameters match case-insensitively (the CSDL names are
PascalCase, the docs camelCase). A response updates the responder's copy (``responseStatus``
and ``showAs``; a decline takes the meeting, or the one occurrence, out of their calendar as
Outlook does) and, unless ``sendResponse`` is false, the organizer's ``attendees[].status``.
Responding to an occurrence changes only the responder's copy. ``proposedNewTime`` needs
``sendResponse`` and the organizer's ``allowNewTimeProposals``; ``accept`` takes none.

Refusals, all ``400 ErrorInvalidRequest`` (UNVERIFIED how Graph wraps Exchange's
``ErrorCalendarIsOrganizerFor...`` codes): the organizer responding, responding to a cancelled
meeting, an attendee cancelling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from calhub.emulators.graph.access import CallerDep, MailboxDep
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.compose import exception_of
from calhub.emulators.graph.events.context import event_request
from calhub.emulators.graph.events.ids import epoch_seconds
from calhub.emulators.graph.events.lookup import Target
from calhub.emulators.graph.events.meetings import copy_show_as, organizer_item
from calhub.emulators.graph.events.model import StoredEvent
from calhub.emulators.graph.events.mutations import cancel_occurrence, delete_event
from calhub.emulators.graph.events.odata import read_json
from calhub.emulators.graph.events.scope import Scope, commit, commit_removal
from calhub.emulators.graph.events.series import with_plan
from calhub.emulators.graph.events.times import format_utc_seconds, parse_date_time_time_zone
from calhub.emulators.graph.events.views import CALENDAR_PATHS
from calhub.emulators.graph.state import Mailbox

router = APIRouter()

RESPONSES = {
    "accept": "accepted",
    "tentativelyAccept": "tentativelyAccepted",
    "decline": "declined",
}
_PARAMETERS = {"comment", "sendresponse", "proposednewtime"}


@dataclass(frozen=True, slots=True)
class Answer:
    response: str
    send: bool
    proposed: dict[str, Any] | None


def respond_route(action: str) -> Callable[..., Awaitable[Response]]:
    async def respond(
        event_id: str,
        request: Request,
        mailbox: MailboxDep,
        caller: CallerDep,
    ) -> Response:
        ctx = event_request(request, caller, mailbox)
        target = ctx.target(event_id)
        answer = _answer(action, await read_json(request), target.item)
        respond_to(ctx.scope, mailbox, target, answer)
        return Response(status_code=202)

    respond.__name__ = f"event_{action}"
    return respond


async def cancel(
    event_id: str,
    request: Request,
    mailbox: MailboxDep,
    caller: CallerDep,
) -> Response:
    ctx = event_request(request, caller, mailbox)
    target = ctx.target(event_id)
    body = await read_json(request)
    _check_parameters("cancel", body, {"comment"})
    if not target.item.is_organizer:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    delete_event(ctx.scope, mailbox, target)
    return Response(status_code=202)


for _path in CALENDAR_PATHS:
    for _action in RESPONSES:
        router.add_api_route(
            f"{_path}/events/{{event_id}}/{_action}", respond_route(_action), methods=["POST"]
        )
    router.add_api_route(f"{_path}/events/{{event_id}}/cancel", cancel, methods=["POST"])


def respond_to(scope: Scope, mailbox: Mailbox, target: Target, answer: Answer) -> None:
    item = target.item
    if item.is_organizer:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. You can't respond to this meeting because you're "
            "the meeting organizer.",
        )
    if item.is_cancelled:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. The meeting has been cancelled.",
        )
    organizer = organizer_item(scope, item)
    status = {"response": answer.response, "time": format_utc_seconds(scope.now())}
    show_as = copy_show_as(organizer[1].show_as if organizer else "busy", answer.response)
    if target.instance is not None:
        _answer_instance(scope, mailbox, target, status, show_as)
        return
    if answer.response == "declined":
        commit_removal(scope, mailbox, item.id)
    else:
        commit(scope, mailbox, _answered(scope, item, status, show_as))
    if answer.send and organizer is not None:
        _tell_organizer(scope, organizer, mailbox, status, answer.proposed)


def _answer_instance(
    scope: Scope, mailbox: Mailbox, target: Target, status: dict[str, Any], show_as: str
) -> None:
    instance = target.instance
    assert instance is not None
    if status["response"] == "declined":
        cancel_occurrence(scope, mailbox, target)
        return
    props = {**instance.source.props, "responseStatus": status, "showAs": show_as}
    exception = exception_of(target.item, instance, None, props, scope.change_key(), scope.now())
    assert exception.original_start is not None
    master = replace(
        target.item,
        exceptions={**target.item.exceptions, epoch_seconds(exception.original_start): exception},
        change_key=scope.change_key(),
        modified=scope.now(),
    )
    commit(scope, mailbox, with_plan(master))


def _answered(scope: Scope, item: StoredEvent, status: dict[str, Any], show_as: str) -> StoredEvent:
    change_key = scope.change_key()
    answered = replace(
        item,
        props={**item.props, "responseStatus": status, "showAs": show_as},
        change_key=change_key,
        modified=scope.now(),
    )
    if item.plan is None:
        return answered
    exceptions = {
        slot: replace(
            exception,
            props={**exception.props, "responseStatus": status, "showAs": show_as},
            change_key=change_key,
        )
        for slot, exception in item.exceptions.items()
    }
    return with_plan(replace(answered, exceptions=exceptions))


def _tell_organizer(
    scope: Scope,
    organizer: tuple[Mailbox, StoredEvent],
    responder: Mailbox,
    status: dict[str, Any],
    proposed: dict[str, Any] | None,
) -> None:
    organizer_mailbox, item = organizer
    attendees = []
    for entry in item.props["attendees"]:
        if entry["emailAddress"]["address"].lower() == responder.upn.lower():
            entry = {**entry, "status": status}
            if proposed is not None:
                entry["proposedNewTime"] = proposed
        attendees.append(entry)
    updated = replace(
        item,
        props={**item.props, "attendees": attendees},
        change_key=scope.change_key(),
        modified=scope.now(),
    )
    commit(scope, organizer_mailbox, updated)


def _answer(action: str, body: Any, item: StoredEvent) -> Answer:
    allowed = _PARAMETERS if action != "accept" else _PARAMETERS - {"proposednewtime"}
    params = _check_parameters(action, body, allowed)
    send = params.get("sendresponse", True)
    if not isinstance(send, bool):
        raise GraphError(400, "BadRequest", "The parameter 'SendResponse' must be a boolean.")
    comment = params.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise GraphError(400, "BadRequest", "The parameter 'Comment' must be a string.")
    proposed = params.get("proposednewtime")
    if proposed is None:
        return Answer(RESPONSES[action], send, None)
    if not send or not item.props.get("allowNewTimeProposals", True):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "A new time can only be proposed with sendResponse true, to a meeting that allows "
            "new time proposals.",
        )
    if not isinstance(proposed, dict):
        raise GraphError(400, "BadRequest", "The parameter 'ProposedNewTime' must be a timeSlot.")
    slot = {str(k).lower(): v for k, v in proposed.items()}
    start, _ = parse_date_time_time_zone(slot.get("start"), "proposedNewTime.start")
    end, _ = parse_date_time_time_zone(slot.get("end"), "proposedNewTime.end")
    return Answer(
        RESPONSES[action],
        send,
        {
            "start": {"dateTime": format_utc_seconds(start)[:-1], "timeZone": "UTC"},
            "end": {"dateTime": format_utc_seconds(end)[:-1], "timeZone": "UTC"},
        },
    )


def _check_parameters(action: str, body: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
    params = {str(key).lower(): value for key, value in body.items()}
    for key in body:
        if str(key).lower() not in allowed:
            raise GraphError(
                400,
                "BadRequest",
                f"The parameter '{key}' in the request payload is not a valid parameter for "
                f"the operation '{action}'.",
            )
    return params
