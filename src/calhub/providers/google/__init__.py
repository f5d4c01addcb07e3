"""Google Workspace (Calendar v3 and the Admin SDK Directory) as a calendar provider
(shared/reference/google.md).

``mapping`` turns Calendar event JSON, as ``events.list`` returns it without ``singleEvents``,
into the domain's ``ProviderEvent`` / ``Removal``.
"""
