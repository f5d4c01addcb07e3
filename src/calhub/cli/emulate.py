"""``calhub emulate graph|google``: serve the offline provider emulators.

``graph``: one origin answers the identity platform (``/{tenant}/oauth2/v2.0/token``, admin
consent, OpenID metadata), Graph under ``/v1.0`` and the control API under ``/_emulator`` (see the
README). ``google``: one origin answers ``POST /token`` (service-account JWT grant with domain-wide
delegation), Calendar under ``/calendar/v3``, Directory under ``/admin/directory/v1`` and the
control API under ``/_emulator``.

The world comes from a seed file, by default the example shipped in the package. With Google's
example world, ``google`` also writes the example service account's key file (a development key
of the emulator only, shipped in the package and useless anywhere else) with its ``token_uri``
pointing at the emulator. ``--tls`` serves HTTPS with a certificate from a local CA (msal accepts
only https authorities).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import uvicorn
from fastapi import FastAPI

from calhub.cli.common import WILDCARD_HOSTS, console, run_async
from calhub.emulators.google import app as google_app
from calhub.emulators.google import errors as google_errors
from calhub.emulators.google import seed as google_seed
from calhub.emulators.google.example import example_key
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.errors import SeedInvalid
from calhub.emulators.graph.identity import advertise_authority
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.state import GraphState
from calhub.emulators.graph.tls import ensure_certificates

GOOGLE_EXAMPLE_SUBJECT = "avery@northwind.example"

app = typer.Typer(
    help="Offline emulators of the calendar providers' APIs, for development and tests.",
    no_args_is_help=True,
)


@app.command()
def graph(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9001,
    seed: Annotated[
        Path | None,
        typer.Option(
            help="Seed file (JSON: tenants, apps, users, rooms, events); "
            "default: the example seed shipped with calhub.",
            dir_okay=False,
        ),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve HTTPS with a certificate from a local CA.")
    ] = False,
    cert_dir: Annotated[
        Path,
        typer.Option(help="Where --tls keeps its CA and server certificate (made on first use)."),
    ] = Path(".calhub/emulator-tls"),
    public_authority: Annotated[
        str | None,
        typer.Option(
            help="Origin to advertise in the OpenID metadata (e.g. https://login.emu.test) when "
            "clients reach the emulator through a URL-rewriting HTTP session."
        ),
    ] = None,
) -> None:
    """Serve the Microsoft Graph (v1.0 calendar) and identity platform emulator."""
    state = GraphState(EmulatorClock())
    _load(state, seed)
    emulator = create_app(state)
    if public_authority:
        advertise_authority(emulator, public_authority)
    config, origin, ca_file = _server_config(emulator, host, port, tls, cert_dir)
    server = _AnnouncingServer(config, lambda: _announce(state, origin, ca_file))
    run_async(server.serve())


@app.command()
def google(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 9002,
    seed: Annotated[
        Path | None,
        typer.Option(
            help="Seed file (JSON: customers, service accounts, users, buildings, resources, "
            "events); default: the example seed shipped with calhub.",
            dir_okay=False,
        ),
    ] = None,
    key_file: Annotated[
        Path,
        typer.Option(
            help="Where to write the example service account's key file (example seed only).",
            dir_okay=False,
        ),
    ] = Path(".calhub/google-service-account.json"),
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve HTTPS with a certificate from a local CA.")
    ] = False,
    cert_dir: Annotated[
        Path,
        typer.Option(help="Where --tls keeps its CA and server certificate (made on first use)."),
    ] = Path(".calhub/emulator-tls"),
) -> None:
    """Serve the Google Workspace (Calendar v3, Directory, OAuth token) emulator."""
    state = GoogleState(EmulatorClock())
    source = str(seed) if seed else "the example seed"
    try:
        text = seed.read_text(encoding="utf-8") if seed else _packaged("google", "data/seed.json")
        google_seed.load_seed(state, json.loads(text))
    except OSError as exc:
        _fail(f"cannot read the seed file {source}: {exc.strerror or exc}")
    except google_errors.SeedInvalid as exc:  # before ValueError, which it is
        _fail(f"invalid seed in {source}: {exc}")
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        _fail(f"the seed file {source} is not valid JSON: {exc}")
    config, origin, ca_file = _server_config(
        google_app.create_app(state), host, port, tls, cert_dir
    )
    written = None
    if seed is None:
        key = example_key(token_uri=f"{origin}/token")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(json.dumps(key, indent=2) + "\n", encoding="utf-8")
        written = key_file.resolve()
    server = _AnnouncingServer(config, lambda: _announce_google(state, origin, ca_file, written))
    run_async(server.serve())


def _server_config(
    emulator: FastAPI, host: str, port: int, tls: bool, cert_dir: Path
) -> tuple[uvicorn.Config, str, Path | None]:
    """uvicorn's configuration, the origin clients use, and the CA file (``--tls`` only)."""
    config = uvicorn.Config(emulator, host=host, port=port, lifespan="on")
    scheme, ca_file = "http", None
    if tls:
        files = ensure_certificates(cert_dir, [] if host in WILDCARD_HOSTS else [host])
        scheme, ca_file = "https", files.ca_certificate.resolve()
        config = uvicorn.Config(
            emulator,
            host=host,
            port=port,
            lifespan="on",
            ssl_certfile=files.server_certificate,
            ssl_keyfile=files.server_key,
        )
    shown_host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    origin = f"{scheme}://{f'[{shown_host}]' if ':' in shown_host else shown_host}:{port}"
    return config, origin, ca_file


def _packaged(emulator: str, name: str) -> str:
    return (resources.files(f"calhub.emulators.{emulator}") / name).read_text(encoding="utf-8")


class _AnnouncingServer(uvicorn.Server):
    """Prints where to find the emulator once its socket is bound."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._announce()


def _load(state: GraphState, seed: Path | None) -> None:
    source = str(seed) if seed else "the example seed"
    try:
        if seed is None:
            text = _packaged("graph", "data/example-seed.json")
        else:
            text = seed.read_text(encoding="utf-8")
        load_seed(state, json.loads(text))
    except OSError as exc:
        _fail(f"cannot read the seed file {source}: {exc.strerror or exc}")
    except SeedInvalid as exc:  # before ValueError, which it is
        _fail(f"invalid seed in {source}: {exc}")
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        _fail(f"the seed file {source} is not valid JSON: {exc}")


def _fail(message: str) -> NoReturn:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


def _announce(state: GraphState, origin: str, ca_file: Path | None) -> None:
    console.print(f"\n[bold]calhub Graph emulator[/bold] at {origin}")
    console.print(f"  Graph            {origin}/v1.0")
    console.print(f"  token endpoint   {origin}/{{tenant}}/oauth2/v2.0/token")
    for tenant in state.tenants.values():
        apps = ", ".join(tenant.apps) or "no apps"
        console.print(f"  tenant           {tenant.domain} ({tenant.id}); apps: {apps}")
    console.print(f"  control API      {origin}/_emulator/  (docs at {origin}/_emulator/docs)")
    if ca_file is not None:
        console.print(f"  CA certificate   {ca_file}  (make clients trust it)")
    console.print("")


def _announce_google(
    state: GoogleState, origin: str, ca_file: Path | None, key_file: Path | None
) -> None:
    console.print(f"\n[bold]calhub Google Workspace emulator[/bold] at {origin}")
    console.print(f"  token endpoint   {origin}/token")
    console.print(f"  Calendar         {origin}/calendar/v3/")
    console.print(f"  Directory        {origin}/admin/directory/v1/")
    for customer in state.customers.values():
        accounts = ", ".join(a.client_email for a in customer.service_accounts.values())
        console.print(
            f"  customer         {customer.domain} ({customer.id}); "
            f"service accounts: {accounts or 'none'}"
        )
    console.print(f"  control API      {origin}/_emulator/  (docs at {origin}/_emulator/docs)")
    if ca_file is not None:
        console.print(f"  CA certificate   {ca_file}  (make clients trust it)")
    if key_file is not None:
        console.print(f"  example key      {key_file}  (a development key of the emulator only)")
        console.print(
            "    service_account.Credentials.from_service_account_file(\n"
            f'        "{key_file}", scopes=["https://www.googleapis.com/auth/calendar"]\n'
            f'    ).with_subject("{GOOGLE_EXAMPLE_SUBJECT}")'
        )
    console.print("")
