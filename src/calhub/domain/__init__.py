"""The pure core: ids, clock, time zones, intervals, events and recurrence. No I/O here."""
