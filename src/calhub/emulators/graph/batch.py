"""``POST /v1.0/$batch``: JSON batching (graph.md §10.3).

``{"requests": [{"id", "method", "url", "headers"?, "body"?, "dependsOn"?}]}``, at most 20, ids
unique, ``url`` relative to ``/v1.0`` with or without the leading slash, a ``Content-Type`` header
whenever there is a body (a JSON value, or base64 for other types). A malformed batch answers 400
as a whole; otherwise the envelope is 200 and every item carries its own status.

Each item is dispatched into this same ASGI app with the envelope's ``Authorization`` header, so
authentication, faults and per-mailbox throttling apply item by item (graph.md §10.2: items get
their own 429 and ``Retry-After``). Items without ``dependsOn`` run concurrently; an item waits
for the items it depends on and answers 424 if any of them did not succeed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse
from starlette.types import Message, Scope

from calhub.emulators.graph.access import StateDep, verify_token
from calhub.emulators.graph.errors import GraphError, error_body, request_ids

router = APIRouter()

MAX_REQUESTS = 20
METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
QUERY_SAFE = "!$&'()*+,;=:@/?%~-._ "
NOT_FORWARDED = frozenset({"authorization", "host", "content-length"})
NOT_RETURNED = frozenset(
    {"content-length", "request-id", "client-request-id", "x-ms-ags-diagnostic", "date", "server"}
)


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One request of a batch, checked."""

    id: str
    method: str
    url: str  # relative to /v1.0, without the leading slash
    headers: Mapping[str, str]
    body: bytes
    depends_on: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ItemResult:
    status: int
    headers: dict[str, str]
    body: Any  # JSON value, base64 text, or None


@router.post("/v1.0/$batch")
async def run_batch(request: Request, state: StateDep) -> JSONResponse:
    verify_token(state, request.headers.get("authorization"))
    try:
        payload = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise _invalid("Invalid batch payload format.") from None
    items = parse_batch(payload)
    results = await _execute(request, items)
    return JSONResponse(
        {
            "responses": [
                {"id": item.id, "status": r.status, "headers": r.headers, "body": r.body}
                for item, r in zip(items, results, strict=True)
            ]
        }
    )


# --- parsing --------------------------------------------------------------------------------


def parse_batch(payload: Any) -> list[BatchItem]:
    """The batch's items, or a 400 ``BadRequest`` naming what is wrong."""
    requests = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(requests, list):
        raise _invalid("Invalid batch payload format.")
    if len(requests) > MAX_REQUESTS:
        raise _invalid(
            f"The batch has {len(requests)} requests; the limit is {MAX_REQUESTS} per batch."
        )
    items = [_item(raw, index) for index, raw in enumerate(requests)]
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise _invalid(f"Request ids must be unique; duplicated: {', '.join(duplicates)}.")
    for item in items:
        unknown = [d for d in item.depends_on if d not in ids or d == item.id]
        if unknown:
            raise _invalid(
                f"Request {item.id} depends on unknown request(s): {', '.join(unknown)}."
            )
    _reject_cycles(items)
    return items


def _item(raw: Any, index: int) -> BatchItem:
    if not isinstance(raw, dict):
        raise _invalid(f"requests[{index}] must be a JSON object.")
    item_id, method, url = raw.get("id"), raw.get("method"), raw.get("url")
    if not isinstance(item_id, str) or not item_id:
        raise _invalid(f"requests[{index}] needs an 'id' (a non-empty string).")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise _invalid(f"Request {item_id} needs a 'method' out of {', '.join(sorted(METHODS))}.")
    if not isinstance(url, str) or not url.strip("/") or "://" in url:
        raise _invalid(f"Request {item_id} needs a 'url' relative to the version, e.g. /users/x.")
    relative = url.lstrip("/")
    if relative.split("?", 1)[0].lower() == "$batch":
        raise _invalid(f"Request {item_id}: batches cannot be nested.")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _invalid(f"Request {item_id}: 'headers' must map names to strings.")
    depends_on = raw.get("dependsOn") or []
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise _invalid(f"Request {item_id}: 'dependsOn' must be a list of request ids.")
    return BatchItem(
        id=item_id,
        method=method.upper(),
        url=relative,
        headers=headers,
        body=_body(item_id, raw.get("body"), headers),
        depends_on=tuple(depends_on),
    )


def _body(item_id: str, body: Any, headers: Mapping[str, str]) -> bytes:
    if body is None:
        return b""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if content_type is None:
        raise _invalid(
            f"Write request id : {item_id} does not contain Content-Type header or body."
        )
    if "json" in content_type.lower() or not isinstance(body, str):
        return json.dumps(body).encode()
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        raise _invalid(f"Request {item_id}: a non-JSON body must be base64.") from None


def _reject_cycles(items: Sequence[BatchItem]) -> None:
    depends = {item.id: item.depends_on for item in items}
    done: set[str] = set()

    def visit(item_id: str, path: tuple[str, ...]) -> None:
        if item_id in path:
            raise _invalid(f"dependsOn forms a cycle: {' -> '.join((*path, item_id))}.")
        if item_id in done:
            return
        for dependency in depends[item_id]:
            visit(dependency, (*path, item_id))
        done.add(item_id)

    for item in items:
        visit(item.id, ())


def _invalid(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


# --- execution ------------------------------------------------------------------------------


async def _execute(request: Request, items: Sequence[BatchItem]) -> list[ItemResult]:
    tasks: dict[str, asyncio.Task[ItemResult]] = {}

    async def run(item: BatchItem) -> ItemResult:
        for dependency in item.depends_on:
            if not 200 <= (await tasks[dependency]).status < 300:
                return _failed_dependency(request, item)
        return await _dispatch(request, item)

    # Every task exists before the first one runs, so dependants find their prerequisites.
    for item in items:
        tasks[item.id] = asyncio.create_task(run(item))
    return list(await asyncio.gather(*tasks.values()))


async def _dispatch(request: Request, item: BatchItem) -> ItemResult:
    """Run one item through the whole app, as if it had come over the wire."""
    path, _, query = item.url.partition("?")
    headers = [
        (name.lower().encode(), value.encode())
        for name, value in item.headers.items()
        if name.lower() not in NOT_FORWARDED
    ]
    authorization = request.headers.get("authorization")
    if authorization is not None:
        headers.append((b"authorization", authorization.encode("latin-1")))
    if item.body:
        headers.append((b"content-length", str(len(item.body)).encode()))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": item.method,
        "scheme": request.url.scheme,
        "server": request.scope.get("server"),
        "client": request.scope.get("client"),
        "root_path": request.scope.get("root_path", ""),
        "path": "/v1.0/" + unquote(path),
        "raw_path": ("/v1.0/" + path).encode(),
        "query_string": quote(query, safe=QUERY_SAFE).encode(),
        "headers": headers,
    }
    answered = asyncio.Event()
    body_sent = False
    status = 500
    response_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": item.body, "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                key = name.decode("latin-1").lower()
                if key not in NOT_RETURNED:
                    response_headers[key.title()] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                answered.set()

    try:
        await request.app(scope, receive, send)
    except Exception:
        # One broken item must not fail its batch: like Graph, it answers 500 on its own.
        return _item_error(request, 500, "generalException", "An internal server error occurred.")
    finally:
        answered.set()
    return ItemResult(status, response_headers, _result_body(response_headers, b"".join(chunks)))


def _result_body(headers: Mapping[str, str], body: bytes) -> Any:
    if not body:
        return None
    if "json" in headers.get("Content-Type", "").lower():
        try:
            return json.loads(body)
        except ValueError:
            pass
    return base64.b64encode(body).decode()


def _failed_dependency(request: Request, item: BatchItem) -> ItemResult:
    message = f"Request {item.id} was not run: a request it depends on failed."
    return _item_error(request, 424, "FailedDependency", message)


def _item_error(request: Request, status: int, code: str, message: str) -> ItemResult:
    request_id, client_request_id = request_ids(request)
    body = error_body(
        code,
        message,
        now=request.app.state.graph.clock.now(),
        request_id=request_id,
        client_request_id=client_request_id,
    )
    return ItemResult(status, {"Content-Type": "application/json"}, body)
