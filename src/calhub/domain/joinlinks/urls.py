"""Finding URL candidates in text, unwrapping link protectors and guarding the parsed host.

Follows ``shared/reference/joinlinks.md`` §2.0 (candidates), §2.7 steps 4-7 (trim, unwrap,
guard) and §2.8 (lookalikes). ``find_urls`` gives ``(start, end, url)`` in document order:
URLs with a scheme (``http``, ``https``, ``zoommtg``, ``zoomus``) and scheme-less
``host/path`` text whose host ends in one of ``bare_hosts``. A pasted decoded Teams link
(``…?context={"Tid":"…","Oid":"…"}``) is extended over its JSON; a URL a mailer wrapped inside
``<…>`` is re-joined. ``unwrap`` removes Microsoft
Safe Links, Google ``url?q=``, Proofpoint urldefense v2/v3 and Barracuda ``linkprotect``, one
encoding layer per wrapper; ``guard`` parses a URL and rejects userinfo, ports other than the
scheme's default, escaped, non-ASCII or ``xn--`` hosts.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from urllib.parse import unquote, urlsplit

__all__ = ["ParsedUrl", "find_urls", "guard", "query_value", "unwrap"]

MAX_URL_LENGTH = 4096
MAX_CANDIDATES = 1000  # URL candidates looked at per field; a real invite has a few dozen
MAX_UNWRAP = 5

_SCHEME_SEPARATOR = re.compile("://")
_SCHEME_BEFORE = re.compile(r"(?<![a-z0-9+.-])(?:https?|zoommtg|zoomus)\Z")
_HOST_CHARSET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_WHITESPACE = re.compile(r"\s+")
_URL_END = re.compile(r"[\s<>\"'`]")
_HOST_CHARS = re.compile(r"[A-Za-z0-9.-]{1,253}\Z")
_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\Z")
_TRAILING = ".,;:!?]'\"*>"
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_V3_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_V3_STAR = re.compile(r"\*\*[A-Za-z0-9_-]|\*")


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    """A guarded URL: lower-case scheme and host, raw (still escaped) path, query, fragment."""

    scheme: str
    host: str
    path: str
    query: str
    fragment: str
    text: str


def find_urls(
    text: str, folded: str, tlds: re.Pattern[str], known_host: Callable[[str], bool]
) -> list[tuple[int, int, str]]:
    """URL candidates in ``text`` in document order, trimmed; at most ``MAX_CANDIDATES`` of
    each kind. ``folded`` is ``text`` lower-cased; ``tlds`` finds ``.<tld>/`` in it and
    ``known_host`` says which hosts count without a scheme."""
    found = list(_schemed(text, folded))
    found.extend(_bare(text, folded, tlds, known_host))
    found.sort()
    return [(start, end, url) for start, end, url in found if url]


def _schemed(text: str, folded: str) -> Iterator[tuple[int, int, str]]:
    covered = 0  # a '://' inside the previous candidate (a wrapped target) is not another one
    for match in islice(_SCHEME_SEPARATOR.finditer(folded), MAX_CANDIDATES):
        at = match.start()
        if at < covered:
            continue
        scheme = _SCHEME_BEFORE.search(folded, max(0, at - 7), at)
        if scheme is None:
            continue
        start = scheme.start()
        if start and text[start - 1] == "<" and (wrapped := _wrapped(text, start)):
            covered = wrapped[1]
            yield wrapped
            continue
        stop = _URL_END.search(text, at + 3, at + 3 + MAX_URL_LENGTH)
        covered = stop.start() if stop else min(len(text), at + 3 + MAX_URL_LENGTH)
        yield (start, *_extend(text, start, covered))


def _wrapped(text: str, start: int) -> tuple[int, int, str] | None:
    """A URL inside ``<…>`` that a mailer wrapped over lines, with the line breaks removed."""
    close = text.find(">", start, start + MAX_URL_LENGTH)
    if close < 0 or text.find("<", start, close) >= 0:
        return None
    return start, close, _trim(_WHITESPACE.sub("", text[start:close]))


def _bare(
    text: str, folded: str, tlds: re.Pattern[str], known_host: Callable[[str], bool]
) -> Iterator[tuple[int, int, str]]:
    for match in islice(tlds.finditer(folded), MAX_CANDIDATES):
        start = match.start()
        floor = max(0, start - 253)
        while start > floor and folded[start - 1] in _HOST_CHARSET:
            start -= 1
        if start and (text[start - 1].isalnum() or text[start - 1] in "/:@.-_%"):
            continue  # part of a URL with a scheme, an address or a longer name
        if not known_host(folded[start : match.end() - 1]):
            continue
        stop = _URL_END.search(text, match.end(), match.end() + MAX_URL_LENGTH)
        end = stop.start() if stop else min(len(text), match.end() + MAX_URL_LENGTH)
        url = _trim(text[start:end])
        yield start, start + len(url), "https://" + url if url else ""


def _extend(text: str, start: int, end: int) -> tuple[int, str]:
    """The candidate's end and trimmed text; a decoded Teams context runs to its ``}``."""
    if text.endswith("context={", start, end) or text.endswith("context=%7b", start, end):
        close = text.find("}", end, end + 400)
        if close > 0 and not any(c in text[end:close] for c in "\n<>"):
            end = close + 1
    url = _trim(text[start:end])
    return start + len(url), url


def _trim(url: str) -> str:
    while url:
        lower = url[-3:].lower()
        if lower == "%3e":
            url = url[:-3]
        elif url.endswith("&gt;"):
            url = url[:-4]
        elif (
            url[-1] in _TRAILING
            or (url[-1] == ")" and url.count("(") < url.count(")"))
            or (url[-1] == "}" and url.count("{") < url.count("}"))
        ):
            url = url[:-1]
        else:
            break
    return url


def guard(url: str) -> ParsedUrl | None:
    """``url`` parsed, or None when it is not a plain URL on a well-formed ASCII host."""
    if len(url) > MAX_URL_LENGTH:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme, netloc = parts.scheme.lower(), parts.netloc
    if scheme not in ("http", "https", "zoommtg", "zoomus") or "@" in netloc:
        return None
    host, _, port = netloc.partition(":")
    if port and port != _DEFAULT_PORTS.get(scheme):
        return None
    host = host.lower().rstrip(".")
    if not _HOST_CHARS.match(host) or "xn--" in host or not _HOST.match(host):
        return None
    return ParsedUrl(scheme, host, parts.path, parts.query, parts.fragment, url)


def query_value(query: str, name: str) -> str | None:
    """The first ``name=`` value of ``query``, percent-decoded once; names ignore case."""
    wanted = name.lower()
    for pair in query.split("&"):
        key, sep, value = pair.partition("=")
        if sep and key.lower() == wanted:
            return unquote(value)
    return None


def unwrap(url: str) -> str:
    """``url`` with known link protectors removed (at most ``MAX_UNWRAP`` layers)."""
    for _ in range(MAX_UNWRAP):
        inner = _unwrap_once(url)
        if inner is None or inner == url:
            break
        url = _trim(inner.strip())
    return url


def _unwrap_once(url: str) -> str | None:
    parsed = guard(url)
    if parsed is None:
        return None
    host, path, query = parsed.host, parsed.path, parsed.query
    if host.endswith(".safelinks.protection.outlook.com"):
        return query_value(query, "url")
    if host in ("www.google.com", "google.com") and path == "/url":
        return query_value(query, "q") or query_value(query, "url")
    if host == "linkprotect.cudasvc.com" and path == "/url":
        return query_value(query, "a")
    if host == "urldefense.proofpoint.com" and path.startswith("/v2/url"):
        wrapped = query_value(query, "u")
        return None if wrapped is None else _proofpoint_v2(wrapped)
    if host == "urldefense.com" and path.startswith("/v3/__"):
        return _proofpoint_v3(url)
    return None


def _proofpoint_v2(wrapped: str) -> str:
    """``u=`` of a v2 link: ``-XX`` is the byte 0xXX, ``_`` is ``/``."""
    return unquote(wrapped.replace("-", "%").replace("_", "/"))


def _proofpoint_v3(url: str) -> str | None:
    """The target between ``__`` and ``__;``; each ``*`` (or ``**X`` run) takes characters,
    in order, from the base64url list between ``__;`` and ``!`` (Proofpoint's decoder)."""
    begin = url.find("/v3/__") + len("/v3/__")
    middle = url.find("__;", begin)
    bang = url.find("!", middle)
    if middle < 0 or bang < 0:
        return None
    encoded = url[middle + 3 : bang]
    try:
        replacements = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    taken = 0

    def replace(star: re.Match[str]) -> str:
        nonlocal taken
        run = _V3_ALPHABET.index(star.group()[2]) + 2 if len(star.group()) == 3 else 1
        chunk = replacements[taken : taken + run]
        taken += run
        return chunk

    target = _V3_STAR.sub(replace, url[begin:middle])
    return target if taken <= len(replacements) else None
