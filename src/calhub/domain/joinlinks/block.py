"""The join block calhub writes into keyword invites, localized, between stable markers.

Issue 5 "Write-back"; ``shared/reference/joinlinks.md`` §1.3 (what the block holds, markers,
header and footer of at most ``MAX_FRAME_CHARS``) and §1.4 (recognising our own edit).

- ``render_block(meeting, keyword=..., body_format=..., locale=...)`` is the whole block,
  markers included. HTML: ``<!-- joinsvc:processed v=1 hash=<h> keyword=<k> -->``, then
  ``<div id="joinsvc-block">…</div>``, then ``<!-- joinsvc:end -->``. Text: a line
  ``-- joinsvc:processed v=1 hash=<h> keyword=<k> --``, the content lines, a line
  ``-- joinsvc:end --``. ``<h>`` is 16 hex characters of SHA-256 over the content between the
  markers; the keyword is percent-encoded when it holds anything but letters, digits and
  ``@:+._~``, so it can never close the comment. Every value is HTML-escaped. The detector
  (``detect_join``) finds the block's link and SIP address in every language; HTML shows the
  address without its ``sip:`` scheme and links it, text has no links, so there the address
  keeps its scheme (mail clients make it clickable, and no English label is needed to find
  it). Meeting number and passcode it reads from the labels of every language the block is
  written in.
- ``language_for(locale)`` picks one of ``LOCALES`` from a mailbox locale (English otherwise).
- ``find_block`` reads the first block's start marker (also the older shape without keyword and
  end marker, ``shared/corpus`` example ``kw-11-already-processed``); ``replace_block`` leaves
  exactly one block in a body; ``remove_block`` takes every block out again, with the blank
  line calhub put before it in text bodies, so a body whose own text never mentions
  ``joinsvc`` comes back byte for byte.

Scans are ``str.find`` calls whose cursors only move forward, so they cost time linear in the
body, whatever it holds.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote

from calhub.domain.joinlinks.model import BodyFormat, JoinDetails
from calhub.domain.joinlinks.settings import MAX_FRAME_CHARS, RESERVED_TEXT
from calhub.domain.joinlinks.text import PROCESSED_MARKER, fold

__all__ = [
    "BLOCK_VERSION",
    "LOCALES",
    "JoinBlock",
    "find_block",
    "language_for",
    "remove_block",
    "render_block",
    "replace_block",
]

BLOCK_VERSION: Final = 1
_HASH_CHARS = 16

_HTML_OPEN = "<!--"
_HTML_CLOSE = "-->"
_HTML_END = "<!-- joinsvc:end -->"
_TEXT_END = "-- joinsvc:end --"
_DIV = '<div id="joinsvc-block">'
_MARKER_REACH = 256  # a start marker's fields end within this many characters
_LOOK_BACK = 16  # how far before "joinsvc:processed" its "<!--" or "--" may start
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class _Phrases:
    notice: str
    join: str
    video: str
    meeting_number: str
    passcode: str
    colon: str  # the label-value separator as the language writes it


_PHRASES: Final = {
    "en": _Phrases(
        notice="-- Do not delete or change any of the text below. --",
        join="Join the meeting",
        video="Join from a video system or application",
        meeting_number="Meeting number",
        passcode="Passcode",
        colon=": ",
    ),
    "de": _Phrases(
        notice="-- Bitte den folgenden Text nicht löschen oder ändern. --",
        join="Am Meeting teilnehmen",
        video="Über ein Videosystem oder eine Anwendung teilnehmen",
        meeting_number="Meetingnummer",
        passcode="Passcode",  # as Microsoft Teams writes it in German
        colon=": ",
    ),
    "fr": _Phrases(
        notice="-- Ne supprimez pas et ne modifiez pas le texte ci-dessous. --",
        join="Rejoindre la réunion",
        video="Rejoindre depuis un système vidéo ou une application",
        meeting_number="Numéro de réunion",
        passcode="Code secret",
        colon=" : ",
    ),
    "es": _Phrases(
        notice="-- No elimine ni modifique el texto que aparece a continuación. --",
        join="Unirse a la reunión",
        video="Unirse desde un sistema de vídeo o una aplicación",
        meeting_number="Número de reunión",
        passcode="Código de acceso",
        colon=": ",
    ),
    "ja": _Phrases(
        notice="-- 以下のテキストは削除または変更しないでください。 --",
        join="ミーティングに参加",
        video="ビデオシステムまたはアプリケーションから参加",
        meeting_number="ミーティング番号",
        passcode="パスコード",
        colon="：",
    ),
}
LOCALES: Final = tuple(_PHRASES)


@dataclass(frozen=True, slots=True)
class JoinBlock:
    """What a join block's start marker says (or what a rendered block will say).

    ``keyword`` is ``JoinDetails.keyword`` (``""`` when the marker does not name one);
    ``content_hash`` identifies the content between the markers; ``version`` is the block
    layout (``BLOCK_VERSION``)."""

    keyword: str
    content_hash: str
    version: int


def language_for(locale: str | None) -> str:
    """The block language for a mailbox locale: ``"de-DE"`` -> ``"de"``, ``"ja"`` -> ``"ja"``;
    unsupported, empty or missing -> ``"en"``. Case-insensitive; ``_`` works like ``-``."""
    language = (locale or "").strip().replace("_", "-").partition("-")[0].lower()
    return language if language in _PHRASES else "en"


def render_block(
    meeting: JoinDetails,
    *,
    keyword: str,
    body_format: BodyFormat,
    locale: str | None,
    header: str = "",
    footer: str = "",
) -> str:
    """The whole join block for ``meeting``, markers included (module docstring).

    Raises ValueError when the header or footer is longer than ``MAX_FRAME_CHARS`` or holds
    ``joinsvc:``, or when the meeting has neither an http(s) join link nor a SIP address."""
    top, bottom = _frame("header", header), _frame("footer", footer)
    phrases = _PHRASES[language_for(locale)]
    join_url, sip_uri = _join_url(meeting), _sip_uri(meeting)
    if join_url is None and sip_uri is None:
        raise ValueError("the meeting has neither a join link nor a video address")
    facts = _facts(meeting, phrases)
    if body_format == "html":
        content = _html_content(phrases, join_url, sip_uri, facts, top, bottom)
        return f"{_start_marker(content, keyword, html=True)}{content}{_HTML_END}"
    content = _text_content(phrases, join_url, sip_uri, facts, top, bottom)
    return f"{_start_marker(content, keyword, html=False)}\n{content}\n{_TEXT_END}"


def find_block(body: str) -> JoinBlock | None:
    """The first join block in ``body`` as its start marker describes it; None when there is
    none or its marker cannot be read (``replace_block`` still replaces such a block)."""
    spans = _spans(body)
    return spans[0].marker if spans else None


def replace_block(body: str, body_format: BodyFormat, block: str) -> str:
    """``body`` with exactly one join block, ``block``. It takes the place of the first block
    found, when that block has the same format (further blocks are removed); otherwise it is
    inserted before ``</body>`` (HTML; appended when there is none) or after a blank line at
    the end (text). A text block takes the CRLF line ends of the block it replaces, or else of
    the body. Idempotent. ValueError when ``block`` is not one join block of ``body_format``
    (as ``render_block`` makes it)."""
    _check_block(block, body_format)
    spans = _spans(body)
    if not spans or spans[0].html != (body_format == "html"):
        # A block of the other format (the body changed format) is not swapped in place: a
        # text block must start a line of its own.
        body = remove_block(body) if spans else body
        return _insert(body, body_format, _line_ends_of(body, body_format, block))
    block = _line_ends_of(body[spans[0].start : spans[0].end], body_format, block)
    pieces, position = [], 0
    for index, span in enumerate(spans):
        cut = span.start if index == 0 else max(position, _separator_start(body, span))
        pieces.append(body[position:cut])
        if index == 0:
            pieces.append(block)
        position = span.end
    pieces.append(body[position:])
    return "".join(pieces)


def remove_block(body: str) -> str:
    """``body`` without calhub's join blocks (and the separator put before a text block);
    ``body`` itself when it has none."""
    pieces, position = [], 0
    for span in _spans(body):
        pieces.append(body[position : max(position, _separator_start(body, span))])
        position = span.end
    pieces.append(body[position:])
    return "".join(pieces)


# Rendering


def _frame(name: str, text: str) -> str:
    if len(text) > MAX_FRAME_CHARS:
        raise ValueError(
            f"the join block {name} is {len(text)} characters; at most {MAX_FRAME_CHARS} are "
            "allowed"
        )
    if RESERVED_TEXT in fold(text):
        raise ValueError(f"the join block {name} may not contain {RESERVED_TEXT!r}")
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _join_url(meeting: JoinDetails) -> str | None:
    url = meeting.join_url
    if url is None:
        return None
    if not url.lower().startswith(("https://", "http://")):
        raise ValueError("a join link in a join block must be an http(s) URL")
    return url


def _sip_uri(meeting: JoinDetails) -> str | None:
    uri = meeting.sip_uri
    if uri is None:
        return None
    scheme = uri.partition(":")[0].lower()
    if scheme not in ("sip", "sips") or scheme == uri:
        raise ValueError("a video address in a join block must be a sip: or sips: URI")
    return uri


def _facts(meeting: JoinDetails, phrases: _Phrases) -> list[tuple[str, str]]:
    """Labelled values below the links: the meeting number (only a number is called one)
    and the passcode."""
    facts = []
    meeting_id = meeting.meeting_id
    digits = (meeting_id or "").replace(" ", "").replace("-", "")
    if meeting_id and digits.isascii() and digits.isdigit():
        facts.append((phrases.meeting_number, meeting_id))
    if meeting.passcode:
        facts.append((phrases.passcode, meeting.passcode))
    return facts


def _html_content(
    phrases: _Phrases,
    join_url: str | None,
    sip_uri: str | None,
    facts: list[tuple[str, str]],
    header: str,
    footer: str,
) -> str:
    escape = html.escape
    paragraphs = [escape(phrases.notice)]
    if header:
        paragraphs.append("<br>".join(escape(line) for line in header.split("\n")))
    if join_url is not None:
        paragraphs.append(f'<a href="{escape(join_url)}">{escape(phrases.join)}</a>')
    if sip_uri is not None:
        # People read the address without "sip:"; "sips:" stays, it asks for encryption.
        shown = sip_uri[4:] if sip_uri[:4].lower() == "sip:" else sip_uri
        paragraphs.append(
            f'{escape(phrases.video + phrases.colon)}<a href="{escape(sip_uri)}">'
            f"{escape(shown)}</a>"
        )
    paragraphs += [escape(label + phrases.colon + value) for label, value in facts]
    if footer:
        paragraphs.append("<br>".join(escape(line) for line in footer.split("\n")))
    return _DIV + "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs) + "</div>"


def _text_content(
    phrases: _Phrases,
    join_url: str | None,
    sip_uri: str | None,
    facts: list[tuple[str, str]],
    header: str,
    footer: str,
) -> str:
    lines = [phrases.notice]
    if header:
        lines += [*header.split("\n"), ""]
    if join_url is not None:
        lines.append(phrases.join + phrases.colon + _one_line(join_url))
    if sip_uri is not None:
        lines.append(phrases.video + phrases.colon + _one_line(sip_uri))
    lines += [label + phrases.colon + _one_line(value) for label, value in facts]
    if footer:
        lines += ["", *footer.split("\n")]
    return "\n".join(lines)


def _one_line(value: str) -> str:
    return " ".join(value.splitlines())


def _start_marker(content: str, keyword: str, *, html: bool) -> str:
    digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    # '-' is encoded too: "--" must never appear inside an HTML comment.
    name = quote(keyword, safe="@:+").replace("-", "%2D")
    fields = f"{PROCESSED_MARKER} v={BLOCK_VERSION} hash={digest} keyword={name}"
    return f"<!-- {fields} -->" if html else f"-- {fields} --"


# Finding blocks


@dataclass(frozen=True, slots=True)
class _Marker:
    start: int
    end: int  # just after the marker comment or line
    html: bool
    block: JoinBlock | None


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    html: bool
    marker: JoinBlock | None


def _spans(body: str) -> list[_Span]:
    """Every join block in ``body``, in order, none overlapping."""
    html_ends = _Cursor(body, _HTML_END, line_start=False)
    text_ends = _Cursor(body, _TEXT_END, line_start=True)
    folded: str | None = None
    spans: list[_Span] = []
    marker = _next_marker(body, 0)
    while marker is not None:
        following = _next_marker(body, marker.end)
        limit = following.start if following is not None else len(body)
        ends = html_ends if marker.html else text_ends
        found = ends.next_from(marker.end)
        if 0 <= found < limit:
            end = found + len(_HTML_END if marker.html else _TEXT_END)
        elif marker.html:
            folded = folded if folded is not None else fold(body)
            end = _legacy_html_end(folded, marker.end)
        else:
            end = len(body)  # the older text shape ran to the end of the body
        spans.append(_Span(marker.start, end, marker.html, marker.block))
        if following is None or following.start < end:
            following = _next_marker(body, end)
        marker = following
    return spans


def _next_marker(body: str, position: int) -> _Marker | None:
    """The first start marker that begins at or after ``position``."""
    at = body.find(PROCESSED_MARKER, position)
    while at >= 0:
        marker = _marker_at(body, at)
        if marker is not None and marker.start >= position:
            return marker
        at = body.find(PROCESSED_MARKER, at + len(PROCESSED_MARKER))
    return None


def _marker_at(body: str, at: int) -> _Marker | None:
    """The start marker whose name is at ``at``: ``<!-- … -->`` or a ``-- … --`` line."""
    low = max(0, at - _LOOK_BACK)
    before = body[low:at].rstrip(" \t")
    fields_from = at + len(PROCESSED_MARKER)
    if before.endswith(_HTML_OPEN):
        close = body.find(_HTML_CLOSE, fields_from, fields_from + _MARKER_REACH)
        if close < 0 or body.find("<", fields_from, close) >= 0:
            return None  # unclosed: a later "-->" belongs to another comment
        start, end = low + len(before) - len(_HTML_OPEN), close + len(_HTML_CLOSE)
        return _Marker(start, end, True, _read_fields(body[fields_from:close]))
    if not before.endswith("--"):
        return None
    start = low + len(before) - 2
    # The line ends at a line break, or at a tag when a mail client made the body HTML.
    reach = min(len(body) + 1, fields_from + _MARKER_REACH)
    ends = [body.find(stop, fields_from, reach) for stop in "\n<"]
    end = min((found for found in ends if found >= 0), default=len(body))
    fields = body[fields_from:end].strip()
    if end >= reach or not fields.endswith("--"):
        return None
    return _Marker(start, end, False, _read_fields(fields.removesuffix("--")))


def _read_fields(fields: str) -> JoinBlock | None:
    values = {}
    for token in fields.split():
        name, _, value = token.partition("=")
        values[name] = value
    version, digest = values.get("v", ""), values.get("hash", "")
    if not (version.isascii() and version.isdigit()) or not digest or not _HEX.issuperset(digest):
        return None
    return JoinBlock(unquote(values.get("keyword", "")), digest, int(version))


def _at_line_start(body: str, at: int) -> bool:
    # '>' too: a text body a mail client made HTML has our lines inside tags.
    return at == 0 or body[at - 1] in "\n>"


class _Cursor:
    """Occurrences of ``needle`` found left to right, each looked for once."""

    def __init__(self, body: str, needle: str, *, line_start: bool) -> None:
        self._body, self._needle, self._line_start = body, needle, line_start
        self._found = -2  # not searched yet

    def next_from(self, position: int) -> int:
        """The first occurrence at or after ``position`` (-1 when none); positions asked for
        never decrease."""
        if self._found == -2 or 0 <= self._found < position:
            found = self._body.find(self._needle, position)
            while found >= 0 and self._line_start and not _at_line_start(self._body, found):
                found = self._body.find(self._needle, found + 1)
            self._found = found
        return self._found


def _legacy_html_end(folded: str, position: int) -> int:
    """End of an older block without end marker: the ``<div>`` right after its marker with
    everything nested in it, up to ``</body>`` (or the end) when the div is never closed; just
    the marker when no div follows."""
    div = position
    while div < len(folded) and div - position < 64 and folded[div].isspace():
        div += 1
    if not folded.startswith("<div", div):
        return position
    depth, opening, closing = 0, div, folded.find("</div", div)
    while closing >= 0:
        if 0 <= opening < closing:
            depth += 1
            opening = folded.find("<div", opening + 4)
            continue
        depth -= 1
        if depth == 0:
            right = folded.find(">", closing, closing + 64)
            return right + 1 if right >= 0 else closing + len("</div")
        closing = folded.find("</div", closing + 5)
    body_end = folded.rfind("</body")
    return body_end if body_end >= div else len(folded)


# Inserting and removing


def _check_block(block: str, body_format: BodyFormat) -> None:
    spans = _spans(block)
    shape_ok = len(spans) == 1 and spans[0].html == (body_format == "html")
    if not shape_ok or spans[0].start != 0 or spans[0].end != len(block):
        raise ValueError(f"not a single {body_format} join block")


def _line_ends_of(model: str, body_format: BodyFormat, block: str) -> str:
    """``block`` with CRLF line ends when it is a text block and ``model`` uses them."""
    if body_format == "text" and "\r\n" in model and "\r\n" not in block:
        return block.replace("\n", "\r\n")
    return block


def _insert(body: str, body_format: BodyFormat, block: str) -> str:
    if body_format == "html":
        closing = fold(body).rfind("</body")
        return body + block if closing < 0 else body[:closing] + block + body[closing:]
    if not body:
        return block
    return body + ("\r\n\r\n" if "\r\n" in body else "\n\n") + block


def _separator_start(body: str, span: _Span) -> int:
    """Where the blank line ``_insert`` put before a text block starts (the block's start
    when there is none)."""
    if not span.html:
        for separator in ("\r\n\r\n", "\n\n"):
            if body.endswith(separator, 0, span.start):
                return span.start - len(separator)
    return span.start
