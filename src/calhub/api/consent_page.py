"""The page an admin's browser lands on after Microsoft's admin-consent screen (issue 4,
"Connect": ``error=access_denied`` is shown plainly).

Self-contained: no scripts, no CDN, inline style only, every text escaped; the response forbids
caching and referrers (the URL carried a single-use ``state``) and loading anything else.
"""

from __future__ import annotations

import html
from typing import Final

from fastapi.responses import HTMLResponse

from calhub.services.connections import ConsentOutcome

PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1b1b1b}h1{font-size:1.4rem}.granted{color:#0a6b2f}"
    ".refused{color:#a4161a}"
)


def consent_page(outcome: ConsentOutcome) -> HTMLResponse:
    """200 with "Consent granted", or 400 saying why nothing was connected."""
    heading, css_class = (
        ("Consent granted", "granted") if outcome.granted else ("Not connected", "refused")
    )
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>calhub: {heading}</title><style>{_STYLE}</style></head><body>"
        f'<h1 class="{css_class}">{heading}</h1>'
        f"<p>{html.escape(outcome.message)}</p>"
        "<p>You can close this window and return to calhub.</p></body></html>"
    )
    return HTMLResponse(page, status_code=200 if outcome.granted else 400, headers=PAGE_HEADERS)
