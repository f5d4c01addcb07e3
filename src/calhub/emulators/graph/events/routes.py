"""The events part of the Graph emulator as one router (graph.md §1-§3, §5, §9).

``app.py`` includes ``router``; it gathers the capability routers: calendars, calendarView and
instances, delta (with the ``/_emulator/mailboxes/{upn}/expire-delta`` control endpoint), event
CRUD, meeting responses and getSchedule.
"""

from __future__ import annotations

from fastapi import APIRouter

from calhub.emulators.graph.events import calendars, crud, delta, responses, schedule, views

router = APIRouter()
for _part in (
    calendars.router,
    delta.router,
    views.router,
    crud.router,
    responses.router,
    schedule.router,
):
    router.include_router(_part)
