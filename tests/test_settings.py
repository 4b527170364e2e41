from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_use_sqlite_in_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NKWATCH_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///nkwatch.db"
    assert settings.feeds_file.name == "feeds.toml"


def test_environment_prefix_and_postgres_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NKWATCH_DATABASE_URL", "postgresql://u@127.0.0.1/db")
    monkeypatch.setenv("NKWATCH_TELEGRAM_ADMIN_IDS", "[1, 2]")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u@127.0.0.1/db"
    assert settings.telegram_admin_ids == [1, 2]


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NKWATCH_LOG_LEVEL", raising=False)
    (tmp_path / ".env").write_text("NKWATCH_LOG_LEVEL=DEBUG\n")
    assert load_settings().log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NKWATCH_DATABASE_URL", "mysql://nope"),
        ("NKWATCH_FETCH_MAX_BYTES", "lots"),
        ("NKWATCH_LOG_LEVEL", "LOUD"),
        ("NKWATCH_POLL_INTERVAL_SECONDS", "1"),
    ],
)
def test_malformed_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert name in message
    assert "\n" not in message
