"""``calhub connect microsoft`` and ``calhub connections ...`` against a real database and, for
``verify``, the live Graph emulator: the consent URL is printed, secrets never are."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from calhub.bootstrap import bootstrap
from calhub.cli.main import app
from calhub.domain.ids import TenantId
from calhub.settings import Settings
from tests.emulators.graph.certificates import make_app_certificate
from tests.emulators.graph.seeds import APP_ID, APP_SECRET
from tests.hub_fixtures import LiveGraph, connect_contoso


@pytest.fixture
def env(fresh_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "CALHUB_DATABASE_URL": fresh_database_url,
        "CALHUB_DATA_DIR": str(tmp_path),
        "CALHUB_LOG_LEVEL": "warning",
        "CALHUB_PUBLIC_BASE_URL": "https://calhub.example",
        "CONTOSO_SECRET": APP_SECRET,
    }


def _run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def _tenant(env: dict[str, str]) -> str:
    return _run(env, "tenant", "create", "Acme").strip().splitlines()[-1]


def test_connect_prints_the_consent_url_and_never_the_secret(env: dict[str, str]) -> None:
    tenant = _tenant(env)
    output = _run(
        env,
        "connect", "microsoft", "--tenant", tenant, "--client-id", APP_ID,
        "--client-secret-env", "CONTOSO_SECRET", "--microsoft-tenant", "contoso.test",
        "--mailbox", "Adele@contoso.test",
    )  # fmt: skip

    url = next(line for line in output.splitlines() if line.startswith("https://"))
    assert url.startswith("https://login.microsoftonline.com/contoso.test/adminconsent?")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["client_id"] == APP_ID
    assert query["redirect_uri"] == (
        "https://calhub.example/api/v1/connections/microsoft/consent-callback"
    )
    assert APP_SECRET not in output

    listed = _run(env, "connections", "list", "--tenant", tenant)
    connection_id, status, microsoft, client_id = listed.strip().split("\t")
    assert (status, microsoft, client_id) == ("consent_pending", "contoso.test", APP_ID)
    shown = json.loads(_run(env, "connections", "show", "--tenant", tenant, connection_id))
    assert shown["scope"] == {"kind": "mailboxes", "mailboxes": ["adele@contoso.test"]}
    assert shown["credentials"]["type"] == "client_secret"
    fresh = json.loads(
        _run(env, "connections", "consent-link", "--tenant", tenant, connection_id, "--json")
    )
    assert fresh["consent_url"] != url  # a new single-use state
    for text in (listed, json.dumps(shown), json.dumps(fresh)):
        assert APP_SECRET not in text


def test_connect_with_a_certificate_or_a_secret_file(env: dict[str, str], tmp_path: Path) -> None:
    tenant = _tenant(env)
    certificate = make_app_certificate()
    key_file = tmp_path / "app.key"
    key_file.write_text(certificate.private_pem)
    thumbprint = "AB" * 20
    args = [
        "connect", "microsoft", "--tenant", tenant, "--client-id", APP_ID,
        "--certificate-key", str(key_file), "--thumbprint", thumbprint, "--json",
    ]  # fmt: skip
    created = json.loads(_run(env, *args))
    assert created["credentials"] == {
        "client_id": APP_ID,
        "type": "certificate",
        "certificate_thumbprint": thumbprint.lower(),
    }
    assert "PRIVATE KEY" not in json.dumps(created)

    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(f"{APP_SECRET}\n")
    output = _run(
        env,
        "connect", "microsoft", "--tenant", tenant, "--client-id", APP_ID,
        "--client-secret-file", str(secret_file),
    )  # fmt: skip
    assert "adminconsent" in output
    assert APP_SECRET not in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "give one of"),
        (["--client-secret-env", "CONTOSO_SECRET", "--client-secret-file", "x"], "give one of"),
        (["--client-secret-env", "NOT_SET_ANYWHERE"], "not set"),
        (["--certificate-key", "x.pem", "--thumbprint", "zz"], "40 hex digits"),
        (["--client-secret-env", "CONTOSO_SECRET", "--mailbox", "nobody"], "e-mail addresses"),
    ],
)
def test_bad_credentials_or_scope_are_refused(
    env: dict[str, str], extra: list[str], message: str
) -> None:
    tenant = _tenant(env)
    args = ["connect", "microsoft", "--tenant", tenant, "--client-id", APP_ID, *extra]
    output = _run(env, *args, code=2)
    assert message in " ".join(output.replace("│", " ").split())  # unwrap rich's box
    assert "consent_pending" not in _run(env, "connections", "list", "--tenant", tenant)


def test_verify_reports_each_permission(
    env: dict[str, str], live_graph: LiveGraph, fresh_database_url: str, tmp_path: Path
) -> None:
    live = env | {
        "CALHUB_GRAPH_BASE_URL": f"{live_graph.origin}/v1.0",
        "CALHUB_MICROSOFT_LOGIN_URL": live_graph.origin,
        "CALHUB_CA_BUNDLE": str(live_graph.ca_bundle),
    }
    tenant = _tenant(live)
    settings = Settings(database_url=SecretStr(fresh_database_url), data_dir=tmp_path)

    async def consented() -> str:
        async with bootstrap(settings) as runtime:
            connection = await connect_contoso(runtime.hub, TenantId(uuid.UUID(tenant)))
            return str(connection.id)

    connection_id = asyncio.run(consented())
    args = ["connections", "verify", "--tenant", tenant, connection_id, "--mailbox"]

    adele = _run(live, *args, "adele@contoso.test")
    megan = _run(live, *args, "megan@contoso.test", code=1)

    assert adele.count("ok  ") == 3
    assert (
        "FAIL  Can read calendars (Calendars.ReadWrite): No: the tenant's application access "
        "policy blocks" in megan
    )
    missing = _run(live, "connections", "show", "--tenant", tenant, str(uuid.uuid4()), code=1)
    assert "no such connection" in missing
    assert "one e-mail address" in _run(live, *args, "../users/x@contoso.test", code=2)
