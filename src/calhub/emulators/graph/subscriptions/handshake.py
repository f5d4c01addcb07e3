"""Which notification URLs the emulator accepts, and the validation handshake (graph.md §4.3).

Graph wants HTTPS; the emulator also takes plain HTTP on loopback, for local receivers. It only
ever contacts loopback hosts (``localhost``, ``*.localhost``, 127.0.0.0/8, ``::1``) and the
reserved test names ``*.test``, ``*.localhost`` and ``*.example``: any other host is refused with
``ValidationError`` before a single packet leaves, so a mistyped production URL never receives
emulated traffic.

The handshake POSTs ``{url}?validationToken={URL-encoded token}`` with ``Content-Type:
text/plain; charset=utf-8`` and no body; the receiver must answer 200 with the decoded token as
its body within the timeout (10 s on wall time), else subscription creation fails with Graph's
400 bodies: ``ValidationError`` for a wrong status or body or an unreachable endpoint,
``InvalidRequest`` "Subscription validation request timed out." for a slow one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from http import HTTPStatus
from urllib.parse import quote, urlsplit

import httpx

from calhub.emulators.graph.errors import GraphError

TEST_DOMAINS = (".test", ".localhost", ".example")
MUST_ANSWER = "Notification endpoint must respond with 200 OK to validation request."
FAILED = "Subscription validation request failed."


def check_url(url: object, field: str) -> str:
    """``url`` if the emulator may contact it, else Graph's 400; ``field`` is the JSON name."""
    label = "lifecycle notification" if field.startswith("lifecycle") else "notification"
    if not isinstance(url, str) or (parsed := _scheme_and_host(url)) is None:
        raise GraphError(400, "InvalidRequest", f"Invalid {label} url='{url}'.")
    scheme, host = parsed
    loopback = is_loopback(host)
    if scheme == "http" and not loopback:
        name = field[:1].upper() + field[1:]
        raise GraphError(400, "InvalidRequest", f"{name} scheme='http' is not supported.")
    if not loopback and not host.endswith(TEST_DOMAINS):
        raise GraphError(
            400,
            "ValidationError",
            f"{FAILED} {MUST_ANSWER} (The emulator contacts only loopback addresses and "
            f"*.test, *.localhost and *.example hosts, not '{host}'.)",
        )
    return url


def _scheme_and_host(url: str) -> tuple[str, str] | None:
    """An absolute http(s) URL's scheme and lower-case host, or None for anything else."""
    if any(character.isspace() for character in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - reading the port is what validates it
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return parts.scheme, host


def is_loopback(host: str) -> bool:
    lowered = host.lower().strip("[]")
    if lowered == "localhost" or lowered.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(lowered).is_loopback
    except ValueError:
        return False


async def validate_endpoint(client: httpx.AsyncClient, url: str, within: float) -> None:
    """Run Graph's validation handshake against ``url``, allowing ``within`` seconds for the
    answer; raise Graph's 400 if it fails."""
    token = (
        "Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()}"
    )
    base = url.partition("#")[0]
    separator = "&" if "?" in base else "?"
    target = f"{base}{separator}validationToken={quote(token, safe='')}"
    try:
        async with asyncio.timeout(within):
            response = await client.post(
                target, content=b"", headers={"Content-Type": "text/plain; charset=utf-8"}
            )
    except TimeoutError:
        raise GraphError(
            400, "InvalidRequest", "Subscription validation request timed out."
        ) from None
    except Exception:  # unreachable, refused, TLS failure, a receiver that crashes
        raise GraphError(400, "ValidationError", f"{FAILED} {MUST_ANSWER}") from None
    if response.status_code != 200:
        raise GraphError(
            400,
            "ValidationError",
            f"{FAILED} HTTP status code is '{_status_name(response.status_code)}'. {MUST_ANSWER}",
        )
    if response.text != token:
        raise GraphError(
            400,
            "ValidationError",
            f"{FAILED} Response must exactly match validationToken query parameter.",
        )


def _status_name(status: int) -> str:
    """.NET's ``HttpStatusCode`` name, as Graph prints it ('Forbidden', 'InternalServerError')."""
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return str(status)
