"""Invite text made ready for scanning, in linear time (``shared/reference/joinlinks.md`` §2.7).

``clean_text`` handles what every field needs: zero-width characters and soft hyphens dropped,
NBSP made a space. ``body_text`` first undoes a leaked transfer encoding (quoted-printable soft
breaks and ``=XX``, iCalendar folding and escapes) and, for HTML, turns markup into text: every
``<a href>`` target is written into the text just before its anchor (so href and visible text
both count, in document order), ``<wbr>`` vanishes, every other tag becomes a line break,
``<style>``/``<script>`` contents and all other attributes (``src``, ``style``) are dropped,
entities are decoded. (URLs wrapped inside ``<…>`` are re-joined by ``urls.find_urls``.)

Scanners look for literal anchors in ``fold(text)`` (same indices, lower case), which ``re``
finds far faster than case-insensitive patterns. Every step here is one pass of a regular
expression whose repeated parts cannot overlap (each stops at the character that starts the
next match), run by ``re`` in C, and skipped when its anchor is absent; the steps that call
back into Python are capped by ``count``, so a hostile body costs time proportional to its size.
"""

from __future__ import annotations

import binascii
import html
import re

from calhub.domain.joinlinks.model import BodyFormat

__all__ = ["PROCESSED_MARKER", "body_text", "clean_text", "fold", "processed_block"]

# calhub's own join block starts with this comment (HTML) or line (text); docs/joinlinks.md.
PROCESSED_MARKER = "joinsvc:processed"
MAX_CALLBACKS = 10_000  # entities decoded per field; the rest stays as written
MAX_HREFS = 1_000  # anchors whose href is kept, as many as URL candidates are looked at

# Zero-width characters and the soft hyphen vanish (str.replace beats a regex class here).
_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
_NOT_QUOTED_PRINTABLE = re.compile(r"=(?![0-9A-F]{2}|\r?\n)")
_ICS_FOLD = re.compile(r"\r?\n[ \t]")
_ICS_ESCAPE = re.compile(r"\\([nN,;\\])")
_STYLE_OR_SCRIPT = re.compile(r"<(?:style|script)\b[^<>]*>[^<]*", re.I)
# The first href of an <a> tag. '[^<>h]|h(?!ref…)' cannot overlap with 'href', so a tag is
# read once, whatever it contains.
_ANCHOR_HREF = re.compile(
    r"""<a\s(?:[^<>h]|h(?!ref\s*=))*href\s*=\s*(?:"([^"<>]*)"|'([^'<>]*)'|([^\s"'<>]+))""", re.I
)
_WBR = re.compile(r"<wbr\s*/?>", re.I)
_ANY_TAG = re.compile(r"<[^<>]*>")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_COMMON_ENTITIES = (
    ("&nbsp;", " "),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", '"'),
    ("&#39;", "'"),
    ("&apos;", "'"),
)


def clean_text(text: str) -> str:
    """Invisible characters out, NBSP in as a space."""
    if not text.isascii():
        for char in _INVISIBLE:
            if char in text:
                text = text.replace(char, "")
        text = text.replace("\xa0", " ")
    return text


def fold(text: str) -> str:
    """``text`` lower-cased with every index kept, so scanners can look for literal anchors
    in the folded copy (fast) and read the original at the same place. U+0130 is the only
    character whose lower case is two characters long."""
    return text.replace("\u0130", "i").lower() if "\u0130" in text else text.lower()


def body_text(body: str, body_format: BodyFormat) -> str:
    """The body as plain text ready for scanning (see the module docstring)."""
    body = _undo_transfer_encoding(body)
    if body_format == "html":
        body = _html_to_text(body)
    return clean_text(body)


def processed_block(body: str) -> str | None:
    """The part of ``body`` from calhub's own join-block marker on, or None without one."""
    at = body.find(PROCESSED_MARKER)
    return None if at < 0 else body[at + len(PROCESSED_MARKER) :]


def _undo_transfer_encoding(body: str) -> str:
    # Quoted-printable encodes every '=' itself (=3D), so one stray '=' means plain text.
    if ("=\n" in body or "=3D" in body) and not _NOT_QUOTED_PRINTABLE.search(body):
        raw = binascii.a2b_qp(body.encode("utf-8", "surrogatepass"))
        body = raw.decode("utf-8", "replace")
    if "BEGIN:VEVENT" in body or ("\\n" in body and "\n" not in body):
        body = _ICS_ESCAPE.sub(_ics_unescape, _ICS_FOLD.sub("", body))
    return body


def _ics_unescape(found: re.Match[str]) -> str:
    char = found.group(1)
    return "\n" if char in "nN" else char


def _html_to_text(markup: str) -> str:
    if "<" in markup:
        folded = fold(markup)
        if "<style" in folded or "<script" in folded:
            markup = _STYLE_OR_SCRIPT.sub("", markup)
        if "<a" in folded:
            markup = _ANCHOR_HREF.sub(r" \1\2\3 <a ", markup, count=MAX_HREFS)
        if "<wbr" in folded:
            markup = _WBR.sub("", markup)
        # Every tag ends a line: labels and URLs never run on into the next cell or block.
        markup = _ANY_TAG.sub("\n", markup)
    if "&" in markup:
        markup = _decode_entities(markup)
    return markup


def _decode_entities(text: str) -> str:
    for entity, char in _COMMON_ENTITIES:
        if entity in text:
            text = text.replace(entity, char)
    text = _ENTITY.sub(_entity, text, count=MAX_CALLBACKS)
    return text.replace("&amp;", "&")


def _entity(found: re.Match[str]) -> str:
    entity = found.group()
    return entity if entity == "&amp;" else html.unescape(entity)
