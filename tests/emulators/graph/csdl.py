"""Check the emulator's JSON against the Graph v1.0 CSDL, the schema Graph itself is described by.

graph.md §13.1: every object the emulator returns for a resource must validate against the entity or
complex type of the same name. The schema is ``data/msgraph-v1.0-csdl.xml.gz`` (a copy of
microsoftgraph/msgraph-metadata ``clean_v10_metadata/cleanMetadata.xml`` @ f54f11b, see the README
there), parsed with ``xml.etree`` once per test session.

- ``validate(type_name, obj)`` lists the problems of one object: unknown property names
  (following ``BaseType`` inheritance; open types accept other names unless
  ``allow_dynamic=False``), primitive types (``Edm.String``, ``Boolean``, integers with their
  ranges, ``Double``, ``DateTimeOffset`` with ``Z`` or an offset, ``Date``, ``TimeOfDay``,
  ``Guid``, ``Duration``), enum members (exact case), ``Nullable="false"``, collections as lists,
  nested complex types, derived types named by ``@odata.type``, and the ``@odata.*`` /
  ``property@odata.*`` / ``@removed`` annotations.
- ``validate_collection(type_name, body)`` checks a ``{"value": [...], "@odata.*": ...}`` envelope.
- ``error_problems(body)`` checks Graph's error shape (graph.md §12).
- ``response_problems(method, path, status, body, request_body)`` picks the type from the
  request path (events, calendarView, delta, instances, calendars, subscriptions, places,
  mailboxSettings and its parts, getSchedule, ``$batch`` items) and validates a whole response;
  the ``graph`` fixture runs it on every response it sees. It is strict: no dynamic properties,
  even on open types such as ``event``, since a name the emulator emits outside the CSDL is a
  typo, not an extension.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

CSDL_PATH = Path(__file__).parent / "data" / "msgraph-v1.0-csdl.xml.gz"
_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
_GRAPH = "microsoft.graph"

ODATA_ANNOTATIONS = {
    "@odata.context": str,
    "@odata.type": str,
    "@odata.etag": str,
    "@odata.id": str,
    "@odata.editLink": str,
    "@odata.readLink": str,
    "@odata.nextLink": str,
    "@odata.deltaLink": str,
    "@odata.navigationLink": str,
    "@odata.associationLink": str,
    "@odata.mediaEtag": str,
    "@odata.count": int,
}
COLLECTION_KEYS = {"value", "@odata.context", "@odata.nextLink", "@odata.deltaLink", "@odata.count"}
REMOVED_REASONS = {"deleted", "changed"}

_DATE_TIME_OFFSET = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,12})?)?(Z|[+-](\d\d):(\d\d))"
)
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_TIME_OF_DAY = re.compile(r"(\d\d):(\d\d)(?::(\d\d)(?:\.\d{1,12})?)?")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DURATION = re.compile(r"-?P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_INNER_ERROR_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_INTEGER_RANGES = {
    "Edm.Byte": (0, 2**8 - 1),
    "Edm.SByte": (-(2**7), 2**7 - 1),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
_FLOATS = {"Edm.Double", "Edm.Single", "Edm.Decimal"}


@dataclass(frozen=True, slots=True)
class Property:
    type: str  # the qualified element type: "Edm.String", "microsoft.graph.attendee"
    collection: bool
    nullable: bool
    navigation: bool = False


@dataclass(frozen=True, slots=True)
class StructuredType:
    name: str
    base: str | None
    abstract: bool
    open: bool
    own: dict[str, Property]


@dataclass(frozen=True, slots=True)
class EnumType:
    name: str
    members: frozenset[str]
    flags: bool


class Schema:
    """The entity, complex and enum types of every schema in one EDMX document."""

    def __init__(self, root: ET.Element) -> None:
        self.structured: dict[str, StructuredType] = {}
        self.enums: dict[str, EnumType] = {}
        self.aliases: dict[str, str] = {}
        schemas = list(root.iter(f"{_EDM}Schema"))
        for schema in schemas:
            alias = schema.get("Alias")
            if alias:
                self.aliases[alias] = schema.get("Namespace", "")
        for schema in schemas:
            namespace = schema.get("Namespace", "")
            for element in schema:
                if element.tag in (f"{_EDM}EntityType", f"{_EDM}ComplexType"):
                    self._add_structured(namespace, element)
                elif element.tag == f"{_EDM}EnumType":
                    name = f"{namespace}.{element.get('Name')}"
                    members = frozenset(m.get("Name", "") for m in element.iter(f"{_EDM}Member"))
                    self.enums[name] = EnumType(name, members, element.get("IsFlags") == "true")

    def _add_structured(self, namespace: str, element: ET.Element) -> None:
        own: dict[str, Property] = {}
        for child in element:
            if child.tag not in (f"{_EDM}Property", f"{_EDM}NavigationProperty"):
                continue
            type_expr = child.get("Type", "")
            collection = type_expr.startswith("Collection(")
            element_type = type_expr[len("Collection(") : -1] if collection else type_expr
            own[child.get("Name", "")] = Property(
                self.qualify(element_type),
                collection,
                nullable=child.get("Nullable") != "false",
                navigation=child.tag == f"{_EDM}NavigationProperty",
            )
        name = f"{namespace}.{element.get('Name')}"
        base = element.get("BaseType")
        self.structured[name] = StructuredType(
            name=name,
            base=self.qualify(base) if base else None,
            abstract=element.get("Abstract") == "true",
            open=element.get("OpenType") == "true",
            own=own,
        )

    def qualify(self, name: str) -> str:
        """``event``, ``graph.event``, ``#microsoft.graph.event`` → ``microsoft.graph.event``."""
        name = name.removeprefix("#")
        if name.startswith("Edm."):
            return name
        namespace, _, local = name.rpartition(".")
        if not namespace:
            return f"{_GRAPH}.{local}"
        return f"{self.aliases.get(namespace, namespace)}.{local}"

    @functools.cache  # noqa: B019 - one Schema per session, kept for the whole run anyway
    def properties(self, type_name: str) -> dict[str, Property]:
        """Own and inherited properties of a structured type."""
        declared = self.structured[type_name]
        inherited = self.properties(declared.base) if declared.base else {}
        return {**inherited, **declared.own}

    def structural(self, type_name: str) -> set[str]:
        """The names of the structural (non-navigation) properties of ``type_name``."""
        qualified = self.qualify(type_name)
        return {name for name, p in self.properties(qualified).items() if not p.navigation}

    def is_open(self, type_name: str) -> bool:
        declared: StructuredType | None = self.structured[type_name]
        while declared is not None:
            if declared.open:
                return True
            declared = self.structured.get(declared.base) if declared.base else None
        return False

    def derives_from(self, type_name: str, ancestor: str) -> bool:
        current: str | None = type_name
        while current is not None:
            if current == ancestor:
                return True
            current = self.structured[current].base
        return False


@functools.cache
def schema() -> Schema:
    """The parsed CSDL, once per process."""
    return Schema(ET.fromstring(gzip.decompress(CSDL_PATH.read_bytes())))


def validate(type_name: str, obj: Any, *, allow_dynamic: bool = True) -> list[str]:
    """Problems of ``obj`` as a value of ``type_name`` (``event``, ``Collection(event)``, ...)."""
    validator = _Validator(schema(), allow_dynamic)
    validator.value(_parse_type(schema(), type_name), obj, "$")
    return validator.problems


def validate_collection(type_name: str, body: Any, *, allow_dynamic: bool = True) -> list[str]:
    """Problems of a collection response ``{"@odata.context", "value": [...], ...}``."""
    if not isinstance(body, dict):
        return [f"$: a collection response must be an object, got {_kind(body)}"]
    problems = [
        f"$.{key}: not part of a collection response" for key in body.keys() - COLLECTION_KEYS
    ]
    problems += _annotation_problems({k: v for k, v in body.items() if k.startswith("@")}, "$")
    if "value" not in body:
        return [*problems, "$: a collection response needs 'value'"]
    validator = _Validator(schema(), allow_dynamic)
    element = schema().qualify(type_name)
    validator.value(Property(element, collection=True, nullable=False), body["value"], "$.value")
    return problems + validator.problems


def error_problems(body: Any) -> list[str]:
    """Problems of a Graph error body: ``{"error": {"code", "message", "innerError": {...}}}``."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"an error body must be {{'error': {{...}}}} alone, got {body!r}"]
    error = body["error"]
    problems = [
        f"error.{key}: not part of Graph's error shape"
        for key in error.keys() - {"code", "message", "innerError", "details", "target"}
    ]
    if not isinstance(error.get("code"), str) or not error["code"]:
        problems.append("error.code must be a non-empty string")
    if not isinstance(error.get("message"), str):
        problems.append("error.message must be a string")
    inner = error.get("innerError")
    if not isinstance(inner, dict):
        return [*problems, "error.innerError must be an object"]
    if not _INNER_ERROR_DATE.fullmatch(str(inner.get("date"))):
        problems.append(f"error.innerError.date must be UTC without Z, got {inner.get('date')!r}")
    for key in ("request-id", "client-request-id"):
        if not isinstance(inner.get(key), str) or not inner[key]:
            problems.append(f"error.innerError.{key} must be a non-empty string")
    return problems


# -- picking the type of a response from its request -------------------------------------------

_USER = r"(?:users/[^/]+|me)"
_CALENDARS = r"(?:/calendargroups/[^/]+)?/calendars"
_CALENDAR = rf"(?:/calendar|{_CALENDARS}/[^/]+)?"
_SETTINGS_PART = "mailboxSettings part"

# (methods, path pattern relative to /v1.0, lower-cased) → what a 2xx JSON body holds
_ROUTES = [
    ("GET", rf"{_USER}{_CALENDAR}/events", "Collection(event)"),
    ("POST", rf"{_USER}{_CALENDAR}/events", "event"),
    ("GET PATCH", rf"{_USER}{_CALENDAR}/events/[^/]+", "event"),
    ("GET", rf"{_USER}{_CALENDAR}/events/[^/]+/instances", "Collection(event)"),
    ("GET", rf"{_USER}{_CALENDAR}/calendarview(?:/delta)?", "Collection(event)"),
    ("GET PATCH", rf"{_USER}/calendar", "calendar"),
    ("GET PATCH", rf"{_USER}{_CALENDARS}/[^/]+", "calendar"),
    ("GET", rf"{_USER}{_CALENDARS}", "Collection(calendar)"),
    ("POST", rf"{_USER}{_CALENDARS}", "calendar"),
    ("GET", r"subscriptions", "Collection(subscription)"),
    ("POST", r"subscriptions", "subscription"),
    ("GET PATCH", r"subscriptions/[^/]+", "subscription"),
    ("GET", r"places/(?:microsoft\.)?graph\.room", "Collection(room)"),
    ("GET", r"places/(?:microsoft\.)?graph\.roomlist", "Collection(roomList)"),
    ("GET", r"places/[^/]+/(?:microsoft\.)?graph\.roomlist/rooms", "Collection(room)"),
    ("GET PATCH", r"places/[^/]+", "place"),
    ("GET PATCH", rf"{_USER}/mailboxsettings", "mailboxSettings"),
    ("GET", rf"{_USER}/mailboxsettings/(?P<part>[^/]+)", _SETTINGS_PART),
    ("POST", rf"{_USER}(?:/calendar)?/getschedule", "Collection(scheduleInformation)"),
]
_COMPILED = [(set(methods.split()), re.compile(path), kind) for methods, path, kind in _ROUTES]


def _body_problems(kind: str, body: Any) -> list[str]:
    if kind.startswith("Collection("):
        return validate_collection(kind[len("Collection(") : -1], body, allow_dynamic=False)
    return validate(kind, body, allow_dynamic=False)


def _settings_part_problems(segment: str, body: Any) -> list[str]:
    """A part of mailboxSettings: complex parts are bare objects, primitives come as ``value``."""
    properties = schema().properties(f"{_GRAPH}.mailboxSettings")
    name = next((name for name in properties if name.lower() == segment.lower()), None)
    if name is None:
        return [f"{segment}: no such mailboxSettings property, yet answered 2xx"]
    declared = properties[name]
    if declared.type in schema().structured:
        return validate(declared.type, body, allow_dynamic=False)
    if not isinstance(body, dict):
        return [f"$: expected an object, got {_kind(body)}"]
    problems = [f"$.{key}: unexpected" for key in body.keys() - {"@odata.context", "value"}]
    validator = _Validator(schema(), allow_dynamic=False)
    validator.value(declared, body.get("value"), "$.value")
    return problems + validator.problems


def response_problems(
    method: str, path: str, status: int, body: Any, request_body: Any = None
) -> list[str]:
    """Problems of one Graph response; ``path`` is the URL path (``/v1.0/...``, query allowed)."""
    relative = urlsplit(path).path
    if not relative.startswith("/v1.0/"):
        return []
    relative = relative.removeprefix("/v1.0/").strip("/")
    if status >= 400:
        return error_problems(body)
    if body is None:
        return []
    if method == "POST" and relative.lower() == "$batch":
        return _batch_problems(body, request_body)
    lowered = relative.lower()
    for methods, pattern, kind in _COMPILED:
        match = pattern.fullmatch(lowered)
        if method in methods and match:
            if kind == _SETTINGS_PART:
                return _settings_part_problems(match["part"], body)
            return _body_problems(kind, body)
    return []


def _batch_problems(body: Any, request_body: Any) -> list[str]:
    requests = {}
    if isinstance(request_body, dict) and isinstance(request_body.get("requests"), list):
        requests = {str(r.get("id")): r for r in request_body["requests"] if isinstance(r, dict)}
    responses = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(responses, list):
        return ["$batch: the response needs a 'responses' array"]
    problems = []
    for item in responses:
        request = requests.get(str(item.get("id")) if isinstance(item, dict) else "")
        if request is None or not isinstance(item, dict):
            problems.append(f"$batch: a response without a matching request: {item!r}")
            continue
        url = "/v1.0/" + str(request.get("url", "")).lstrip("/")
        status = item.get("status")
        if not isinstance(status, int):
            problems.append(f"$batch item {item.get('id')}: status must be an integer")
            continue
        inner = response_problems(
            str(request.get("method", "GET")).upper(), url, status, item.get("body")
        )
        problems += [f"$batch item {item.get('id')} ({url}): {p}" for p in inner]
    return problems


# -- the validator ---------------------------------------------------------------------------


def _parse_type(schema: Schema, type_expr: str) -> Property:
    if type_expr.startswith("Collection(") and type_expr.endswith(")"):
        return Property(schema.qualify(type_expr[len("Collection(") : -1]), True, False)
    return Property(schema.qualify(type_expr), collection=False, nullable=False)


class _Validator:
    def __init__(self, schema: Schema, allow_dynamic: bool) -> None:
        self.schema = schema
        self.allow_dynamic = allow_dynamic
        self.problems: list[str] = []

    def value(self, declared: Property, value: Any, where: str) -> None:
        if value is None:
            if not declared.nullable:
                self.problems.append(f"{where}: null, but the property is non-nullable")
            return
        if declared.collection:
            if not isinstance(value, list):
                self.problems.append(f"{where}: expected a collection (list), got {_kind(value)}")
                return
            item = Property(declared.type, collection=False, nullable=declared.nullable)
            for index, element in enumerate(value):
                self.value(item, element, f"{where}[{index}]")
            return
        if declared.type in self.schema.structured:
            self.structured(declared.type, value, where)
        elif declared.type in self.schema.enums:
            self.enum(self.schema.enums[declared.type], value, where)
        elif declared.type.startswith("Edm."):
            problem = _primitive_problem(declared.type, value)
            if problem:
                self.problems.append(f"{where}: {problem}")
        else:
            self.problems.append(f"{where}: unknown type {declared.type}")

    def enum(self, enum: EnumType, value: Any, where: str) -> None:
        if not isinstance(value, str):
            self.problems.append(f"{where}: enum {enum.name} needs a string, got {_kind(value)}")
            return
        members = [m.strip() for m in value.split(",")] if enum.flags else [value]
        for member in members:
            if member not in enum.members:
                self.problems.append(f"{where}: {member!r} is not a member of {enum.name}")

    def structured(self, type_name: str, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            self.problems.append(f"{where}: {type_name} needs an object, got {_kind(obj)}")
            return
        actual = self._actual_type(type_name, obj, where)
        if actual is None:
            return
        properties = self.schema.properties(actual)
        open_type = self.allow_dynamic and self.schema.is_open(actual)
        annotations: dict[str, Any] = {}
        for key, value in obj.items():
            name, at, annotation = key.partition("@")
            if at:
                if name and name not in properties and not open_type:
                    self.problems.append(f"{where}.{key}: annotates unknown property {name!r}")
                annotations["@" + annotation] = value
                if not name and key == "@removed":
                    self._removed(value, f"{where}.{key}")
                continue
            declared = properties.get(key)
            if declared is None:
                if not open_type:
                    self.problems.append(f"{where}.{key}: no such property on {actual}")
                continue
            self.value(declared, value, f"{where}.{key}")
        annotations.pop("@removed", None)
        self.problems += _annotation_problems(annotations, where)

    def _actual_type(self, declared: str, obj: dict[str, Any], where: str) -> str | None:
        named = obj.get("@odata.type")
        if named is None:
            if self.schema.structured[declared].abstract:
                self.problems.append(f"{where}: {declared} is abstract; @odata.type is required")
            return declared
        if not isinstance(named, str) or not named.startswith("#"):
            self.problems.append(f"{where}.@odata.type: must be '#namespace.type', got {named!r}")
            return None
        actual = self.schema.qualify(named)
        if actual not in self.schema.structured:
            self.problems.append(f"{where}.@odata.type: unknown type {named!r}")
            return None
        if not self.schema.derives_from(actual, declared):
            self.problems.append(f"{where}.@odata.type: {actual} does not derive from {declared}")
            return None
        return actual

    def _removed(self, value: Any, where: str) -> None:
        if not isinstance(value, dict) or value.get("reason") not in REMOVED_REASONS:
            self.problems.append(f"{where}: expected {{'reason': 'deleted' | 'changed'}}")


def _annotation_problems(annotations: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key, value in annotations.items():
        expected = ODATA_ANNOTATIONS.get(key)
        if expected is None:
            problems.append(f"{where}: unknown annotation {key!r}")
        elif not isinstance(value, expected) or isinstance(value, bool):
            problems.append(f"{where}: {key} must be {expected.__name__}, got {_kind(value)}")
    return problems


def _primitive_problem(type_name: str, value: Any) -> str | None:
    """Why ``value`` is not a JSON ``type_name`` (OData JSON format 4.01 §7), or None."""
    if type_name in ("Edm.Untyped", "Edm.Stream"):
        return None
    if type_name == "Edm.Boolean":
        return None if isinstance(value, bool) else f"expected a boolean, got {_kind(value)}"
    if type_name in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[type_name]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer ({type_name}), got {_kind(value)}"
        return None if low <= value <= high else f"{value} is out of range for {type_name}"
    if type_name in _FLOATS:
        if value in ("NaN", "INF", "-INF"):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a number ({type_name}), got {_kind(value)}"
        return None
    if not isinstance(value, str):
        return f"expected a string ({type_name}), got {_kind(value)}"
    checks: dict[str, Callable[[str], bool]] = {
        "Edm.String": lambda _: True,
        "Edm.DateTimeOffset": _is_date_time_offset,
        "Edm.Date": _is_date,
        "Edm.TimeOfDay": _is_time_of_day,
        "Edm.Guid": lambda text: _GUID.fullmatch(text) is not None,
        "Edm.Duration": lambda text: _DURATION.fullmatch(text) is not None,
        "Edm.Binary": lambda text: _BASE64.fullmatch(text) is not None,
    }
    check = checks.get(type_name)
    if check is None:
        return f"no check for primitive type {type_name}"
    return None if check(value) else f"{value!r} is not a valid {type_name}"


def _is_date_time_offset(text: str) -> bool:
    match = _DATE_TIME_OFFSET.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    try:
        offset = timedelta(hours=int(match[8] or 0), minutes=int(match[9] or 0))
        datetime(year, month, day, hour, minute, second, tzinfo=timezone(offset))
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    match = _DATE.fullmatch(text)
    if match is None:
        return False
    try:
        date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    return True


def _is_time_of_day(text: str) -> bool:
    match = _TIME_OF_DAY.fullmatch(text)
    if match is None:
        return False
    try:
        time(int(match[1]), int(match[2]), int(match[3] or 0))
    except ValueError:
        return False
    return True


def _kind(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {json.dumps(value)[:60]}"


async def check_response(response: httpx.Response) -> None:
    """An httpx response hook: fail the test when a Graph response breaks the CSDL."""
    await response.aread()
    request = response.request
    body = _json_or_none(response.content, response.headers.get("content-type", ""))
    if body is None and response.content and "json" in response.headers.get("content-type", ""):
        raise AssertionError(f"{request.method} {request.url}: the JSON body does not parse")
    try:
        sent = request.content
    except httpx.RequestNotRead:  # a streamed upload: nothing to read back
        sent = b""
    request_body = _json_or_none(sent, request.headers.get("content-type", ""))
    problems = response_problems(
        request.method, request.url.path, response.status_code, body, request_body
    )
    if problems:
        listed = "\n  ".join(problems)
        raise AssertionError(
            f"{request.method} {request.url} → {response.status_code} breaks the Graph CSDL:\n"
            f"  {listed}"
        )


def _json_or_none(content: bytes, content_type: str) -> Any:
    if not content or "json" not in content_type.lower():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None
