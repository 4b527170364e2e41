"""Delivery throughput: N subscribed chats, one digest each, through the Bot API test server.

The real stack: compose_due -> outbox (SQLite file) -> DeliveryLoop -> TelegramSender ->
python-telegram-bot ExtBot with AIORateLimiter (30/s overall) -> tests/helpers/telegram_server.py
on loopback. The test server does not throttle, so "429s" are counted two ways: answers the server
gave (none unless armed) and, from its own arrival times, messages that arrived while more than
30 had arrived in the preceding second (what Telegram would refuse).

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

from bot.delivery import (  # noqa: E402
    DeliveryLoop,
    compose_due,
)
from bot.senders import telegram_rate_limiter  # noqa: E402
from bot.telegram.sender import TelegramSender  # noqa: E402
from storage import deliveries as outbox  # noqa: E402
from storage.db import make_engine, make_session_factory, upgrade  # noqa: E402
from tests.helpers.stories import C, add_story, add_subscription  # noqa: E402
from tests.helpers.telegram_server import TelegramTestServer  # noqa: E402


def over_limit(times: list[float], limit: int = 30, period: float = 1.0) -> tuple[int, int]:
    """(messages that arrived with > limit others in the preceding period, max in any period)."""
    times = sorted(times)
    worst = 0
    over = 0
    for i, t in enumerate(times):
        start = bisect_left(times, t - period + 1e-9)
        in_window = i - start + 1
        worst = max(worst, in_window)
        over += in_window > limit
    return over, worst


async def main(chats: int, concurrency: int, rate: float, stock: bool) -> None:
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
    limiter = AIORateLimiter() if stock else telegram_rate_limiter(rate)
    bot = ExtBot(
        server.token,
        base_url=server.base_url,
        rate_limiter=limiter,
        request=HTTPXRequest(connection_pool_size=concurrency + 8),
    )
    loop = DeliveryLoop(
        sessions,
        lambda _: TelegramSender(bot),
        owner="bench",
        concurrency=concurrency,
        lease_seconds=600,
    )
    async with bot:
        t0 = time.perf_counter()
        await loop.run_once(batch=200)
        elapsed = time.perf_counter() - t0
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
    pacing = "stock AIORateLimiter()" if stock else f"telegram_rate_limiter({rate:g}/s)"
    print(f"chats {chats}, concurrency {concurrency}, {pacing}")
    print(
        f"sent {len(sent)} messages in {elapsed:.1f}s: {len(sent) / elapsed:.2f} msg/s overall, "
        f"{sustained:.2f} msg/s sustained (middle 80%)"
    )
    print(
        f"429 answers: {answered_429}; arrivals above 30 in any 1 s: {over} (max in 1 s: {worst})"
    )
    print(f"outbox: {counts}; delivery stats: {loop.stats}")
    print(f"peak RSS: {rss_mb:.0f} MiB")
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=float, default=29.0, help="messages per second overall")
    parser.add_argument("--stock", action="store_true", help="the default AIORateLimiter()")
    args = parser.parse_args()
    asyncio.run(main(args.chats, args.concurrency, args.rate, args.stock))
