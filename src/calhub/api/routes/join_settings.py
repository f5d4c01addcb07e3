"""``/api/v1/join-settings``: the tenant's keywords, meeting backends and join-block frame (issue 5,
"Meetings for keyword invites" and "Write-back").

``GET`` answers the whole document, defaults included; ``PUT`` replaces it (fields left out take
their defaults) and answers what is stored. The models below document the JSON shape of
``calhub.domain.joinlinks.settings_json`` and check JSON types; what the values mean (known
backends, keyword names, templates, lengths) is checked by the domain, whose refusal names the
field: a 422 ``validation-failed`` problem with the field's location in ``errors``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from calhub.api.dependencies import ApiKeyDep, RuntimeDep
from calhub.api.service_errors import problems_from_services
from calhub.domain.joinlinks.settings import MAX_FRAME_CHARS, JoinSettings
from calhub.domain.joinlinks.settings_json import (
    KNOWN_BACKENDS,
    MAX_KEYWORDS,
    MAX_MODIFIERS,
    settings_to_json,
)
from calhub.services.join_settings import get_join_settings, set_join_settings

router = APIRouter(prefix="/api/v1", tags=["join settings"])

BackendName = Annotated[
    str, Field(description="A meeting backend.", json_schema_extra={"enum": list(KNOWN_BACKENDS)})
]
_STRICT = ConfigDict(extra="forbid", strict=True)


class KeywordRuleDocument(BaseModel):
    """``@<keyword>`` in an invite's Location asks ``backend`` for a meeting."""

    model_config = _STRICT

    keyword: str = Field(
        description="Lower-case letters and digits, at most 32, without '@'.", examples=["teams"]
    )
    backend: BackendName
    provider: str = Field(
        description="The provider the join details will name (e.g. 'webex', 'teams', 'jitsi').",
        examples=["teams"],
    )
    modifiers: dict[str, BackendName] = Field(
        default_factory=dict,
        max_length=MAX_MODIFIERS,
        description="'@<keyword>:<modifier>' asks another backend; unknown modifiers fall back "
        "to 'backend'.",
        examples=[{"myroom": "webex_personal_room", "space": "webex_space"}],
    )


class WebexPersonalRoomDocument(BaseModel):
    model_config = _STRICT

    site: str = Field(description="The Webex site's host label: 'acme' for acme.webex.com.")
    url_template: str = Field(
        default="https://{site}.webex.com/meet/{user}",
        description="https URL; {site} and {user} (the Personal Room ID) are filled in.",
    )


class JitsiDocument(BaseModel):
    model_config = _STRICT

    domain: str = Field(default="meet.jit.si", description="Host of the Jitsi Meet server.")


class SipVirtualRoomDocument(BaseModel):
    model_config = _STRICT

    uri_template: str = Field(
        description="A SIP URI; {user} is the organizer's room id.",
        examples=["sip:{user}@vmr.example.com"],
    )


class BackendsDocument(BaseModel):
    """How each template backend makes meetings; ``null`` leaves it unconfigured (a keyword that
    asks for it is then reported as not configured, never guessed)."""

    model_config = _STRICT

    webex_personal_room: WebexPersonalRoomDocument | None = None
    jitsi: JitsiDocument | None = None
    sip_vmr: SipVirtualRoomDocument | None = None
    teams: bool = Field(
        default=True, description="Keyword invites may ask the provider for a Teams meeting."
    )


def _default_keywords() -> list[KeywordRuleDocument]:
    keywords = settings_to_json(JoinSettings())["keywords"]
    return [KeywordRuleDocument.model_validate(keyword) for keyword in keywords]


class JoinSettingsDocument(BaseModel):
    """A tenant's join settings. In a PUT, fields left out take the defaults shown."""

    model_config = _STRICT

    keywords: list[KeywordRuleDocument] = Field(
        default_factory=_default_keywords,
        max_length=MAX_KEYWORDS,
        description="Keywords recognised in Location; left out: @webex and @meet with the "
        ":myroom, :space and :onetime modifiers; [] turns keywords off.",
    )
    backends: BackendsDocument = Field(default_factory=BackendsDocument)
    header: str = Field(
        default="", max_length=MAX_FRAME_CHARS, description="Plain text above the join details."
    )
    footer: str = Field(
        default="", max_length=MAX_FRAME_CHARS, description="Plain text below the join details."
    )
    write_back: bool = Field(
        default=True, description="false: detect and store joins, never edit invites."
    )


def _document(settings: JoinSettings) -> JoinSettingsDocument:
    return JoinSettingsDocument.model_validate(settings_to_json(settings))


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or a wrong API key (problem+json)."},
    422: {
        "description": "A field has the wrong type or value; 'detail' and 'errors' name it "
        "(problem+json). Nothing is stored."
    },
}


@router.get(
    "/join-settings",
    response_model=JoinSettingsDocument,
    summary="The tenant's join settings (defaults if never set)",
    responses={401: _PROBLEMS[401]},
)
async def read_join_settings(runtime: RuntimeDep, api_key: ApiKeyDep) -> JoinSettingsDocument:
    with problems_from_services():
        return _document(await get_join_settings(runtime.uow, api_key.tenant_id))


@router.put(
    "/join-settings",
    response_model=JoinSettingsDocument,
    summary="Replace the tenant's join settings; answers what is stored",
    responses=_PROBLEMS,
)
async def replace_join_settings(
    document: JoinSettingsDocument, runtime: RuntimeDep, api_key: ApiKeyDep
) -> JoinSettingsDocument:
    with problems_from_services():
        settings = await set_join_settings(
            runtime.uow,
            api_key.tenant_id,
            document.model_dump(exclude_unset=True),
            runtime.clock.now(),
        )
    return _document(settings)
