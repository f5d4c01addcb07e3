"""The request side shared by the event routes: JSON bodies, ``Prefer``, OData query options,
paging links, and fast JSON answers (graph.md §1.5, §1.6, §2.1).

- ``Prefer`` (via ``prefer.parse_prefer``): ``outlook.timezone`` (Windows or IANA; unknown names
  fall back to UTC), ``outlook.body-content-type``, ``IdType`` and ``odata.maxpagesize``; each
  one honoured is echoed in ``Preference-Applied``.
- ``$top``, ``$skip``, ``$select``, ``$orderby`` (``start/dateTime`` and a few more), ``$count``
  and ``$expand=singleValueExtendedProperties($filter=id eq '...')``; query option names match
  case-insensitively.
- ``@odata.nextLink`` is a full URL built from the request's own base URL and path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request
from starlette.responses import Response

from calhub.emulators.graph.errors import GraphError
from calhub.emulators.graph.events.model import Instance
from calhub.emulators.graph.events.render import EVENT_PROPERTIES, RenderOptions
from calhub.emulators.graph.events.times import UTC_ZONE, Zone, preferred_zone
from calhub.emulators.graph.prefer import parse_prefer

JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"
MAX_TOP = 1000
_SELECTABLE = {name.lower(): name for name in EVENT_PROPERTIES}
_EXTENDED_EXPAND = re.compile(
    r"^singleValueExtendedProperties\s*\(\s*\$filter\s*=\s*(.+)\)$", re.IGNORECASE
)
_ID_EQUALS = re.compile(r"^\s*id\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
_ORDERINGS: dict[str, Callable[[Instance], Any]] = {
    "start/datetime": lambda i: i.sort_key,
    "end/datetime": lambda i: i.end_instant,
    "createddatetime": lambda i: i.source.created,
    "lastmodifieddatetime": lambda i: i.source.modified,
    "subject": lambda i: str(i.source.props["subject"]).lower(),
}


@dataclass(frozen=True, slots=True)
class Preferences:
    zone: Zone | None = None
    text_body: bool | None = None
    immutable_ids: bool = False
    max_page_size: int | None = None

    @property
    def output_zone(self) -> Zone:
        return self.zone or UTC_ZONE

    def applied(self) -> dict[str, str]:
        """The ``Preference-Applied`` header for what was honoured (none: no header)."""
        parts = []
        if self.zone is not None:
            parts.append(f'outlook.timezone="{self.zone.name}"')
        if self.text_body is not None:
            parts.append(f'outlook.body-content-type="{"text" if self.text_body else "html"}"')
        if self.immutable_ids:
            parts.append('IdType="ImmutableId"')
        if self.max_page_size is not None:
            parts.append(f"odata.maxpagesize={self.max_page_size}")
        return {"Preference-Applied": ", ".join(parts)} if parts else {}


def preferences(request: Request) -> Preferences:
    prefer = parse_prefer(request.headers.getlist("prefer"))
    body_type = prefer.get("outlook.body-content-type", "").lower()
    page = prefer.get("odata.maxpagesize", "")
    return Preferences(
        zone=preferred_zone(prefer.get("outlook.timezone")),
        text_body={"text": True, "html": False}.get(body_type),
        immutable_ids=prefer.get("idtype", "").lower() == "immutableid",
        max_page_size=int(page) if page.isdigit() and int(page) > 0 else None,
    )


def query(request: Request) -> dict[str, str]:
    """Query parameters with lower-cased names (Graph matches them case-insensitively)."""
    return {key.lower(): value for key, value in request.query_params.items()}


def render_options(prefs: Preferences, params: dict[str, str]) -> RenderOptions:
    return RenderOptions(
        zone=prefs.output_zone,
        text_body=bool(prefs.text_body),
        select=_select(params.get("$select")),
        extended_ids=_expand(params.get("$expand")),
    )


def int_option(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit():
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for query option '{name}'.")
    return int(raw)


def page_size(params: dict[str, str], default: int) -> int:
    return min(int_option(params, "$top", default), MAX_TOP)


def ordered(params: dict[str, str], found: list[Instance]) -> list[Instance]:
    raw = params.get("$orderby")
    if raw is None:
        return found
    keys: list[tuple[Callable[[Instance], Any], bool]] = []
    for clause in raw.split(","):
        words = clause.split()
        if not words or words[0].lower() not in _ORDERINGS or len(words) > 2:
            raise GraphError(400, "BadRequest", f"Invalid $orderby clause '{clause.strip()}'.")
        descending = len(words) == 2 and words[1].lower() == "desc"
        keys.append((_ORDERINGS[words[0].lower()], descending))
    for key, descending in reversed(keys):
        found = sorted(found, key=key, reverse=descending)
    return found


def next_link(request: Request, replace: dict[str, str]) -> str:
    """The request's own URL with some query parameters replaced (``$skip``, tokens)."""
    lowered = {name.lower() for name in replace}
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k.lower() not in lowered]
    pairs.extend(replace.items())
    encoded = "&".join(f"{_q(k)}={_q(v)}" for k, v in pairs)
    return f"{base_path(request)}?{encoded}"


def base_path(request: Request) -> str:
    path = quote(request.scope["path"], safe="/@:()'!,;=")
    return f"{request.url.scheme}://{request.url.netloc}{path}"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=JSON_TYPE, headers=headers)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise GraphError(
            400,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format.",
        ) from None


def _select(raw: str | None) -> frozenset[str] | None:
    if raw is None or not raw.strip():
        return None
    chosen = set()
    for name in raw.split(","):
        canonical = _SELECTABLE.get(name.strip().lower())
        if canonical is None:
            raise _unknown_property(name.strip())
        chosen.add(canonical)
    return frozenset(chosen)


def _expand(raw: str | None) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return ()
    match = _EXTENDED_EXPAND.match(raw.strip())
    if match is None:
        name = raw.split("(")[0].strip()
        if name.lower() == "singlevalueextendedproperties":
            raise GraphError(
                400, "BadRequest", "Expand singleValueExtendedProperties with $filter=id eq '...'."
            )
        raise _unknown_property(name)
    ids = []
    for clause in re.split(r"\s+or\s+", match.group(1), flags=re.IGNORECASE):
        found = _ID_EQUALS.match(clause)
        if found is None:
            raise GraphError(400, "BadRequest", f"Invalid filter clause '{clause.strip()}'.")
        ids.append(" ".join(found.group(1).replace("''", "'").split()).lower())
    return tuple(ids)


def _unknown_property(name: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        "Parsing OData Select and Expand failed: Could not find a property named "
        f"'{name}' on type 'microsoft.graph.event'.",
    )


def _q(text: str) -> str:
    return quote(text, safe="$:'(),/")
