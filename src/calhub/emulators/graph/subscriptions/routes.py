"""``/v1.0/subscriptions`` and the subscription control endpoints (graph.md §4.1, §4.6, §4.7).

Graph: ``POST /subscriptions`` (201 after the validation handshake), ``GET /subscriptions`` (the
calling app's, in its tenant), ``GET``/``PATCH``/``DELETE /subscriptions/{id}`` and
``POST /subscriptions/{id}/reauthorize`` (204). Subscriptions belong to one app in one tenant:
any other caller gets 404 ``ResourceNotFound``. Every call needs granted consent; creation,
renewal and reauthorization also check the mailbox as every mailbox-scoped call does.

Control API (no credentials): ``POST /_emulator/subscriptions/{id}/remove`` sends
``subscriptionRemoved`` and deletes the subscription; ``POST /_emulator/subscriptions/{id}/missed``
sends ``missed``. Both answer 204, or 404 for an unknown id; a subscription without a
``lifecycleNotificationUrl`` is told nothing, as in Graph.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from calhub.emulators.graph.access import CallerDep, StateDep, require_consent, resolve_mailbox
from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.subscriptions.model import CONTEXT, Subscription, subscription_json
from calhub.emulators.graph.subscriptions.validation import read_creation, read_renewal

router = APIRouter()
JsonBody = Annotated[dict[str, Any], Body()]


@router.post("/v1.0/subscriptions", status_code=201)
async def create_subscription(caller: CallerDep, state: StateDep, body: JsonBody) -> dict[str, Any]:
    require_consent(caller)
    request = read_creation(body, state.clock.now())
    mailbox = resolve_mailbox(caller, request.watched.mailbox_key)
    subscription = await state.subscriptions.create(caller.tenant, caller.app, mailbox, request)
    return _entity(subscription)


@router.get("/v1.0/subscriptions")
async def list_subscriptions(caller: CallerDep, state: StateDep) -> dict[str, Any]:
    require_consent(caller)
    owned = state.subscriptions.owned_by(caller.tenant.id, caller.app.client_id)
    return {"@odata.context": CONTEXT, "value": [subscription_json(s) for s in owned]}


@router.get("/v1.0/subscriptions/{subscription_id}")
async def get_subscription(
    subscription_id: str, caller: CallerDep, state: StateDep
) -> dict[str, Any]:
    return _entity(_owned(subscription_id, caller, state))


@router.patch("/v1.0/subscriptions/{subscription_id}")
async def renew_subscription(
    subscription_id: str, caller: CallerDep, state: StateDep, body: JsonBody
) -> dict[str, Any]:
    subscription = _owned(subscription_id, caller, state)
    renewal = read_renewal(body, state.clock.now())
    resolve_mailbox(caller, subscription.mailbox_id)
    await state.subscriptions.renew(subscription, renewal)
    return _entity(subscription)


@router.delete("/v1.0/subscriptions/{subscription_id}", status_code=204)
async def delete_subscription(subscription_id: str, caller: CallerDep, state: StateDep) -> Response:
    state.subscriptions.delete(_owned(subscription_id, caller, state))
    return Response(status_code=204)


@router.post("/v1.0/subscriptions/{subscription_id}/reauthorize", status_code=204)
async def reauthorize_subscription(
    subscription_id: str, caller: CallerDep, state: StateDep
) -> Response:
    subscription = _owned(subscription_id, caller, state)
    resolve_mailbox(caller, subscription.mailbox_id)
    return Response(status_code=204)


@router.post("/_emulator/subscriptions/{subscription_id}/remove", status_code=204)
async def remove_subscription(subscription_id: str, state: StateDep) -> Response:
    if not state.subscriptions.remove(subscription_id):
        raise _not_found(subscription_id)
    return Response(status_code=204)


@router.post("/_emulator/subscriptions/{subscription_id}/missed", status_code=204)
async def report_missed(subscription_id: str, state: StateDep) -> Response:
    if state.subscriptions.report_missed(subscription_id) is None:
        raise _not_found(subscription_id)
    return Response(status_code=204)


def _owned(subscription_id: str, caller: CallerDep, state: StateDep) -> Subscription:
    require_consent(caller)
    found = state.subscriptions.find(caller.tenant.id, caller.app.client_id, subscription_id)
    if found is None:
        raise _not_found(subscription_id)
    return found


def _entity(subscription: Subscription) -> dict[str, Any]:
    return {"@odata.context": f"{CONTEXT}/$entity", **subscription_json(subscription)}


def _not_found(subscription_id: str) -> GraphError:
    return GraphError(
        404, "ResourceNotFound", f"The subscription '{subscription_id}' was not found."
    )
