"""The application context every command and front end receives: settings plus a ready database."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from storage.db import make_engine, make_session_factory, upgrade

log = logging.getLogger(__name__)


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


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Third-party chatter that would drown the bot's own lines.
    for noisy in ("httpx", "apscheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
