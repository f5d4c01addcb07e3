"""Microsoft Graph (Microsoft 365) as a calendar provider (shared/reference/graph.md).

``MicrosoftGraphProvider`` (``provider``) implements ``calhub.providers.base.CalendarProvider``
on top of ``GraphClient`` (``client``: throttling, retries, error translation) and
``MsalTokenSource`` (``auth``: app-only tokens through msal, admin consent); ``mapping`` turns
Graph event JSON into the domain's ``ProviderEvent`` / ``Removal``.
"""
