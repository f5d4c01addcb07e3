"""Settings, read from ``CALHUB_*`` environment variables; every field documents its default.

The README's production section lists the same settings; a test keeps the two in step.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can set. Build one with ``Settings()`` (reads the environment)."""

    model_config = SettingsConfigDict(env_prefix="CALHUB_", frozen=True, extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host:5432/db). Unset: an embedded "
        "PostgreSQL from the pgserver wheel is started under CALHUB_DATA_DIR.",
    )
    data_dir: Path = Field(
        default=Path(".calhub"),
        description="Directory for the embedded PostgreSQL and the local key file.",
    )
    key_file: Path | None = Field(
        default=None,
        description="Local key-encryption key file (created 0600 on first run). "
        "Default: CALHUB_DATA_DIR/master.key.",
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Key-encryption key given directly as 64 hex digits (32 bytes); "
        "takes precedence over CALHUB_KEY_FILE.",
    )
    host: str = Field(default="127.0.0.1", description="Address `calhub serve` listens on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port `calhub serve` listens on.")
    worker_concurrency: int = Field(
        default=10, ge=1, le=500, description="Jobs one `calhub worker` runs at once."
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (bytes); 413 above."
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    log_json: bool = Field(default=True, description="Log as JSON lines (false: console format).")
    max_occurrences_per_window: int = Field(
        default=5000,
        ge=1,
        description="Most occurrences one recurring series may expand to in one window.",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Database connections per process.")
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The address providers and admins' browsers reach calhub at: change-"
        "notification URLs (/hooks/...) and the admin-consent redirect are built from it.",
    )
    graph_base_url: str = Field(
        default="https://graph.microsoft.com/v1.0",
        description="Microsoft Graph's base URL (an emulator's, for development).",
    )
    microsoft_login_url: str = Field(
        default="https://login.microsoftonline.com",
        description="The Microsoft identity platform's authority host.",
    )
    google_calendar_url: str = Field(
        default="https://www.googleapis.com/calendar/v3",
        description="Google Calendar API's base URL (an emulator's, for development).",
    )
    google_directory_url: str = Field(
        default="https://admin.googleapis.com/admin/directory/v1",
        description="The Admin SDK Directory API's base URL (users, rooms, buildings).",
    )
    google_token_url: str | None = Field(
        default=None,
        description="Google's OAuth token endpoint for service accounts. Unset: the token_uri "
        "of each connection's service-account key file.",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of CA certificates trusted for outbound HTTPS (corporate proxies, "
        "emulators with --tls). Unset: the system's trust store.",
    )
    mirror_days_back: int = Field(
        default=1, ge=0, le=366, description="How many days into the past the mirror keeps."
    )
    mirror_days_ahead: int = Field(
        default=180, ge=1, le=1830, description="How many days ahead the mirror reaches."
    )
    provider_requests_per_second: float = Field(
        default=50.0,
        gt=0,
        description="Request budget per connection and process towards a provider (sustained).",
    )
    provider_request_burst: int = Field(
        default=100, ge=1, description="Requests per connection and process allowed in a burst."
    )
    presence_poll_minutes: int = Field(
        default=15,
        ge=1,
        le=1440,
        description="How often each user's automatic replies (out of office) are read; Graph "
        "sends no notifications for mailbox settings.",
    )
    dispatch_tick_s: float = Field(
        default=0.25,
        gt=0,
        le=60,
        description="Longest a worker's dispatcher sleeps between looks for due join prompts "
        "(it wakes earlier for the next one due): the bound on how late a prompt fires.",
    )

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "master.key"
