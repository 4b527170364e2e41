"""Delivery throughput: N subscribed chats, one digest each, through the Bot API test server.

The real stack: compose_due -> outbox (SQLite file) -> DeliveryLoop -> TelegramSender ->
python-telegram-bot ExtBot -> tests/helpers/telegram_server.py on loopback. ``--pacing`` picks
where the 30/s limit is kept:

* ``slots`` (what ``nkwatch run`` and ``digest send`` do): DeliveryLoop takes a sliding-window
  send slot (bot.pacing) before it marks a part; the bot's ChatRateLimiter lets it through;
* ``chat-limiter``: no slots, the bot's ChatRateLimiter paces inside the send (``nkwatch run``
  before the slots);
* ``bot``: no slots, ``telegram_rate_limiter`` (a bucket of one) inside the send;
* ``stock``: no slots, PTB's default ``AIORateLimiter()``.

The test server does not throttle, so "429s" are counted from its own arrival times: the most
messages that arrived in any one-second (sliding) window, and how many windows held more than 30
(what Telegram would refuse). CPU time is this process's (delivery and the server together).

    python bench/delivery_bench.py --chats 10000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram.ext import AIORateLimiter, ExtBot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.outbox.compose import compose_due  # noqa: E402
from bot.outbox.loop import DeliveryLoop  # noqa: E402
from bot.pacing import telegram_slots  # noqa: E402
from bot.senders import telegram_rate_limiter  # noqa: E402
from bot.telegram.limiter import ChatRateLimiter  # noqa: E402
from bot.telegram.sender import TelegramSender  # noqa: E402
from storage import deliveries as outbox  # noqa: E402
from storage.db import make_engine, make_session_factory, upgrade  # noqa: E402
from tests.helpers.stories import C, add_story, add_subscription  # noqa: E402
from tests.helpers.telegram_server import TelegramTestServer  # noqa: E402


def over_limit(times: list[float], limit: int = 30, period: float = 1.0) -> tuple[int, int]:
    """(windows over ``limit``, max in any window), over every ``period``-long sliding window.

    The fullest windows are those ending at an arrival, so counting the arrivals in the ``period``
    up to and including each arrival finds the maximum; a window "over" is one such count above
    ``limit`` (the message Telegram would answer with 429).
    """
    times = sorted(times)
    worst = 0
    over = 0
    for i, t in enumerate(times):
        start = bisect_left(times, t - period + 1e-9)
        in_window = i - start + 1
        worst = max(worst, in_window)
        over += in_window > limit
    return over, worst


async def main(chats: int, concurrency: int, rate: float, pacing: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nkwatch-bench-"))
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    due = (now - timedelta(minutes=5)).replace(second=0, microsecond=0)
    with sessions() as session:
        add_story(
            session,
            title="Kim visits a shell factory",
            at=due - timedelta(hours=1),
            claims=[
                C("Kim Jong Un visited a shell factory in Kanggye."),
                C("The factory doubled output.", "updated"),
            ],
        )
        for i in range(chats):
            add_subscription(
                session,
                chat_id=str(10_000 + i),
                digest_time=due.time(),
                created_at=now - timedelta(days=1),
            )
        session.commit()
    t0 = time.perf_counter()
    with sessions() as session:
        stats = compose_due(session, now)
    compose_s = time.perf_counter() - t0
    print(f"composed {stats.composed} digests in {compose_s:.1f}s")

    server = TelegramTestServer()
    await server.start()
    limiter = {
        "stock": AIORateLimiter,
        "bot": lambda: telegram_rate_limiter(rate),
    }.get(pacing, lambda: ChatRateLimiter(per_chat_rate=1))()
    bot = ExtBot(
        server.token,
        base_url=server.base_url,
        rate_limiter=limiter,
        request=HTTPXRequest(connection_pool_size=concurrency + 8),
    )
    sender = TelegramSender(bot)
    loop = DeliveryLoop(
        sessions,
        lambda _: sender,
        owner="bench",
        concurrency=concurrency,
        lease_seconds=600,
        limiters={"telegram": telegram_slots(int(rate))} if pacing == "slots" else {},
    )
    async with bot:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        await loop.run_once(batch=200)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    await server.stop()
    sent = server.sent("sendMessage")
    answered_429 = 0  # the server answers 429 only for armed faults; none are armed here
    over, worst = over_limit([c.at for c in sent])
    # sustained rate: the middle 80% of the run, free of start-up and tail effects
    times = sorted(c.at for c in sent)
    lo, hi = times[len(times) // 10], times[len(times) * 9 // 10]
    sustained = (len(times) * 8 // 10) / (hi - lo) if hi > lo else float("nan")
    with sessions() as session:
        counts = outbox.status_counts(session)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"chats {chats}, concurrency {concurrency}, pacing {pacing}")
    print(
        f"sent {len(sent)} messages in {elapsed:.1f}s wall, {cpu:.1f}s CPU: "
        f"{len(sent) / elapsed:.2f} msg/s overall, {sustained:.2f} msg/s sustained (middle 80%)"
    )
    print(
        f"one-second windows: max {worst} messages in any 1 s, {over} windows over 30; "
        f"429 answers: {answered_429}"
    )
    print(f"outbox: {counts}; delivery stats: {loop.stats}")
    print(f"peak RSS: {rss_mb:.0f} MiB")
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=29.0, help="messages per second overall")
    parser.add_argument(
        "--pacing",
        choices=["slots", "chat-limiter", "bot", "stock"],
        default="slots",
        help="where the rate is kept (see the module docstring)",
    )
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.concurrency, args.rate, args.pacing))
