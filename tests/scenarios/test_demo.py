"""``calhub demo`` on embedded defaults: serves, prints a working key, connects one tenant to its
seeded Graph and Google emulators and syncs both (a change in Graph reaches calhub by
notification), and on SIGTERM stops the API, the emulators and its PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from calhub.emulators.google import demo_seed as google_demo
from calhub.emulators.graph.demo_seed import (
    DEMO_APP_ID,
    DEMO_APP_SECRET,
    DEMO_TENANT_ID,
    PEOPLE,
    ROOMS,
)

SYNC_TIMEOUT_S = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _postmaster_running(data_dir: Path) -> bool:
    return (data_dir / "pg" / "postmaster.pid").exists()


def _wait_for(what: str, check: Any, timeout: float = SYNC_TIMEOUT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.25)
    return found


def _calendars(base: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/calendars", headers=headers)
    assert response.status_code == 200, response.text
    calendars: list[dict[str, Any]] = response.json()["calendars"]
    return calendars


def _all_synced(base: str, headers: dict[str, str]) -> list[dict[str, Any]] | None:
    calendars = _calendars(base, headers)
    everyone = len(PEOPLE) + len(ROOMS) + len(google_demo.PEOPLE) + len(google_demo.ROOMS)
    synced = len(calendars) == everyone and all(c["sync"]["last_synced_at"] for c in calendars)
    return calendars if synced else None


def _add_meeting(emulator: str, tls: ssl.SSLContext, mailbox: str) -> None:
    """What the demo tells a newcomer to do: a token by client credentials, then a POST."""
    token = httpx.post(
        f"{emulator}/{DEMO_TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEMO_APP_ID,
            "client_secret": DEMO_APP_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls,
    ).json()["access_token"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    created = httpx.post(
        f"{emulator}/v1.0/users/{mailbox}/events",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "subject": "Coffee",
            "start": {"dateTime": f"{tomorrow}T15:00:00", "timeZone": "UTC"},
            "end": {"dateTime": f"{tomorrow}T15:30:00", "timeZone": "UTC"},
        },
        verify=tls,
    )
    assert created.status_code == 201, created.text


def _refuses_connections(origin: str, tls: ssl.SSLContext) -> bool:
    try:
        httpx.get(f"{origin}/_emulator/state", verify=tls, timeout=2)
    except httpx.ConnectError:
        return True
    return False


@pytest.mark.slow
def test_demo_syncs_its_emulated_tenant_and_cleans_up(tmp_path: Path) -> None:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALHUB_")} | {
        "CALHUB_PORT": str(port),
        "CALHUB_LOG_LEVEL": "warning",
    }
    log = (tmp_path / "demo.log").open("w+")
    demo = subprocess.Popen(
        [sys.executable, "-m", "calhub", "demo"], cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert demo.poll() is None, Path(log.name).read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "demo did not come up within 60 s"
            time.sleep(0.2)
        output = Path(log.name).read_text()
        token = re.search(r"API key\s+(chk_\S+)", output)
        assert token, output
        headers = {"Authorization": f"Bearer {token.group(1)}"}
        tenant = httpx.get(f"{base}/api/v1/tenant", headers=headers)
        assert tenant.json()["name"] == "Demo Organisation"
        assert _postmaster_running(tmp_path / ".calhub")
        assert (tmp_path / ".calhub" / "master.key").stat().st_mode & 0o777 == 0o600

        calendars = _wait_for(
            "every user's and room's calendar synced", lambda: _all_synced(base, headers)
        )
        rooms = [c for c in calendars if c["kind"] == "room"]
        assert len(rooms) == len(ROOMS) + len(google_demo.ROOMS)
        assert len({c["connection_id"] for c in calendars}) == 2  # Microsoft 365 and Google
        lagoon = next(c for c in rooms if c["email"] == google_demo.LAGOON.address)
        assert lagoon["name"] == "Lagoon"
        assert lagoon["room"]["capacity"] == google_demo.LAGOON.capacity
        assert lagoon["room"]["building"] == "Fabrikam Lisbon"

        emulator = re.search(r"Graph emulator\s+at\s+(https://\S+)", output)
        assert emulator, output
        tls = ssl.create_default_context(cafile=str(tmp_path / ".calhub/emulator-tls/ca.pem"))
        _add_meeting(emulator.group(1), tls, "adele@northwind.example")

        def adele_notified() -> bool:
            adele = [
                c for c in _calendars(base, headers) if c["email"] == "adele@northwind.example"
            ]
            return bool(adele[0]["sync"]["last_notification_at"])

        _wait_for("the emulator's change notification reached calhub", adele_notified)

        # The Board Room's device feed, live in the demo's output: the @webex kickoff with the
        # join details calhub wrote (its prompt comes about two minutes after the start).
        # Only the text after the feed's heading counts: the demo's curl hint names Adele too.
        def kickoff_on_the_device() -> bool:
            _, heading, feed = Path(log.name).read_text().partition("Board Room device")
            return bool(heading) and all(
                text in feed for text in ("kickoff", "Webex", "adele@northwi")
            )

        _wait_for(
            "the Board Room's device feed showing the kickoff's join details", kickoff_on_the_device
        )
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
        log.close()
    assert not _postmaster_running(tmp_path / ".calhub"), "embedded PostgreSQL left running"
    assert _refuses_connections(emulator.group(1), tls), "the Graph emulator is still serving"
    google = re.search(r"Google emulator\s+at\s+(https://\S+)", output)
    assert google, output
    assert _refuses_connections(google.group(1), tls), "the Google emulator is still serving"
