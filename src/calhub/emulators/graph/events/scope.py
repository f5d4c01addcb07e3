"""The unit every event write goes through: store the value, journal it, publish the change.

``Scope`` is one request's view of the world (the state and the caller's tenant). ``commit`` and
``commit_removal`` are the only ways events change, so the delta journal (graph.md §3) and change
notifications (§4, via ``GraphState.publish_change``) see every write in every mailbox, including
the copies meetings put into attendees' and rooms' calendars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from calhub.emulators.graph.events.model import StoredEvent
from calhub.emulators.graph.events.store import MailboxEvents
from calhub.emulators.graph.state import ChangeType, EventChange, GraphState, Mailbox, Tenant


@dataclass(frozen=True, slots=True)
class Scope:
    state: GraphState
    tenant: Tenant

    def now(self) -> datetime:
        return self.state.clock.now()

    def box(self, mailbox: Mailbox) -> MailboxEvents:
        return self.state.events.box(mailbox)

    def change_key(self) -> str:
        return self.state.events.change_keys.next()

    def mailbox(self, address: str) -> Mailbox | None:
        """A mailbox of this tenant that can hold events, by address."""
        found = self.tenant.mailbox(address)
        return found if found is not None and found.rest_enabled else None


def commit(scope: Scope, mailbox: Mailbox, item: StoredEvent) -> StoredEvent | None:
    """Store ``item`` in ``mailbox``; returns the value it replaced."""
    before = scope.box(mailbox).put(item)
    change: ChangeType = "created" if before is None else "updated"
    scope.state.publish_change(EventChange(mailbox, item.calendar_id, item.id, change, item.etag))
    return before


def commit_removal(scope: Scope, mailbox: Mailbox, item_id: str) -> StoredEvent | None:
    before = scope.box(mailbox).remove(item_id)
    if before is not None:
        scope.state.publish_change(
            EventChange(mailbox, before.calendar_id, item_id, "deleted", before.etag)
        )
    return before
