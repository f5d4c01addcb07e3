"""Google Workspace (Calendar v3 and the Admin SDK Directory) as a calendar provider
(shared/reference/google.md).

``provider.GoogleCalendarProvider`` is the ``CalendarProvider``; ``client.GoogleClient`` carries
its requests (tokens per impersonated user from ``auth.ServiceAccountTokens``, limits, retries,
``errors`` translating Google's answers). ``mapping`` turns Calendar event JSON, as
``events.list`` returns it without ``singleEvents``, into the domain's ``ProviderEvent`` /
``Removal``; ``directory`` discovers users and rooms; ``edits`` and ``presence`` serve the join
write-back and out of office; ``push`` names watch channels and reads their push messages.
"""
