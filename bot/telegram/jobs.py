"""Digest jobs on PTB's JobQueue: one daily job per subscribed chat at its local digest time,
and one repeating job for instant alerts, all rebuilt from the database at start and updated
whenever a chat changes its settings."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, ContextTypes, Job, JobQueue

from bot.chat.services import SubscriptionView
from bot.telegram.sender import TelegramSender
from bot.telegram.state import PLATFORM, bot_state
from storage import subscriptions as subs_store

log = logging.getLogger(__name__)

JOB_DELAY = timedelta(seconds=60)  # > the outbox's settle time (30 s)
INSTANT_JOB = "instant-alerts"


def digest_job_name(subscription_id: int) -> str:
    return f"digest:{subscription_id}"


class JobQueueSchedule:
    """``ScheduleHook`` over PTB's JobQueue: a daily job per chat at its local digest time."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        self._app = application

    @property
    def _jobs(self) -> JobQueue[Any]:
        queue = self._app.job_queue
        if queue is None:  # pragma: no cover - the job-queue extra is a dependency
            msg = "python-telegram-bot was installed without the job-queue extra"
            raise RuntimeError(msg)
        return queue

    def subscription_changed(self, sub: SubscriptionView) -> None:
        if sub.platform != PLATFORM:
            return
        for job in self._jobs.get_jobs_by_name(digest_job_name(sub.id)):
            job.schedule_removal()
        if sub.daily:
            # Fire a little after the digest time: the outbox only composes a window once
            # claims stored just before its end have settled (``bot.outbox.compose`` settle time).
            shifted = datetime.combine(date(2000, 1, 1), sub.digest_time) + JOB_DELAY
            at = shifted.time().replace(tzinfo=ZoneInfo(sub.timezone))
            self._jobs.run_daily(
                _digest_job,
                time=at,
                name=digest_job_name(sub.id),
                data=sub.id,
                job_kwargs={"misfire_grace_time": 3600, "coalesce": True},
            )
            log.info(
                "digest for telegram chat %s scheduled daily at %s %s",
                sub.chat_id,
                sub.digest_time,
                sub.timezone,
            )

    def rebuild(self, subs: list[SubscriptionView]) -> int:
        """Replace every digest job with the ones the database asks for."""
        for job in self._jobs.jobs():
            if job.name and job.name.startswith("digest:"):
                job.schedule_removal()
        for sub in subs:
            self.subscription_changed(sub)
        return sum(1 for s in subs if s.daily)

    def digest_job(self, subscription_id: int) -> Job[Any] | None:
        jobs = self._jobs.get_jobs_by_name(digest_job_name(subscription_id))
        return jobs[0] if jobs else None


async def _digest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    job = context.job
    assert job is not None
    subscription_id = int(str(job.data))
    await run_delivery(context.application, subscription_id, kind="digest")


async def _instant_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    state = bot_state(context.application)

    def instant_ids() -> list[int]:
        with state.sessions() as session:
            return [s.id for s in subs_store.list_instant(session, platform=PLATFORM)]

    for subscription_id in await asyncio.to_thread(instant_ids):
        try:
            await run_delivery(context.application, subscription_id, kind="instant")
        except Exception:  # one chat's failure must not starve the others
            log.exception("instant alert for subscription %s failed", subscription_id)


async def run_delivery(
    application: Application[Any, Any, Any, Any, Any, Any], subscription_id: int, *, kind: str
) -> None:
    state = bot_state(application)
    if state.digest_runner is None:
        log.warning("no digest runner wired; %s for subscription %s skipped", kind, subscription_id)
        return
    sender = state.sender or TelegramSender(application.bot)
    await state.digest_runner(subscription_id, kind=kind, sender=sender)


async def schedule_from_database(application: Application[Any, Any, Any, Any, Any, Any]) -> int:
    """Rebuild every digest job from the database and start the instant-alert tick; returns the
    number of daily digests scheduled."""
    state = bot_state(application)

    def load() -> list[SubscriptionView]:
        with state.sessions() as session:
            return [
                SubscriptionView.of(s) for s in subs_store.list_active(session, platform=PLATFORM)
            ]

    subs = await asyncio.to_thread(load)
    schedule = state.services.schedule
    assert isinstance(schedule, JobQueueSchedule)
    count = schedule.rebuild(subs)
    queue = application.job_queue
    if queue is not None and state.digest_runner is not None:
        for job in queue.get_jobs_by_name(INSTANT_JOB):
            job.schedule_removal()
        queue.run_repeating(
            _instant_job,
            interval=state.instant_interval,
            first=state.instant_interval,
            name=INSTANT_JOB,
            job_kwargs={"coalesce": True, "max_instances": 1},
        )
    return count


async def fire_now(job: Job[Any]) -> None:
    """Make a scheduled job fire through the scheduler now (tests, ``nkwatch`` admin tools)."""
    job.job.modify(next_run_time=datetime.now(UTC) + timedelta(milliseconds=10))
