"""The Google Workspace half of ``calhub demo``: the Fabrikam customer on the Google emulator,
connected to the demo tenant next to Northwind's Microsoft 365 (one tenant, two providers).

The emulator is served in the demo's process over HTTPS with the same local CA as the Graph
emulator, seeded with ``emulators.google.demo_seed`` (a week of meetings from today) and the
emulator's example service account, whose development key ships with calhub and opens nothing
real. calhub connects as an admin would: the key file and the Workspace administrator it acts
as; the emulator has the domain-wide delegation granted already, so the connection is active at
once and discovery runs.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import typer

from calhub.bootstrap import Runtime
from calhub.cli.common import console
from calhub.domain.calendars import ProviderKind
from calhub.domain.ids import TenantId
from calhub.emulators.google.demo_seed import ADMIN, DEMO_DOMAIN, PEOPLE, ROOMS, demo_seed
from calhub.emulators.google.example import example_key, example_service_account
from calhub.emulators.google.seed import load_seed
from calhub.emulators.google.state import GoogleState
from calhub.emulators.graph.clock import EmulatorClock
from calhub.emulators.graph.serving import bind_loopback, https_origin
from calhub.services import connections
from calhub.services.google_connections import create_google_connection
from calhub.services.providers import GoogleCredentials


@dataclass(frozen=True, slots=True)
class GoogleDemo:
    state: GoogleState
    listener: socket.socket
    origin: str


def prepare_google() -> GoogleDemo:
    state = GoogleState(EmulatorClock())
    load_seed(state, demo_seed(state.clock.now(), example_service_account()))
    listener = bind_loopback()
    return GoogleDemo(state, listener, https_origin(listener))


async def connect_google(runtime: Runtime, tenant_id: TenantId, demo: GoogleDemo) -> None:
    """A fresh Google connection for the demo tenant; the last run's goes with its world."""
    hub = runtime.hub
    previous = [
        c
        for c in await connections.list_connections(hub, tenant_id)
        if c.provider is ProviderKind.GOOGLE
    ]
    key = example_key(token_uri=f"{demo.origin}/token")
    outcome = await create_google_connection(
        hub, tenant_id, GoogleCredentials(key, ADMIN.address), domain=DEMO_DOMAIN
    )
    if not outcome.delegation.granted:
        console.print(f"[red]the demo could not connect to Google: {outcome.delegation.message}")
        raise typer.Exit(1)
    for stale in previous:
        await connections.delete_connection(hub, tenant_id, stale.id)


def announce_google_sync() -> None:
    console.print(
        f"            Google Workspace {DEMO_DOMAIN} (emulated): {len(PEOPLE)} users, "
        f"{len(ROOMS)} rooms, Meet meetings and an out-of-office day; syncing now"
    )


def announce_google_emulator(demo: GoogleDemo) -> None:
    emu = demo.origin
    console.print(f"\n[bold]Google emulator[/bold] at {emu}  (control API: {emu}/_emulator/docs)")
    console.print(
        f"  customer  {DEMO_DOMAIN}, service account "
        f"{example_service_account()['client_email']} acting as {ADMIN.address}"
    )
