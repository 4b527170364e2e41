"""Scheduled digests and instant alerts through the real Application, JobQueue and outbox."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.telegram.digests import OutboxRunner
from bot.telegram.jobs import JobQueueSchedule, digest_job_name, fire_now, run_delivery
from storage import deliveries as outbox
from storage import subscriptions as subs_store
from storage.db import transaction
from tests.conftest import Database
from tests.helpers.stories import C, add_story, add_subscription
from tests.telegram.conftest import BotFactory


def _due_tomorrow() -> tuple[datetime, datetime]:
    """Tomorrow's 08:00 UTC digest time, and a clock a little after it."""
    today = datetime.now(UTC).date()
    due = datetime.combine(today + timedelta(days=1), time(8, 0), tzinfo=UTC)
    return due, due + timedelta(seconds=61)


async def test_jobs_are_rebuilt_from_the_database_at_start(
    make_bot: BotFactory, db: Database
) -> None:
    with transaction(db.sessions) as session:
        seoul = add_subscription(
            session, chat_id="11", digest_time=time(7, 30), timezone="Asia/Seoul"
        )
        gone = add_subscription(session, chat_id="12", active=False)
        instant = add_subscription(session, chat_id="13", mode="instant")
        ids = (seoul.id, gone.id, instant.id)
    bot = await make_bot(digest_runner=OutboxRunner(db.sessions))
    queue = bot.app.job_queue
    assert queue is not None
    (job,) = queue.get_jobs_by_name(digest_job_name(ids[0]))
    assert job.next_t is not None
    local = job.next_t.astimezone(ZoneInfo("Asia/Seoul"))
    assert (local.hour, local.minute) == (7, 31)
    assert queue.get_jobs_by_name(digest_job_name(ids[1])) == ()
    assert queue.get_jobs_by_name(digest_job_name(ids[2])) == ()  # instant: no daily job
    assert len(queue.get_jobs_by_name("instant-alerts")) == 1


async def test_daily_digest_fires_through_the_scheduler_and_is_sent_once(
    make_bot: BotFactory, db: Database
) -> None:
    due, clock = _due_tomorrow()
    with transaction(db.sessions) as session:
        add_story(
            session,
            title="Factory <tour> & more",
            at=due - timedelta(hours=2),
            outlet="NK News",
            claims=[C("A new shell line opened in Kanggye.")],
        )
    runner = OutboxRunner(db.sessions, clock=lambda: clock)
    bot = await make_bot(digest_runner=runner)
    await bot.ask("/subscribe daily 08:00 UTC")
    with db.sessions() as session:
        sub = subs_store.get_subscription(session, platform="telegram", chat_id="42")
        assert sub is not None
        sub_id = sub.id
    schedule = bot.state.services.schedule
    assert isinstance(schedule, JobQueueSchedule)
    job = schedule.digest_job(sub_id)
    assert job is not None
    await fire_now(job)  # the real APScheduler job, now instead of tomorrow
    (digest_call,) = (await bot.server.wait_sent(2, chat_id=42))[1:]
    text = str(digest_call.params["text"])
    assert "nkwatch digest" in text
    assert "Factory &lt;tour&gt; &amp; more" in text
    assert "A new shell line opened in Kanggye." in text
    assert digest_call.params["parse_mode"] == "HTML"
    await runner.idle()
    with db.sessions() as session:
        (row,) = outbox.list_deliveries(session, subscription_id=sub_id)
        assert row.status == "sent"
        assert len(row.platform_message_ids) == 1
    # Running the job again sends nothing: the window is covered.
    await run_delivery(bot.app, sub_id, kind="digest")
    assert len(bot.server.sent("sendMessage", 42)) == 2


async def test_instant_alert_tick_delivers_new_stories(make_bot: BotFactory, db: Database) -> None:
    now = datetime.now(UTC)
    clock = now + timedelta(minutes=5)
    with transaction(db.sessions) as session:
        add_subscription(
            session,
            chat_id="77",
            mode="instant",
            instant_alerts=True,
            created_at=now - timedelta(hours=1),
        )
        add_story(session, title="Launch reported", at=now, claims=[C("A missile was launched.")])
    bot = await make_bot(digest_runner=OutboxRunner(db.sessions, clock=lambda: clock))
    queue = bot.app.job_queue
    assert queue is not None
    (tick,) = queue.get_jobs_by_name("instant-alerts")
    await fire_now(tick)
    (call,) = await bot.server.wait_sent(1, chat_id=77)
    assert "nkwatch alert" in str(call.params["text"])
    assert "A missile was launched." in str(call.params["text"])
