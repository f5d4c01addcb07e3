"""Events, series, calendar views, delta queries, responses and free/busy."""
