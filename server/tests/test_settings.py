"""Settings: embedded defaults and VISOR_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings


def test_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VISOR_HOST", "VISOR_DATABASE_URL", "VISOR_PLUGINS_ALLOWLIST"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.host == "127.0.0.1"
    assert settings.plugins_allowlist is None
    assert settings.resolved_database_url().startswith("sqlite:///")
    assert settings.resolved_database_url().endswith("visor.sqlite3")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VISOR_PORT", "9123")
    monkeypatch.setenv("VISOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VISOR_PLUGINS_ALLOWLIST", "image_info, ocr")
    monkeypatch.setenv("VISOR_TOOL_TIMEOUTS", '{"ocr": 30, "ocr.read_text": 10}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.port == 9123
    assert settings.data_dir == tmp_path
    assert settings.plugins_allowlist == ["image_info", "ocr"]
    assert settings.tool_timeouts == {"ocr": 30.0, "ocr.read_text": 10.0}
    monkeypatch.setenv("VISOR_PLUGINS_ALLOWLIST", '["a", "b"]')
    assert Settings(_env_file=None).plugins_allowlist == ["a", "b"]  # type: ignore[call-arg]


def test_database_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISOR_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings(_env_file=None).resolved_database_url() == "postgresql+psycopg://u@h/db"  # type: ignore[call-arg]
