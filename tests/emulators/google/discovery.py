"""Check what the Google emulator emits against Google's own discovery documents.

The documents ship inside the google-api-python-client wheel
(``googleapiclient/discovery_cache/documents/calendar.v3.json`` and ``admin.directory_v1.json``);
they are the schemas Google's client libraries are generated from, so a resource that passes here
has the fields, types, formats and enum values a real client expects.

- ``check_resource(api, schema, value)``: ``value`` is a valid ``schema`` (``"Event"``,
  ``"CalendarResource"``, ...). Strict where the documents are: an unknown field, a wrong type, a
  malformed ``date-time``/``date``/``int64`` string or a value outside an ``enum`` fails. The
  Calendar document has no ``enum``s; its descriptions list the values instead ("Possible values
  are: - "confirmed" ..."), and those lists are enforced the same way.
- ``check_response(api, method_id, status, body)``: a 2xx body is the method's ``response``
  schema (no body when the method has none); an error body is Google's v1 error envelope
  (google.md §9.1) with ``error.code`` equal to the status.

``api`` is ``"calendar"`` or ``"directory"``; ``method_id`` is the discovery id, e.g.
``"calendar.events.list"`` or ``"directory.resources.calendars.list"``. Failures raise
``AssertionError`` naming the path of the first violation, e.g. ``Event.start.dateTime``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, Final

DOCUMENTS: Final = {"calendar": "calendar.v3.json", "directory": "admin.directory_v1.json"}
_INT_RANGES: Final = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}
_DIGITS: Final = re.compile(r"-?\d+")
# RFC 3339: a date, "T", a time with optional fraction, and a zone (Z or an offset).
_RFC3339: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_DESCRIBED_VALUE: Final = re.compile(r'^- "([^"]+)"', re.MULTILINE)


@cache
def document(api: str) -> Mapping[str, Any]:
    """The discovery document of ``api`` (``calendar`` or ``directory``)."""
    path = resources.files("googleapiclient") / "discovery_cache" / "documents" / DOCUMENTS[api]
    loaded: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _methods(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from node.get("methods", {}).values()
    for child in node.get("resources", {}).values():
        yield from _methods(child)


@cache
def method(api: str, method_id: str) -> Mapping[str, Any]:
    """The discovery description of one method, by its id."""
    for found in _methods(document(api)):
        if found["id"] == method_id:
            return found
    raise KeyError(f"{api} has no method {method_id!r}")


def check_resource(api: str, schema: str, value: object) -> None:
    """Raise ``AssertionError`` unless ``value`` is a valid ``schema`` of ``api``."""
    _check(document(api)["schemas"], {"$ref": schema}, value, schema)


def check_response(api: str, method_id: str, status: int, body: object) -> None:
    """Raise ``AssertionError`` unless ``body`` is what ``method_id`` answers with ``status``."""
    described = method(api, method_id)
    if status >= 400:
        check_error(status, body)
        return
    assert 200 <= status < 300, f"{method_id}: unexpected status {status}"
    response = described.get("response")
    if response is None:
        assert body in (None, b"", ""), f"{method_id} has no response body, got {body!r}"
        return
    check_resource(api, response["$ref"], body)


def check_error(status: int, body: object) -> None:
    """Google's v1 error envelope: ``{"error": {"code", "message", "errors": [...]}}``."""
    assert isinstance(body, dict), f"not an error: {body!r}"
    error = body.get("error")
    assert isinstance(error, dict), f"not an error: {body}"
    assert error.get("code") == status, f"error.code {error.get('code')} for status {status}"
    assert isinstance(error.get("message"), str), "error.message missing"
    items = error.get("errors")
    assert isinstance(items, list), "error.errors missing"
    assert items, "error.errors is empty"
    for number, item in enumerate(items):
        for key in ("domain", "reason", "message"):
            assert isinstance(item.get(key), str), f"error.errors[{number}].{key} missing"


def _check(schemas: Mapping[str, Any], schema: Mapping[str, Any], value: object, path: str) -> None:
    if "$ref" in schema:
        _check(schemas, schemas[schema["$ref"]], value, path)
        return
    kind = schema.get("type")
    if kind == "object":
        _check_object(schemas, schema, value, path)
    elif kind == "array":
        assert isinstance(value, list), f"{path}: expected an array, got {value!r}"
        for number, item in enumerate(value):
            _check(schemas, schema["items"], item, f"{path}[{number}]")
    elif kind == "string":
        _check_string(schema, value, path)
    elif kind == "integer":
        _check_integer(schema, value, path)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        assert ok, f"{path}: expected a number, got {value!r}"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
    elif kind not in ("any", None):
        raise AssertionError(f"{path}: the validator does not know type {kind!r}")


def _check_object(
    schemas: Mapping[str, Any], schema: Mapping[str, Any], value: object, path: str
) -> None:
    assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
    properties: Mapping[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _check(schemas, properties[key], item, f"{path}.{key}")
        elif extra is not None:
            _check(schemas, extra, item, f"{path}[{key!r}]")
        else:
            raise AssertionError(f"{path}: unknown field {key!r} (not in the discovery schema)")


def _check_string(schema: Mapping[str, Any], value: object, path: str) -> None:
    assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
    allowed = _allowed_values(schema)
    if allowed:
        assert value in allowed, f"{path}: {value!r} is not one of {allowed}"
    form = schema.get("format")
    if form in ("int64", "uint64"):
        assert _DIGITS.fullmatch(value), f"{path}: {value!r} is not an {form} string"
    elif form == "date-time":
        assert _RFC3339.fullmatch(value), f"{path}: {value!r} is not an RFC 3339 date-time"
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif form == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            raise AssertionError(f"{path}: {value!r} is not a yyyy-mm-dd date") from None


def _allowed_values(schema: Mapping[str, Any]) -> list[str]:
    if "enum" in schema:
        return list(schema["enum"])
    description = schema.get("description", "")
    if "Possible values" not in description:
        return []
    return _DESCRIBED_VALUE.findall(description)


def _check_integer(schema: Mapping[str, Any], value: object, path: str) -> None:
    assert isinstance(value, int), f"{path}: expected an integer, got {value!r}"
    assert not isinstance(value, bool), f"{path}: expected an integer, got {value!r}"
    low, high = _INT_RANGES.get(schema.get("format", ""), (None, None))
    if low is not None and high is not None:
        assert low <= value <= high, f"{path}: {value} out of range"
