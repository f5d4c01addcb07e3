"""What every event route starts from: the caller's scope, the mailbox's records, the calendar
the path names, and how the request wants events rendered."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request

from calhub.emulators.graph.access import Caller, graph_state
from calhub.emulators.graph.events.lookup import Target, calendar_in_path, find_target, in_calendar
from calhub.emulators.graph.events.model import CalendarRecord
from calhub.emulators.graph.events.odata import Preferences, preferences, query, render_options
from calhub.emulators.graph.events.render import GRAPH_ROOT, RenderOptions
from calhub.emulators.graph.events.scope import Scope
from calhub.emulators.graph.events.store import MailboxEvents
from calhub.emulators.graph.state import Mailbox


@dataclass(frozen=True, slots=True)
class EventRequest:
    request: Request
    scope: Scope
    mailbox: Mailbox
    box: MailboxEvents
    calendar: CalendarRecord
    prefs: Preferences
    params: dict[str, str]

    def options(self) -> RenderOptions:
        return render_options(self.prefs, self.params)

    def target(self, event_id: str) -> Target:
        return in_calendar(find_target(self.box, event_id), self.calendar)

    def context(self, suffix: str) -> str:
        user = quote(self.request.path_params.get("user_id", self.mailbox.id), safe="@")
        return f"{GRAPH_ROOT}/$metadata#users('{user}')/{suffix}"

    def headers(self) -> dict[str, str]:
        return self.prefs.applied()


def event_request(request: Request, caller: Caller, mailbox: Mailbox) -> EventRequest:
    scope = Scope(graph_state(request), caller.tenant)
    box = scope.box(mailbox)
    return EventRequest(
        request=request,
        scope=scope,
        mailbox=mailbox,
        box=box,
        calendar=calendar_in_path(box, request.path_params),
        prefs=preferences(request),
        params=query(request),
    )
