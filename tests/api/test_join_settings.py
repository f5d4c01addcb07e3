"""``/api/v1/join-settings`` through the ASGI app: an admin reads the defaults, replaces them and
reads back what was stored; every mistake is a 422 problem naming the field and stores nothing;
another tenant's key never sees them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from calhub.api.routes.join_settings import JoinSettingsDocument
from calhub.bootstrap import Runtime
from calhub.domain.joinlinks.backends import JitsiRooms, WebexPersonalRoom
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.domain.joinlinks.settings_json import settings_from_json, settings_to_json
from calhub.services.apikeys import create_api_key
from calhub.services.tenants import create_tenant
from tests.api.test_errors import assert_problem

URL = "/api/v1/join-settings"

ACME: dict[str, Any] = {
    "keywords": [
        {
            "keyword": "webex",
            "backend": "webex_personal_room",
            "provider": "webex",
            "modifiers": {"space": "webex_space"},
        },
        {"keyword": "teams", "backend": "teams", "provider": "teams", "modifiers": {}},
        {"keyword": "jitsi", "backend": "jitsi", "provider": "jitsi", "modifiers": {}},
    ],
    "backends": {
        "webex_personal_room": {
            "site": "acme",
            "url_template": "https://{site}.webex.com/meet/{user}",
        },
        "jitsi": {"domain": "meet.acme.example"},
        "sip_vmr": {"uri_template": "sip:{user}@vmr.acme.example"},
        "teams": False,
    },
    "header": "Join from a video system or the app:",
    "footer": "Trouble joining? Call the service desk.",
    "write_back": True,
}


async def _tenant_auth(runtime: Runtime, name: str) -> dict[str, str]:
    tenant = await create_tenant(runtime.uow, runtime.clock, name)
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "tests")
    return {"Authorization": f"Bearer {issued.token}"}


async def test_a_tenant_that_set_nothing_gets_the_defaults(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    auth = await _tenant_auth(runtime, "Initech")
    response = await client.get(URL, headers=auth)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == settings_to_json(JoinSettings())
    assert [k["keyword"] for k in body["keywords"]] == ["webex", "meet"]
    assert body["keywords"][0]["modifiers"]["myroom"] == "webex_personal_room"
    assert body["backends"]["webex_personal_room"] is None


async def test_put_then_get_returns_what_was_stored(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    auth = await _tenant_auth(runtime, "Hooli")
    stored = await client.put(URL, json=ACME, headers=auth)

    assert stored.status_code == 200, stored.text
    assert stored.json() == ACME
    assert (await client.get(URL, headers=auth)).json() == ACME
    again = ACME | {"header": "", "keywords": []}
    assert (await client.put(URL, json=again, headers=auth)).json() == again
    assert (await client.get(URL, headers=auth)).json() == again


async def test_fields_left_out_take_their_defaults(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    auth = await _tenant_auth(runtime, "Vandelay")
    response = await client.put(
        URL,
        json={"backends": {"webex_personal_room": {"site": "vandelay"}, "jitsi": {}}},
        headers=auth,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["keywords"] == settings_to_json(JoinSettings())["keywords"]
    assert body["backends"] == {
        "webex_personal_room": {
            "site": "vandelay",
            "url_template": "https://{site}.webex.com/meet/{user}",
        },
        "jitsi": {"domain": "meet.jit.si"},
        "sip_vmr": None,
        "teams": True,
    }
    assert (body["header"], body["footer"], body["write_back"]) == ("", "", True)


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    document = settings_to_json(settings_from_json(ACME))
    target: Any = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "location", "message"),
    [
        (
            _with(("backends", "webex_personal_room", "url_template"), "http://{site}/{user}"),
            ["body", "backends", "webex_personal_room", "url_template"],
            "must be https",
        ),
        (
            _with(("backends", "sip_vmr", "uri_template"), "sip:{room}@vmr.example.com"),
            ["body", "backends", "sip_vmr", "uri_template"],
            "placeholders",
        ),
        (
            _with(("keywords", 2, "backend"), "zom"),
            ["body", "keywords", "2", "backend"],
            "unknown backend 'zom'",
        ),
        (
            _with(("keywords", 0, "modifiers", "onetime"), "zoom"),
            ["body", "keywords", "0", "modifiers", "onetime"],
            "unknown backend 'zoom'",
        ),
        (
            _with(("keywords", 1, "keyword"), "webex"),
            ["body", "keywords", "1", "keyword"],
            "'webex' appears more than once",
        ),
        (_with(("keywords", 1, "keyword"), "@Teams"), ["body", "keywords", "1", "keyword"], "name"),
        (_with(("header",), "x" * 1025), ["body", "header"], "at most 1024"),
        (_with(("footer",), "\x00"), ["body", "footer"], "control characters"),
        (_with(("write_back",), "yes"), ["body", "write_back"], "boolean"),
        (_with(("backends", "teams"), 1), ["body", "backends", "teams"], "boolean"),
        (_with(("keywords",), {"webex": "jitsi"}), ["body", "keywords"], "list"),
        (_with(("header",), 42), ["body", "header"], "string"),
        (_with(("backends", "zoom"), {}), ["body", "backends", "zoom"], "Extra inputs"),
        (ACME | {"colour": "red"}, ["body", "colour"], "Extra inputs"),
        ([ACME], ["body"], "dictionary"),
    ],
)
async def test_a_bad_document_is_a_422_naming_the_field_and_stores_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    document: object,
    location: list[str],
    message: str,
) -> None:
    auth = await _tenant_auth(runtime, "Globex")
    await client.put(URL, json=ACME, headers=auth)

    response = await client.put(URL, json=document, headers=auth)

    body = assert_problem(response, 422, "validation-failed")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert [error["location"] for error in errors] == [location], errors
    assert message in errors[0]["message"], errors
    assert (await client.get(URL, headers=auth)).json() == ACME


async def test_a_domain_refusal_reads_as_a_sentence_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    auth = await _tenant_auth(runtime, "Massive Dynamic")
    response = await client.put(URL, json=_with(("keywords", 2, "backend"), "zom"), headers=auth)

    body = assert_problem(response, 422, "validation-failed")
    assert str(body["detail"]).startswith("keywords[2].backend: unknown backend 'zom'; expected")


async def test_another_tenants_key_does_not_see_the_settings(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    acme = await _tenant_auth(runtime, "Acme Join")
    other = await _tenant_auth(runtime, "Umbrella")
    await client.put(URL, json=ACME, headers=acme)

    assert (await client.get(URL, headers=other)).json() == settings_to_json(JoinSettings())
    assert (await client.put(URL, json={"header": "Umbrella"}, headers=other)).status_code == 200
    assert (await client.get(URL, headers=acme)).json() == ACME


async def test_without_a_key_it_is_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(URL), 401, "unauthorized")
    assert_problem(await client.put(URL, json=ACME), 401, "unauthorized")
    wrong = {"Authorization": "Bearer chk_00000000000000000000000000000000_guess"}
    assert_problem(await client.get(URL, headers=wrong), 401, "unauthorized")


async def test_the_document_is_described_in_openapi(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = document["paths"][URL]

    assert {"get", "put"} <= set(operations)
    assert {"401", "422"} <= set(operations["put"]["responses"])
    schemas = document["components"]["schemas"]
    keyword = schemas["KeywordRuleDocument"]["properties"]
    assert "google_meet" in keyword["backend"]["enum"]
    header = next(s for name, s in schemas.items() if name.startswith("JoinSettingsDocument"))
    assert header["properties"]["header"]["maxLength"] == 1024


def test_the_documented_defaults_are_the_domains() -> None:
    documented = JoinSettingsDocument.model_validate(
        {"backends": {"webex_personal_room": {"site": "acme"}, "jitsi": {}}}
    ).model_dump()

    assert settings_from_json(documented) == JoinSettings(
        webex_personal_room=WebexPersonalRoom(site="acme"), jitsi=JitsiRooms()
    )
