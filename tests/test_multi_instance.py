"""Several ``nkwatch run`` processes on one database share the work without doubling it.

In-process: the Telegram update poller is one process's job at a time (``PollingLeader``), and
the loopback Bot API server answers ``409 Conflict`` when two processes poll at once, as
Telegram does. End to end: two real ``nkwatch run`` processes on a fresh PostgreSQL database
poll loopback feeds and send instant alerts to Telegram chats; the feed server's request log
shows every feed fetched once per cycle, the Bot API server's calls show every alert sent once,
and after one process is killed the other takes over its leased feeds, the updates and the
alerts.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from aiohttp import web
from sqlalchemy import create_engine, func, make_url, select, text
from telegram.ext import Application

from bot.context import AppContext
from bot.settings import Settings
from bot.telegram.app import build_application, start_application, stop_application
from bot.telegram.leader import UPDATES_LEASE, PollingLeader
from bot.telegram.limiter import ChatRateLimiter
from storage import feeds as feed_store
from storage import leases as lease_store
from storage import subscriptions as subs_store
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Article, Claim, Delivery, Lease, Subscription
from tests.conftest import Database
from tests.helpers.db import POSTGRES_ENV, postgres_url
from tests.helpers.feed_server import FeedServer
from tests.helpers.telegram_server import Call, TelegramTestServer

pytestmark = pytest.mark.slow
App = Application[Any, Any, Any, Any, Any, Any]


async def _until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    """Wait for ``condition``; ``within`` only guards against a hang."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


# --- the Telegram update poller, in process -------------------------------------------------------


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramTestServer]:
    server = TelegramTestServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_app(telegram: TelegramTestServer, db: Database) -> AsyncIterator[Callable[[], App]]:
    """Telegram applications for one token and one database, like several processes' ones."""
    built: list[tuple[AppContext, App]] = []

    def factory() -> App:
        settings = Settings(
            database_url=db.url,
            telegram_token=telegram.token,
            telegram_base_url=telegram.base_url,
            semantic="off",
        )
        ctx = AppContext(settings=settings, upgrade_on_start=False)
        app = build_application(ctx, rate_limiter=ChatRateLimiter(per_chat_rate=1000))
        built.append((ctx, app))
        return app

    yield factory
    for ctx, app in built:
        await stop_application(app)
        ctx.close()


async def test_the_bot_api_server_answers_409_to_a_second_poller_of_one_token(
    telegram: TelegramTestServer, make_app: Callable[[], App]
) -> None:
    """What the leases prevent, shown: two plain pollers end each other's getUpdates."""
    for app in (make_app(), make_app()):
        await start_application(app)
    await telegram.wait_for(lambda _: bool(telegram.conflicts), within=15)


async def test_one_process_polls_updates_and_hands_over_when_it_stops(
    telegram: TelegramTestServer, make_app: Callable[[], App], db: Database
) -> None:
    apps = [make_app(), make_app()]
    leaders = [PollingLeader(app, db.sessions, lease_seconds=3) for app in apps]
    for app in apps:
        await start_application(app, poll=False)
    tasks = [asyncio.create_task(leader.run()) for leader in leaders]
    try:
        await _until(lambda: any(leader.polling for leader in leaders), within=10, what="a poller")
        holder, other = sorted(leaders, key=lambda leader: not leader.polling)
        for chat in (1, 2, 3):
            await telegram.send_command("/help", chat_id=chat)
            await telegram.wait_sent(1, chat_id=chat)
        await asyncio.sleep(2)  # a few renewals: the other process stays out
        assert not other.polling
        with db.sessions() as s:
            assert lease_store.holder(s, name=UPDATES_LEASE, now=datetime.now(UTC)) == holder.owner

        stopped_at = time.monotonic()
        holder.stop()
        await tasks[leaders.index(holder)]
        assert not holder.polling
        await _until(lambda: other.polling, within=10, what="the other process to take over")
        handover = time.monotonic() - stopped_at
        await telegram.send_command("/help", chat_id=4)
        await telegram.wait_sent(1, chat_id=4)
    finally:
        for leader in leaders:
            leader.stop()
        await asyncio.gather(*tasks)
    assert [len(telegram.sent(chat_id=chat)) for chat in (1, 2, 3, 4)] == [1, 1, 1, 1]
    assert telegram.conflicts == []
    print(f"graceful hand-over of the updates lease: {handover:.2f}s")


async def test_a_poller_that_lost_its_lease_stops_polling(
    make_app: Callable[[], App], db: Database
) -> None:
    app = make_app()
    await start_application(app, poll=False)
    leader = PollingLeader(app, db.sessions, lease_seconds=30)
    await leader.step()
    assert leader.polling
    # Paused past its lease (a stalled host), it finds another process has taken over.
    later = datetime.now(UTC) + timedelta(seconds=31)
    with db.sessions.begin() as s:
        assert lease_store.acquire(
            s, name=UPDATES_LEASE, owner="another", now=later, until=later + timedelta(seconds=30)
        )
    await leader.step()
    assert not leader.polling
    await leader.step()  # the other holder's lease still runs: no way back in
    assert not leader.polling


async def test_a_poller_that_cannot_renew_stops_before_its_lease_may_run_out(
    make_app: Callable[[], App], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    await start_application(app, poll=False)
    leader = PollingLeader(app, db.sessions, lease_seconds=3)
    await leader.step()
    assert leader.polling

    def unreachable() -> bool:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(leader, "_renew", unreachable)
    await leader.step()
    assert leader.polling  # one failed renewal: the lease still holds for a while
    await asyncio.sleep(2.1)  # two thirds of the lease after the last renewal
    await leader.step()
    assert not leader.polling


# --- two real processes on PostgreSQL -----------------------------------------------------------

FEEDS = 8
POLL_LEASE = 6  # seconds a claimed feed stays with its process
UPDATES_LEASE_SECONDS = 3
FETCH_SECONDS = 1.5  # every feed answer takes this long, so fetches are caught in flight
SUBSCRIBED = (201, 202, 203)  # instant-alert chats in the database before the start
LATE_SUBSCRIBER = 204  # subscribes by command once the processes run
FACT = "Defence Minister Kang Sun Nam inspected a cruise missile battalion stationed near Nampo on Sunday."

# (title, text): every story about something else, so none is a near-duplicate of another.
BATCHES: list[list[tuple[str, str]]] = [
    [
        (
            "Hwasong launch from Sunan airfield",
            "North Korea launched a Hwasong-18 solid-fuel intercontinental ballistic missile from "
            "the Sunan airfield on Tuesday morning. Japan's coast guard said the missile flew for "
            "73 minutes before falling into the sea east of Hokkaido.",
        ),
        (
            "Kim visits Ryongsong machine complex",
            "Kim Jong Un visited the Ryongsong machine complex and ordered managers to double the "
            "output of tank engines. KCNA said he praised workers for finishing a new weapons "
            "assembly hall in ninety days.",
        ),
        (
            "Rason port loads containers bound for Vostochny",
            "Satellite images show North Korean cargo ships loading 420 containers of artillery "
            "ammunition at the port of Rason. Analysts at a Washington think tank said the vessels "
            "later docked at Vostochny in the Russian Far East.",
        ),
        (
            "Sinpo shipyard rolls out missile submarine",
            "Commercial imagery of North Korea's Sinpo South shipyard shows a new ballistic "
            "missile submarine floated out of its construction hall. The navy plans to arm the "
            "vessel with Pukguksong missiles, according to South Korean intelligence.",
        ),
        (
            "Drone factory expands near Kusong",
            "Pyongyang is building a second drone assembly line near Kusong to produce loitering "
            "munitions, a defector group reported. The factory reportedly copies Russian Geran "
            "attack drones with parts smuggled through Dandong.",
        ),
        (
            "Artillery shell exports pass two million rounds",
            "South Korea's National Intelligence Service told lawmakers that North Korea has sent "
            "more than two million artillery shells to Russia since August. The briefing also "
            "cited roughly thirty short-range KN-23 missiles shipped by rail.",
        ),
        (
            "Sohae station tests new satellite engine",
            "North Korea conducted a static fire test of a new satellite launcher engine at the "
            "Sohae station on Friday. Rodong Sinmun published photographs of Kim Yo Jong watching "
            "the rocket test alongside missile scientists.",
        ),
        (
            "Tumen river rail bridge carries munition wagons",
            "North Korean freight trains carrying sealed munitions wagons crossed the Tumen river "
            "bridge into Khasan every night last week, Russian railway workers said. Each train "
            "pulled about forty wagons of rockets for multiple rocket launchers, they added.",
        ),
    ],
    [
        (
            "Hamhung chemical plant turns to rocket propellant",
            "A chemical complex in Hamhung has switched two production lines to solid rocket "
            "propellant, according to a leaked North Korean factory report. The report says the "
            "lines deliver fuel grains for Hwasong-11 tactical missiles.",
        ),
        (
            "KPA tests new guided rocket launcher",
            "The Korean People's Army test-fired a 240mm guided multiple rocket launcher in South "
            "Pyongan province on Wednesday. KCNA claimed each rocket hit a target island sixty "
            "kilometres away.",
        ),
        (
            "Sanctions panel names shipping front companies",
            "Investigators tracking UN sanctions named six Hong Kong front companies that "
            "chartered tankers for North Korean arms deliveries. The companies paid crews in "
            "cryptocurrency stolen by Lazarus hackers, the investigators wrote.",
        ),
        (
            "Pyongyang unveils armoured carrier at parade",
            "A new eight-wheeled armoured personnel carrier rolled through Kim Il Sung Square "
            "during the military parade in Pyongyang. Observers noted the vehicle carries an "
            "anti-tank missile launcher resembling the Russian Kornet.",
        ),
        (
            "Yongbyon reactor steam plume spotted",
            "Steam rose from the light water reactor at Yongbyon for the third straight week, "
            "suggesting it is operating. The International Atomic Energy Agency said more fissile "
            "material could feed the nuclear weapons programme.",
        ),
        (
            "Russian recruiters visit Chongjin",
            "Russian officers visited Chongjin to recruit North Korean construction battalions for "
            "work in occupied Donetsk, Seoul officials said. Some of the workers were reportedly "
            "assigned to repair ammunition depots near the front.",
        ),
        (
            "Air defence missile test over Yellow Sea",
            "North Korea tested a new surface-to-air missile over the Yellow Sea, firing two "
            "interceptors at a target drone. State media described the weapon as a mobile air "
            "defence battery guided by phased array radar.",
        ),
        (
            "Munitions Industry Department reshuffle",
            "Jo Chun Ryong was replaced as head of the Munitions Industry Department after a "
            "plenary meeting of the Workers Party. His successor previously ran the Second "
            "Economic Committee that manages North Korean arms factories.",
        ),
    ],
]


@dataclass
class Fetch:
    path: str
    agent: str
    at: float
    done: bool = False


@dataclass
class Feeds:
    """The feeds the processes poll: every GET logged with its User-Agent (which process)."""

    server: FeedServer
    bodies: dict[str, bytes] = field(default_factory=dict)
    items: dict[str, list[str]] = field(default_factory=dict)
    fetches: list[Fetch] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, path: str, title: str, body: str) -> None:
        """Add one story to a feed (the feed keeps its earlier stories, as real ones do)."""
        slug = title.lower().replace(" ", "-")
        item = (
            f"<item><title>{escape(title)}</title>"
            f"<link>{self.server.url('/stories/' + slug)}</link><guid>{slug}</guid>"
            f"<pubDate>{format_datetime(datetime.now(UTC))}</pubDate>"
            f"<description>{escape(body)}</description></item>"
        )
        self.items.setdefault(path, []).insert(0, item)
        self.bodies[path] = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>'
            + path
            + "</title>"
            + "".join(self.items[path])
            + "</channel></rss>"
        ).encode()

    def serve(self, path: str) -> str:
        self.server.handlers[path] = self._handle
        return self.server.url(path)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        fetch = Fetch(request.path, request.headers.get("User-Agent", ""), time.monotonic())
        with self._lock:
            self.fetches.append(fetch)
        try:
            await asyncio.sleep(FETCH_SECONDS)
            return web.Response(body=self.bodies[request.path], content_type="application/rss+xml")
        finally:
            fetch.done = True

    def log(self) -> list[Fetch]:
        with self._lock:
            return list(self.fetches)

    def in_flight(self, agent: str) -> list[Fetch]:
        return [f for f in self.log() if f.agent == agent and not f.done]


@dataclass
class Instance:
    name: str
    agent: str
    proc: asyncio.subprocess.Process
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards (other runs share ``test``)."""
    name = f"nkwatch_mi_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def _start(name: str, url: str, telegram: TelegramTestServer, tmp_path: Path) -> Instance:
    feeds_file = tmp_path / "feeds.toml"
    feeds_file.write_text("# the feeds are in the database\n")
    agent = f"nkwatch-test-{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")}
    env.update(
        NKWATCH_DATABASE_URL=url,
        NKWATCH_TELEGRAM_TOKEN=telegram.token,
        NKWATCH_TELEGRAM_BASE_URL=telegram.base_url,
        NKWATCH_FEEDS_FILE=str(feeds_file),
        NKWATCH_ALLOW_PRIVATE_FEEDS="true",
        NKWATCH_SEMANTIC="off",
        NKWATCH_LOG_LEVEL="INFO",  # the test reads who polls Telegram from the log
        NKWATCH_USER_AGENT=agent,
        NKWATCH_FETCH_PER_HOST="16",
        # Different ticks: the two processes' polls drift in and out of phase, so each wins feeds.
        NKWATCH_POLL_TICK_SECONDS="1" if name == "a" else "1.3",
        NKWATCH_POLL_LEASE_SECONDS=str(POLL_LEASE),
        NKWATCH_TELEGRAM_POLLING_LEASE_SECONDS=str(UPDATES_LEASE_SECONDS),
        NKWATCH_TELEGRAM_DIGEST_INTERVAL_SECONDS="5",
    )
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=sink,
        )
    return Instance(name=name, agent=agent, proc=proc, log_path=log_path)


def _alerted(calls: list[Call], title: str) -> int:
    return sum(1 for c in calls if escape(title) in str(c.params.get("text", "")))


POSTGRES = postgres_url()


@pytest.mark.postgres
@pytest.mark.skipif(
    POSTGRES is None, reason=f"{POSTGRES_ENV} is not set: the processes share a PostgreSQL database"
)
async def test_two_processes_share_feeds_alerts_and_updates_and_survive_a_kill(
    tmp_path: Path,
) -> None:
    assert POSTGRES is not None
    started = time.monotonic()
    telegram = TelegramTestServer()
    await telegram.start()
    feeds = Feeds(FeedServer().start())
    instances: list[Instance] = []
    try:
        with fresh_database(POSTGRES) as url:
            engine = make_engine(url)
            sessions = make_session_factory(engine)
            upgrade(engine)
            paths = [f"/mi/feed-{i}.xml" for i in range(FEEDS)]
            intervals = {path: 3 + i % 4 for i, path in enumerate(paths)}
            with sessions.begin() as s:
                for i, path in enumerate(paths):
                    title, body = BATCHES[0][i]
                    # One fact in two feeds: whichever process judges it second sees it stored.
                    feeds.publish(path, title, f"{body} {FACT}" if i < 2 else body)
                    feed_store.add_feed(
                        s,
                        url=feeds.serve(path),
                        name=f"Outlet {i}",
                        poll_interval_seconds=intervals[path],
                        added_by="test",
                    )
                for chat in SUBSCRIBED:
                    subs_store.subscribe(s, platform="telegram", chat_id=str(chat), mode="instant")

            instances = [await _start(name, url, telegram, tmp_path) for name in ("a", "b")]
            by_agent = {inst.agent: inst for inst in instances}
            # Each process publishes the command menu once its start-up is done.
            await telegram.wait_sent(2, method="setMyCommands", within=120)
            ready = time.monotonic()

            # --- both running: commands are answered once, by the one update poller ---------
            await telegram.send_command("/subscribe instant", chat_id=LATE_SUBSCRIBER)
            for chat in (301, 302, 303):
                await telegram.send_command("/help", chat_id=chat)
            for chat in (LATE_SUBSCRIBER, 301, 302, 303):
                await telegram.wait_sent(1, chat_id=chat, within=30)

            # --- the first stories' alerts, sent while both run --------------------------------
            first_titles = [title for title, _ in BATCHES[0]]

            def all_alerted(titles: list[str], chats: tuple[int, ...]) -> bool:
                return all(
                    _alerted(telegram.sent(chat_id=chat), title) >= 1
                    for chat in chats
                    for title in titles
                )

            # New stories a while later; their alerts fall due after the kill below.
            await _until(lambda: time.monotonic() - ready > 16, within=20, what="16 s")
            for i, path in enumerate(paths):
                feeds.publish(path, *BATCHES[1][i])
            await _until(
                lambda: all_alerted(first_titles, SUBSCRIBED),
                within=75,
                what="the first stories' alerts in every subscribed chat",
            )
            phase_one = feeds.log()
            first_alerted = time.monotonic()

            def open_deliveries() -> int:
                with sessions() as s:
                    return int(
                        s.scalar(
                            select(func.count())
                            .select_from(Delivery)
                            .where(Delivery.status.in_(["pending", "sending"]))
                        )
                        or 0
                    )

            await _until(lambda: open_deliveries() == 0, within=20, what="the outbox to drain")
            await telegram.wait_consumed(within=10)

            # --- kill the update poller while it has feeds in flight ------------------------
            with sessions() as s:
                owner = s.scalar(select(Lease.owner).where(Lease.name == UPDATES_LEASE))
            assert owner is not None
            leader = next(i for i in instances if owner.split(":")[1] == str(i.proc.pid))
            survivor = next(i for i in instances if i is not leader)
            await _until(
                lambda: bool(feeds.in_flight(leader.agent)),
                within=30,
                what="the leader to have a feed in flight",
            )
            leader.proc.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            orphaned = feeds.in_flight(leader.agent)
            await leader.proc.wait()

            await telegram.send_command("/help", chat_id=306)
            await telegram.wait_sent(1, chat_id=306, within=30)
            for fetch in orphaned:
                await _until(
                    lambda fetch=fetch: any(
                        f.path == fetch.path and f.agent == survivor.agent and f.at > killed_at
                        for f in feeds.log()
                    ),
                    within=30,
                    what=f"the survivor to poll {fetch.path} once the dead process's lease ran out",
                )
            second_titles = [title for title, _ in BATCHES[1]]
            assert not any(
                _alerted(telegram.sent(chat_id=chat), title)
                for chat in SUBSCRIBED
                for title in second_titles
            ), "the second stories were alerted before the kill: nothing shows the survivor sends"
            await _until(
                lambda: all_alerted(second_titles, (*SUBSCRIBED, LATE_SUBSCRIBER)),
                within=75,
                what="the second stories' alerts, from the survivor",
            )
            second_alerted = time.monotonic()
            await _until(lambda: open_deliveries() == 0, within=20, what="the outbox to drain")
            survivor.proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(survivor.proc.wait(), 60)
            assert code == 0, survivor.log()[-3000:]
            finished = time.monotonic()

            # --- what the feed server saw ---------------------------------------------------
            fetches = feeds.log()
            assert {f.agent for f in fetches} == {"nkwatch-test-a", "nkwatch-test-b"}
            for path in paths:
                times = sorted(f.at for f in fetches if f.path == path)
                gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
                # polled once per cycle: a second process polling the same cycle would show as
                # a gap of about nothing
                assert min(gaps) >= intervals[path] / 2, (path, gaps)
                assert sum(1 for f in phase_one if f.path == path) >= 2
            for fetch in orphaned:
                again = min(
                    f.at
                    for f in fetches
                    if f.path == fetch.path and f.agent == survivor.agent and f.at > fetch.at
                )
                # the survivor waited for the dead process's lease to run out
                assert again - fetch.at >= POLL_LEASE - 0.5, (fetch.path, again - fetch.at)

            # --- what the Bot API server saw --------------------------------------------------
            assert telegram.conflicts == []
            for chat in (301, 302, 303, 306):
                assert len(telegram.sent(chat_id=chat)) == 1
            with sessions() as s:
                subs = {int(sub.chat_id): sub.id for sub in s.scalars(select(Subscription)).all()}
                deliveries = s.scalars(select(Delivery).order_by(Delivery.id)).all()
                stored_titles = Counter(s.scalars(select(Article.title)).all())
                fact_verdicts = sorted(s.scalars(select(Claim.verdict).where(Claim.text == FACT)))
            for chat in (*SUBSCRIBED, LATE_SUBSCRIBER):
                calls = telegram.sent(chat_id=chat)
                if chat == LATE_SUBSCRIBER:
                    calls = calls[1:]  # the reply to /subscribe
                mine = [d for d in deliveries if d.subscription_id == subs[chat]]
                assert {d.status for d in mine} == {"sent"}
                recorded = [mid for d in mine for part in d.platform_message_ids for mid in part]
                # every message the chat got is one recorded part of one delivery, and back
                assert sorted(str(c.result["message_id"]) for c in calls) == sorted(recorded)
                windows = sorted((d.window_start, d.window_end) for d in mine)
                assert all(a[1] <= b[0] for a, b in itertools.pairwise(windows))
                titles = second_titles + (first_titles if chat in SUBSCRIBED else [])
                assert [_alerted(calls, title) for title in titles] == [1] * len(titles), chat
            assert all(stored_titles[t] == 1 for t in first_titles + second_titles)
            assert fact_verdicts == ["new", "repeated"]
            after_kill = [
                c for chat in SUBSCRIBED for c in telegram.sent(chat_id=chat) if c.at > killed_at
            ]
            assert after_kill  # alerts kept going out, from the survivor
            polls_after_kill = [
                c.at for c in telegram.calls if c.method == "getUpdates" and c.at > killed_at
            ]
            assert "this process polls for updates" in survivor.log()

            print(
                f"\nstart-up {ready - started:.1f}s, first alerts +{first_alerted - ready:.1f}s, "
                f"kill +{killed_at - ready:.1f}s, second alerts +{second_alerted - ready:.1f}s, "
                f"test {finished - started:.1f}s; "
                f"feed GETs {len(fetches)} "
                f"({Counter(by_agent[f.agent].name for f in fetches)}); "
                f"alerts sent {sum(len(d.platform_message_ids) for d in deliveries)} in "
                f"{len(deliveries)} deliveries, duplicates 0; "
                f"killed {leader.name} with {len(orphaned)} feeds in flight; "
                f"updates resumed {polls_after_kill[0] - killed_at:.1f}s after the kill"
            )
            engine.dispose()
    finally:
        for inst in instances:
            if inst.proc.returncode is None:
                inst.proc.kill()
                await inst.proc.wait()
        feeds.server.stop()
        await telegram.stop()
