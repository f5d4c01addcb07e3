"""Create, update and delete events as Graph does (graph.md §1.7, §1.3, §9).

- POST: ``transactionId`` makes a retry return the event the first attempt made (§1.1:
  UNVERIFIED what Graph answers; the existing event is the documented intent).
- PATCH of a single event or master edits it; PATCH of an occurrence id turns that occurrence
  into an exception (same id); PATCH of an exception edits it.
- DELETE of an item removes it; DELETE of an occurrence or exception id cancels that instance
  (it joins the master's ``cancelledOccurrences``).
- ``If-Match`` with another change key is ``412 ErrorIrresolvableConflict`` (Exchange's code for
  a stale change key).

The organizer's writes reach attendees' and rooms' copies through ``meetings``; an attendee's
edits to their own copy stay in their calendar.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events import meetings
from calhub.emulators.graph.events.compose import (
    default_props,
    edited_item,
    exception_of,
    finish_props,
    merge_props,
    new_item,
)
from calhub.emulators.graph.events.ids import epoch_seconds
from calhub.emulators.graph.events.lookup import Target
from calhub.emulators.graph.events.model import CalendarRecord, StoredEvent
from calhub.emulators.graph.events.parsing import EventInput
from calhub.emulators.graph.events.scope import Scope, commit, commit_removal
from calhub.emulators.graph.events.series import exception_instance, with_plan
from calhub.emulators.graph.state import Mailbox


def create_event(
    scope: Scope, mailbox: Mailbox, calendar: CalendarRecord, parsed: EventInput
) -> StoredEvent:
    box = scope.box(mailbox)
    if parsed.transaction_id:
        earlier = box.by_transaction.get(parsed.transaction_id)
        if earlier is not None and earlier in box.items:
            return box.items[earlier]
    props = default_props(mailbox.display_name, mailbox.upn)
    props.update(parsed.props)
    meetings.complete_attendees(scope, (), props)
    item = new_item(
        mailbox_id=mailbox.id,
        calendar_id=calendar.id,
        props=props,
        parsed=parsed,
        change_key=scope.change_key(),
        now=scope.now(),
        tenant_id=scope.tenant.id,
    )
    item = meetings.answer_rooms(scope, mailbox, None, item)
    commit(scope, mailbox, item)
    meetings.propagate(scope, mailbox, None, item)
    return item


def update_event(scope: Scope, mailbox: Mailbox, target: Target, parsed: EventInput) -> Target:
    item, instance = target.item, target.instance
    now = scope.now()
    if instance is None:
        props = _merged(scope, mailbox, item.props, parsed)
        edited = edited_item(item, parsed, props, scope.change_key(), now)
        edited = meetings.answer_rooms(scope, mailbox, item, edited)
        commit(scope, mailbox, edited)
        meetings.propagate(scope, mailbox, item, edited)
        return Target(edited)
    props = _merged(scope, mailbox, instance.source.props, parsed)
    exception = exception_of(item, instance, parsed, props, scope.change_key(), now)
    assert exception.original_start is not None
    slot = epoch_seconds(exception.original_start)
    master = with_plan(
        replace(
            item,
            exceptions={**item.exceptions, slot: exception},
            change_key=scope.change_key(),
            modified=now,
        )
    )
    master = meetings.answer_rooms(scope, mailbox, item, master)
    commit(scope, mailbox, master)
    meetings.propagate(scope, mailbox, item, master)
    return Target(master, exception_instance(master, master.exceptions[slot]))


def delete_event(scope: Scope, mailbox: Mailbox, target: Target) -> None:
    item, instance = target.item, target.instance
    if instance is None:
        commit_removal(scope, mailbox, item.id)
        meetings.propagate(scope, mailbox, item, None)
        return
    master = cancel_occurrence(scope, mailbox, target)
    meetings.propagate(scope, mailbox, item, master)


def cancel_occurrence(scope: Scope, mailbox: Mailbox, target: Target) -> StoredEvent:
    """Remove one instance from its series (the master remembers it as cancelled)."""
    item, instance = target.item, target.instance
    assert instance is not None
    assert instance.original_start is not None
    slot = epoch_seconds(instance.original_start)
    master = with_plan(
        replace(
            item,
            exceptions={k: v for k, v in item.exceptions.items() if k != slot},
            cancelled={**item.cancelled, slot: instance.original_start},
            change_key=scope.change_key(),
            modified=scope.now(),
        )
    )
    commit(scope, mailbox, master)
    return master


def check_if_match(header: str | None, target: Target) -> None:
    if header is None or header.strip() == "*":
        return
    current = (target.instance.source if target.instance else target.item).change_key
    wanted = header.strip()
    if wanted.startswith("W/"):
        wanted = wanted[2:]
    if wanted.strip('"') != current:
        raise GraphError(
            412,
            "ErrorIrresolvableConflict",
            "The send or update operation could not be performed because the change key "
            "passed in the request does not match the current change key for the item.",
        )


def _merged(scope: Scope, mailbox: Mailbox, current: Any, parsed: EventInput) -> dict[str, Any]:
    props = merge_props(dict(current), parsed.props)
    if "attendees" in parsed.props or "location" in parsed.props:
        meetings.complete_attendees(scope, current.get("attendees", []), props)
    return finish_props(props, tenant_id=scope.tenant.id, organizer_id=mailbox.id)
