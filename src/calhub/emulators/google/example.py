"""The example world that ships with the emulator (``data/``): the seed ``calhub emulate
google`` starts with, and its service account's key file, a development key of the emulator
only that no Google service knows. The benchmarks and the demo seed their own worlds with the
same account, so one key file opens them all.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["example_key", "example_seed", "example_service_account"]


def example_seed() -> dict[str, Any]:
    return _read("data/seed.json")


def example_key(token_uri: str) -> dict[str, Any]:
    """The example service account's key file, its ``token_uri`` an emulator's ``/token``."""
    return _read("data/service-account.json") | {"token_uri": token_uri}


def example_service_account() -> dict[str, Any]:
    """The example service account as a seed lists it: its public key and granted scopes."""
    account: dict[str, Any] = example_seed()["customers"][0]["service_accounts"][0]
    return account


def _read(name: str) -> dict[str, Any]:
    text = (resources.files("calhub.emulators.google") / name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded
