"""One settings object, read from the environment (prefix ``NKWATCH_``) and ``.env``.

Built once at start-up and passed down; nothing deeper in the code reads the environment.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = Path(__file__).resolve().parent / "config"  # package data: travels in the wheel


class SettingsError(ConfigError):
    """A setting is missing or malformed; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NKWATCH_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    # storage
    database_url: str = "sqlite:///nkwatch.db"
    database_echo: bool = False

    # configuration files
    feeds_file: Path = CONFIG_DIR / "feeds.toml"
    lexicon_file: Path = CONFIG_DIR / "lexicon.toml"
    topics_file: Path = CONFIG_DIR / "topics.toml"

    # logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"  # -v: INFO
    log_format: Literal["text", "json"] = "text"

    # operations
    ops_host: str = "127.0.0.1"
    ops_port: int | None = Field(default=None, ge=0, le=65535)  # health + metrics when set
    retention_days: int | None = Field(default=None, ge=1)  # clear article text older than this

    # feed polling
    poll_interval_seconds: int = Field(default=900, ge=30)
    poll_tick_seconds: float = Field(default=60.0, ge=1)  # how often due feeds are looked for
    # A claimed feed is not due for other processes until this runs out (or its poll ends); it
    # must outlast one feed's worst poll: a fetch's deadline (connect + 4 x read timeout, 90 s
    # by default), plus one more per new story in full-text mode.
    poll_lease_seconds: int = Field(default=1800, ge=1)
    fetch_connect_timeout: float = Field(default=10.0, gt=0)
    fetch_read_timeout: float = Field(default=20.0, gt=0)
    fetch_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    fetch_max_redirects: int = Field(default=5, ge=0)
    fetch_concurrency: int = Field(default=16, ge=1)
    fetch_per_host: int = Field(default=2, ge=1)
    fetch_full_text: bool = False
    # Entries kept from one poll of one feed (feeds list newest first); the rest are dropped.
    poll_max_entries: int = Field(default=1000, ge=1)
    user_agent: str = "nkwatch/0.1 (+https://github.com/nkwatch/nkwatch; feed monitor)"
    backoff_base_seconds: int = Field(default=60, ge=1)
    backoff_max_seconds: int = Field(default=6 * 3600, ge=1)
    max_consecutive_failures: int = Field(default=10, ge=1)
    allow_private_feeds: bool = False
    relevance_threshold: float = Field(default=1.0, ge=0)

    # claim engine
    semantic: Literal["auto", "on", "off"] = "auto"
    # claim index directory (tantivy + faiss); default: beside the SQLite file, or for
    # PostgreSQL under $XDG_DATA_HOME/nkwatch/ (one directory per database URL)
    index_dir: Path | None = None

    # chat front ends
    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    telegram_admin_ids: list[int] = Field(default_factory=list)
    telegram_webhook_url: str | None = None  # webhook mode instead of long polling when set
    telegram_webhook_listen: str = "0.0.0.0"  # noqa: S104 - a webhook must be reachable
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None
    telegram_digest_interval_seconds: float = Field(default=60, ge=5)  # instant-alert tick
    # Long polling: one process polls Telegram (the holder of this lease, renewed every third
    # of it); another takes over at most this long after the holder dies.
    telegram_polling_lease_seconds: float = Field(default=30, ge=3)
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_base_url: str | None = None
    slack_mode: Literal["auto", "socket", "http"] = "auto"
    slack_host: str = "0.0.0.0"  # noqa: S104 - Slack must reach HTTP mode
    slack_port: int = Field(default=3000, ge=0, le=65535)
    slack_path: str = "/slack/events"
    slack_admin_ids: list[str] = Field(default_factory=list)
    slack_digest_interval_seconds: float = Field(default=60, ge=5)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            msg = "must be a sqlite:/// or postgresql:// URL"
            raise ValueError(msg)
        if value.startswith(("postgres:", "postgresql://")):
            # SQLAlchemy's default PostgreSQL driver is psycopg2; we ship psycopg 3.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        try:
            make_url(value)
        except ArgumentError:
            shown = re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", value)  # no password in logs
            msg = (
                f"cannot parse {shown!r} as a database URL "
                "(sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://host/db)"
            )
            raise ValueError(msg) from None
        return value

    def index_path(self) -> Path | None:
        """Where the claim index lives: ``index_dir``, else beside a SQLite file
        (``nkwatch.db.index``), else (PostgreSQL) under the XDG data directory, one directory
        per database URL (schema included); None (in memory) for an in-memory SQLite database."""
        if self.index_dir is not None:
            return self.index_dir
        url = self.database_url
        if url.startswith("sqlite"):
            target = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
            if not target or target == ":memory:":
                return None
            return Path(target).with_name(Path(target).name + ".index")
        safe = re.sub(r"//[^@/]*@", "//", url)  # the password stays out of the digest's input
        digest = hashlib.sha256(safe.encode()).hexdigest()[:16]
        data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        return Path(data_home) / "nkwatch" / f"index-{digest}"


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's report into one line that names the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "NKWATCH_" + str(first["loc"][0]).upper() if first["loc"] else "NKWATCH_*"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"setting {name} is invalid: {reason}") from exc
