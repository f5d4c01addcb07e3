"""What ``calhub demo`` adds around the API: seeded Graph and Google emulators, both connected
to one tenant and syncing.

The demo serves the Graph emulator in its own process, over HTTPS on a loopback port (calhub
reaches Microsoft only through msal, which accepts only https authorities; client-recipes.md §2),
seeded with ``demo_seed``: the Northwind tenant's users, rooms and a week of meetings from today.
calhub's settings are pointed at it (Graph, login, CA bundle) and at the demo's own address, so
the emulator's change notifications reach ``/hooks/microsoft``. Then the admin's path of issue 4,
"Connect", is walked through: a connection, its consent link, the emulator's admin-consent
redirect, ``complete_consent``; discovery is queued and the demo's worker discovers, subscribes
and syncs every calendar. The same tenant gets a Google Workspace connection to Fabrikam, the
subsidiary on Google (``demo_google``). Each start makes fresh emulator worlds, so the
connections of the previous run are replaced by new ones (one per provider, however often the
demo restarts).

The tenant's ``@webex`` keyword makes Webex Personal Room meetings on the ``northwind`` site.
Once discovery has found the Board Room, ``show_device_feed`` registers a device for it and
follows its feed as ``calhub device simulate`` does, printing its bookings as they change and
the join prompt of the seeded "Project kickoff" about two minutes after the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import typer

from calhub.bootstrap import Runtime
from calhub.cli.common import WILDCARD_HOSTS, console
from calhub.cli.demo_google import (
    GoogleDemo,
    announce_google_emulator,
    announce_google_sync,
    connect_google,
    prepare_google,
)
from calhub.cli.device_simulate import simulate_device
from calhub.cli.emulated import google_settings, graph_settings
from calhub.domain.calendars import ProviderKind
from calhub.domain.devices import DeviceKind
from calhub.domain.ids import TenantId
from calhub.domain.joinlinks.backends import WebexPersonalRoom
from calhub.domain.joinlinks.settings import JoinSettings
from calhub.emulators.google.app import create_app as create_google_app
from calhub.emulators.graph.app import create_app
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.demo_seed import (
    BOARDROOM,
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_DOMAIN,
    DEMO_TENANT_ID,
    PEOPLE,
    ROOMS,
    demo_seed,
)
from calhub.emulators.graph.seed import load_seed
from calhub.emulators.graph.serving import LOOPBACK, bind_loopback, https_origin, serving
from calhub.emulators.graph.state import GraphState
from calhub.emulators.graph.tls import TlsFiles, ensure_certificates
from calhub.providers.msgraph.auth import ClientSecret
from calhub.services import connections
from calhub.services.apikeys import create_api_key
from calhub.services.devices import DeviceRejected, register_device
from calhub.services.providers import MicrosoftCredentials
from calhub.services.tenants import create_tenant, list_tenants
from calhub.settings import Settings

DEMO_TENANT = "Demo Organisation"
SHUTDOWN_GRACE_S = 3  # then requests still running on the emulator are cancelled


@dataclass(frozen=True, slots=True)
class DemoEmulator:
    """The seeded emulators, their bound sockets and the settings that point calhub at them."""

    state: GraphState
    listener: socket.socket
    origin: str
    tls: TlsFiles
    settings: Settings
    google: GoogleDemo

    @property
    def ca_file(self) -> Path:
        return self.tls.ca_certificate.resolve()


def prepare_emulator(settings: Settings) -> DemoEmulator:
    """Seed the emulators, bind their ports and derive the demo's settings from ``settings``."""
    state = GraphState(EmulatorClock())
    load_seed(state, demo_seed(state.clock.now()))
    files = ensure_certificates(settings.data_dir / "emulator-tls")
    listener = bind_loopback()
    origin = https_origin(listener)
    google = prepare_google()
    host = LOOPBACK if settings.host in WILDCARD_HOSTS else settings.host
    overrides = {
        **graph_settings(origin),
        **google_settings(google.origin),
        "ca_bundle": files.ca_certificate.resolve(),
        "public_base_url": f"http://{host}:{settings.port}",
    }
    return DemoEmulator(
        state=state,
        listener=listener,
        origin=origin,
        tls=files,
        settings=settings.model_copy(update=overrides),
        google=google,
    )


@contextlib.asynccontextmanager
async def running_emulator(emulator: DemoEmulator) -> AsyncIterator[None]:
    """Serve the emulators until the block ends."""
    graph = create_app(emulator.state)
    google = create_google_app(emulator.google.state)
    grace = SHUTDOWN_GRACE_S
    async with (
        serving(graph, emulator.listener, emulator.tls, shutdown_grace_s=grace),
        serving(google, emulator.google.listener, emulator.tls, shutdown_grace_s=grace),
    ):
        yield


async def set_up_demo(runtime: Runtime, emulator: DemoEmulator) -> TenantId:
    """The demo tenant, a fresh API key and working connections to both emulators; prints
    what a newcomer needs."""
    tenants = [t for t in await list_tenants(runtime.uow) if t.name == DEMO_TENANT]
    tenant = tenants[0] if tenants else await create_tenant(runtime.uow, runtime.clock, DEMO_TENANT)
    issued = await create_api_key(runtime.uow, runtime.clock, tenant.id, "demo")
    async with runtime.uow() as uow:
        settings = JoinSettings(webex_personal_room=WebexPersonalRoom(site="northwind"))
        await uow.join_settings.put(tenant.id, settings, runtime.clock.now())
        await uow.commit()
    await _connect(runtime, tenant.id, emulator)
    await connect_google(runtime, tenant.id, emulator.google)
    _announce(runtime, emulator, tenant.name, str(tenant.id), issued.token)
    return tenant.id


async def show_device_feed(runtime: Runtime, tenant_id: TenantId) -> None:
    """Register the Board Room's device once discovery has found the room, then show its
    bookings and join prompts live, as ``calhub device simulate`` does, until cancelled."""
    while True:
        try:
            issued = await register_device(
                runtime.hub,
                tenant_id,
                kind=DeviceKind.ROOM,
                calendar=BOARDROOM.address,
                name=f"{BOARDROOM.name} codec",
            )
            break
        except DeviceRejected:  # the room is not discovered yet
            await asyncio.sleep(1)
    device = issued.device.id
    console.print(
        f"\n[bold]{BOARDROOM.name} device[/bold] {device}: its feed follows; in another "
        f"terminal: calhub device simulate --device {device} --token {issued.token}\n"
    )
    url = runtime.settings.public_base_url
    async with httpx.AsyncClient(trust_env=False) as probe:
        while True:
            try:
                if (await probe.get(f"{url}/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    await simulate_device(
        url, issued.token, str(device), as_json=False, exit_after=None, timeout_s=None
    )


async def _connect(runtime: Runtime, tenant_id: TenantId, emulator: DemoEmulator) -> None:
    hub = runtime.hub
    previous = [
        c
        for c in await connections.list_connections(hub, tenant_id)
        if c.provider is ProviderKind.MSGRAPH
    ]
    credentials = MicrosoftCredentials(DEMO_APP_ID, ClientSecret(DEMO_APP_SECRET))
    connection = await connections.create_microsoft_connection(
        hub, tenant_id, credentials, tenant_hint=DEMO_DOMAIN
    )
    link = await connections.consent_link(hub, tenant_id, connection.id)
    tls = ssl.create_default_context(cafile=str(emulator.ca_file))
    async with httpx.AsyncClient(verify=tls, trust_env=False) as browser:
        answer = await browser.get(link.url)  # the emulator's admin approves at once
    location = answer.headers.get("location", "")
    outcome = await connections.complete_consent(hub, dict(parse_qsl(urlsplit(location).query)))
    if not outcome.granted:
        console.print(f"[red]the demo could not connect to the emulator: {outcome.message}[/red]")
        raise typer.Exit(1)
    # The last run's emulator world is gone with its process; its connection and mirror go too
    # (after the consent, so unsubscribing meets a consented app and just finds nothing).
    for stale in previous:
        await connections.delete_connection(hub, tenant_id, stale.id)


def _announce(runtime: Runtime, emulator: DemoEmulator, name: str, tenant: str, key: str) -> None:
    url = runtime.settings.public_base_url
    emu, ca = emulator.origin, emulator.ca_file
    auth = f"-H 'Authorization: Bearer {key}'"
    console.print(f"\n[bold]calhub demo[/bold] at {url}")
    console.print(f"  tenant    {name} ({tenant})")
    console.print(f"  API key   {key}")
    console.print(
        f"  synced    Microsoft 365 tenant {DEMO_DOMAIN} (emulated): {len(PEOPLE)} users, "
        f"{len(ROOMS)} rooms, a week of meetings from today; syncing now"
    )
    announce_google_sync()
    console.print(f"  try       curl {auth} {url}/api/v1/calendars")
    console.print(f"            curl {auth} {url}/api/v1/tenant")
    console.print(f"  docs      {url}/docs    health {url}/healthz")
    console.print(f"\n[bold]Graph emulator[/bold] at {emu}  (control API: {emu}/_emulator/docs)")
    console.print(f"  tenant    {DEMO_DOMAIN} ({DEMO_TENANT_ID}), app {DEMO_APP_ID}")
    console.print(f"  CA file   {ca}")
    console.print(
        "  add a meeting to Adele's calendar and watch /api/v1/calendars report its sync:"
    )
    token_request = (
        f"curl -s --cacert {ca} {emu}/{DEMO_TENANT_ID}/oauth2/v2.0/token "
        f"-d grant_type=client_credentials -d client_id={DEMO_APP_ID} "
        f"-d client_secret={DEMO_APP_SECRET} -d scope=https://graph.microsoft.com/.default"
    )
    json_field_reader = (
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    tomorrow = (runtime.clock.now().astimezone(UTC) + timedelta(days=1)).date().isoformat()
    meeting = (
        '{"subject": "Coffee", '
        f'"start": {{"dateTime": "{tomorrow}T15:00:00", "timeZone": "UTC"}}, '
        f'"end": {{"dateTime": "{tomorrow}T15:30:00", "timeZone": "UTC"}}}}'
    )
    console.print(f"    TOKEN=$({token_request} | {json_field_reader})")
    console.print(
        f'    curl -s --cacert {ca} -H "Authorization: Bearer $TOKEN" '
        f"-H 'Content-Type: application/json' "
        f"{emu}/v1.0/users/adele@{DEMO_DOMAIN}/events -d '{meeting}'\n"
    )
    announce_google_emulator(emulator.google)
