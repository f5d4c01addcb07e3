"""Settings: environment variables with documented defaults, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from calhub.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [
        f"CALHUB_{name.upper()}"
        for name in Settings.model_fields
        if f"`CALHUB_{name.upper()}`" not in readme
    ]
    assert missing == []


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALHUB_PORT", "9123")
    monkeypatch.setenv("CALHUB_DATA_DIR", "/srv/calhub")
    settings = Settings()
    assert settings.port == 9123
    assert settings.resolved_key_file == Path("/srv/calhub/master.key")


def test_a_bad_value_is_refused_with_the_field_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALHUB_WORKER_CONCURRENCY", "lots")
    with pytest.raises(ValidationError, match="worker_concurrency"):
        Settings()


def test_the_database_url_is_never_shown() -> None:
    settings = Settings(database_url="postgresql://u:hunter2@db/calhub")  # type: ignore[arg-type]
    assert "hunter2" not in repr(settings)
