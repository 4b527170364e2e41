"""The application context every command and front end receives: settings plus a ready database."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.ops import configure_logging
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, upgrade

__all__ = ["AppContext", "configure_logging", "secret_values"]


@dataclass
class AppContext:
    """Built once per process; the database is migrated to head the first time it is touched."""

    settings: Settings
    upgrade_on_start: bool = True
    _upgraded: bool = field(default=False, init=False, repr=False)

    @cached_property
    def engine(self) -> Engine:
        engine = make_engine(self.settings.database_url, echo=self.settings.database_echo)
        if self.upgrade_on_start and not self._upgraded:
            upgrade(engine)
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
