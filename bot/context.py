"""The application context every command and front end receives: settings plus a ready database."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import DatabaseFileError, PlatformError, as_nkwatch_error
from bot.ops import configure_logging
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, upgrade

__all__ = ["AppContext", "configure_logging", "display_url", "secret_values"]


def display_url(url: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def check_sqlite_path(url: str) -> None:
    """Refuse a SQLite file whose directory is missing, before SQLite says only "unable to open"."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database is None or database in ("", ":memory:"):
        return
    folder = Path(database).expanduser().absolute().parent
    if not folder.is_dir():
        raise DatabaseFileError(
            f"cannot open the SQLite database {database}: "
            f"directory {folder} does not exist (NKWATCH_DATABASE_URL)"
        )


@dataclass
class AppContext:
    """Built once per process; the database is migrated to head the first time it is touched."""

    settings: Settings
    upgrade_on_start: bool = True
    _upgraded: bool = field(default=False, init=False, repr=False)

    @cached_property
    def engine(self) -> Engine:
        url = self.settings.database_url
        check_sqlite_path(url)
        engine = make_engine(url, echo=self.settings.database_echo)
        if self.upgrade_on_start and not self._upgraded:
            try:
                upgrade(engine)
            except Exception as exc:
                engine.dispose()
                mapped = as_nkwatch_error(exc, database_url=display_url(url))
                if isinstance(mapped, PlatformError):
                    raise mapped from exc
                raise
            self._upgraded = True
        return engine

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret, so the log filter can scrub it wherever it appears."""
    secrets = (
        settings.telegram_token,
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
    )
    return [s.get_secret_value() for s in secrets if s is not None]
