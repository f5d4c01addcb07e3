"""The settings that point calhub at an emulator served at ``origin`` (the demo, the benchmarks,
the scenario tests): one place that knows which settings name a provider's endpoints."""

from __future__ import annotations


def graph_settings(origin: str) -> dict[str, str]:
    return {"graph_base_url": f"{origin}/v1.0", "microsoft_login_url": origin}


def google_settings(origin: str) -> dict[str, str]:
    return {
        "google_calendar_url": f"{origin}/calendar/v3",
        "google_directory_url": f"{origin}/admin/directory/v1",
        "google_token_url": f"{origin}/token",
    }
