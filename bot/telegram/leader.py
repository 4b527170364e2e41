"""Long polling by one ``nkwatch run`` process at a time, chosen by a database lease."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram.ext import Application

from bot.outbox.loop import default_owner
from bot.telegram.updates import start_polling
from storage import leases as lease_store
from storage.db import transaction

log = logging.getLogger(__name__)


UPDATES_LEASE = "telegram-updates"


class PollingLeader:
    """Long polling by one process at a time: the holder of the ``telegram-updates`` lease.

    Telegram answers ``409 Conflict`` to a second process polling the same token, so each
    ``nkwatch run`` process keeps its handlers, jobs and outbox running and only the lease holder
    runs ``getUpdates``. Every third of the lease the holder renews it and the others try to take
    it, so a dead holder is replaced within about ``lease_seconds * 4/3``; a stopping holder
    releases it at once. A holder that cannot renew in time stops polling a third of a lease
    before the lease may run out, so (with clocks in sync) two processes do not poll together.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        sessions: sessionmaker[Session],
        *,
        lease_seconds: float,
        owner: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._app = application
        self._sessions = sessions
        self._lease = timedelta(seconds=lease_seconds)
        self._period = lease_seconds / 3  # between renewals, and between tries to take over
        self.owner = owner or default_owner()
        self._clock = clock
        self._stopping = asyncio.Event()
        self._safe_until = 0.0  # monotonic time until which our last renewal certainly holds

    @property
    def polling(self) -> bool:
        updater = self._app.updater
        return updater is not None and updater.running

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Hold or wait for the lease until ``stop()``; then stop polling and release it."""
        try:
            while not self._stopping.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._period)
        finally:
            await self._give_up()

    async def step(self) -> None:
        """Renew (holder) or try to acquire (others), and start or stop polling to match."""
        asked_at = time.monotonic()
        polling = self.polling
        # A holder waits for the database only while its last renewal certainly holds.
        limit = max(self._safe_until - asked_at, 0.0) if polling else self._period
        held: bool | None = None  # unknown: the database did not answer
        try:
            held = await asyncio.wait_for(
                asyncio.to_thread(self._renew if polling else self._acquire), limit
            )
        except TimeoutError:
            log.warning("telegram: the updates lease could not be checked in %.1fs", limit)
        except Exception:
            log.exception("telegram: the updates lease could not be checked")
        if held is None:
            if self.polling and time.monotonic() >= self._safe_until:
                await self._stop_polling("the updates lease could not be renewed in time")
            return
        if held:
            # A margin of a third: the renewal may have landed late in its round trip.
            self._safe_until = asked_at + self._lease.total_seconds() * 2 / 3
            if not self.polling:
                try:
                    await start_polling(self._app)
                except Exception:
                    log.exception("telegram: polling could not start; retrying")
                    return
                log.info("telegram: this process polls for updates (%s)", self.owner)
        elif self.polling:
            await self._stop_polling("another process holds the updates lease")

    def _acquire(self) -> bool:
        now = self._clock()
        with transaction(self._sessions) as session:
            return lease_store.acquire(
                session, name=UPDATES_LEASE, owner=self.owner, now=now, until=now + self._lease
            )

    def _renew(self) -> bool:
        with transaction(self._sessions) as session:
            return lease_store.renew(
                session, name=UPDATES_LEASE, owner=self.owner, until=self._clock() + self._lease
            )

    async def _stop_polling(self, why: str) -> None:
        updater = self._app.updater
        if updater is not None and updater.running:
            await updater.stop()
            log.warning("telegram: stopped polling for updates: %s", why)

    async def _give_up(self) -> None:
        with contextlib.suppress(Exception):
            await self._stop_polling("shutting down")

        def release() -> bool:
            with transaction(self._sessions) as session:
                return lease_store.release(session, name=UPDATES_LEASE, owner=self.owner)

        try:
            if await asyncio.to_thread(release):
                log.info("telegram: updates lease released")
        except Exception:  # it runs out on its own
            log.exception("telegram: the updates lease could not be released")
