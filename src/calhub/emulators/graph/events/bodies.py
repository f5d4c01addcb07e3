"""Event bodies: HTML and text forms, ``bodyPreview`` and the Teams meeting blob (graph.md §1.1,
§1.4, §1.6).

Exchange keeps a body in the form it was written (an HTML fragment is wrapped into a whole
document) and converts on the way out: HTML by default, text with
``Prefer: outlook.body-content-type="text"``. ``bodyPreview`` is the first 255 characters of the
text form. A Teams meeting appends a join blob to the body, which clients are told to keep when
they rewrite the body.
"""

from __future__ import annotations

import html
import re
from typing import Any

PREVIEW_LENGTH = 255

_DOCUMENT_HEAD = (
    '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    "\r\n</head>\r\n<body>\r\n"
)
_DOCUMENT_TAIL = "\r\n</body>\r\n</html>\r\n"
_DROPPED_BLOCKS = re.compile(r"<(head|style|script)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_LINE_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_DOCUMENT_END = re.compile(r"</body>\s*</html>\s*$", re.IGNORECASE)
_TEAMS_RULE = "_" * 80


def stored_body(content_type: str, content: str) -> dict[str, str]:
    """The body as Exchange stores it: text as given, HTML as a whole document."""
    if content_type == "html" and content and not content.lstrip().lower().startswith("<html"):
        content = _DOCUMENT_HEAD + content + _DOCUMENT_TAIL
    return {"contentType": content_type, "content": content}


def rendered_body(body: dict[str, Any], want_text: bool) -> dict[str, str]:
    """The body in the form a request asked for (HTML unless it preferred text)."""
    content_type, content = str(body.get("contentType", "html")), str(body.get("content", ""))
    if want_text and content_type == "html":
        return {"contentType": "text", "content": html_to_text(content)}
    if not want_text and content_type == "text":
        return {"contentType": "html", "content": text_to_html(content) if content else ""}
    return {"contentType": content_type, "content": content}


def preview(body: dict[str, Any]) -> str:
    content = str(body.get("content", ""))
    text = html_to_text(content) if body.get("contentType") == "html" else content
    return " ".join(text.split())[:PREVIEW_LENGTH]


def html_to_text(content: str) -> str:
    text = _DROPPED_BLOCKS.sub("", content)
    text = _LINE_BREAKS.sub("\n", text)
    text = html.unescape(_TAGS.sub("", text)).replace("\r\n", "\n").replace("\xa0", " ")
    text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip().replace("\n", "\r\n")


def text_to_html(content: str) -> str:
    escaped = html.escape(content).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return f"{_DOCUMENT_HEAD}<div>{escaped}</div>{_DOCUMENT_TAIL}"


def with_teams_blob(body: dict[str, Any], meeting: dict[str, Any]) -> dict[str, str]:
    """``body`` with the Teams join details appended, in the body's own form."""
    join_url = str(meeting["joinUrl"])
    conference = str(meeting.get("conferenceId", ""))
    phone = str(meeting.get("tollNumber", ""))
    content_type = str(body.get("contentType", "html"))
    content = str(body.get("content", ""))
    if content_type == "text":
        blob = (
            f"\r\n{_TEAMS_RULE}\r\nMicrosoft Teams meeting\r\nJoin on your computer, mobile app "
            f"or room device\r\nClick here to join the meeting<{join_url}>\r\n"
            f"Or call in (audio only)\r\n{phone},,{conference}#\r\n"
            f"Phone Conference ID: {conference}#\r\n{_TEAMS_RULE}\r\n"
        )
        return {"contentType": "text", "content": content + blob}
    blob = (
        f'<div style="width:100%"><span style="white-space:nowrap">{_TEAMS_RULE}</span>'
        '</div><div class="me-email-text"><div style="margin-bottom:24px">'
        '<span style="font-size:24px;font-weight:700">Microsoft Teams meeting</span></div>'
        '<div style="margin-bottom:6px"><a class="me-email-headline" '
        f'href="{html.escape(join_url)}" target="_blank" rel="noreferrer noopener">'
        "Join the meeting now</a></div>"
        f"<div>Dial in by phone: {html.escape(phone)},,{html.escape(conference)}#</div>"
        f"<div>Phone conference ID: {html.escape(conference)}#</div></div>"
        f'<div style="width:100%"><span style="white-space:nowrap">{_TEAMS_RULE}</span></div>'
    )
    end = _DOCUMENT_END.search(content)
    if end is not None:
        return {"contentType": "html", "content": content[: end.start()] + blob + end.group()}
    return stored_body("html", content + blob)
