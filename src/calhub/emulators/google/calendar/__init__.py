"""Google Calendar events: the store of every calendar's events and the ``/calendar/v3`` routes
for ``events.*`` and ``freebusy.query`` (google.md §1-§3, §5)."""
