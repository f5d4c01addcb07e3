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

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "master.key"
