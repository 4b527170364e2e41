"""Benchmark: one poll cycle over 1,000 feeds served on loopback, and feedparser's parse rate.

The feed server runs in a separate process (so its CPU is not counted against the poller) on 16
loopback addresses (127.0.0.1-16, so the per-host limit behaves as with many outlets). Feeds are
20-100 KB RSS 2.0 documents of generated news-like items.

Cycle 1 (cold): every feed answers 200 and every entry is new.
Cycle 2 (measured, the steady state): every feed is due again; half answer 304 (unchanged, ETag
matches), half answer 200 with 3 new items on top of the ones already stored.

Both cycles run twice, side by side, each on a fresh database: "serial" parses every feed in a
thread of the poller's process (as before: feedparser holds the GIL, so one core), "parallel" as
shipped (feeds of 16 KB and more in the parse worker processes, on the other cores). Prints wall
time, CPU time of the poller process, CPU time of the worker processes, their sum, the poller's
peak RSS and the workers' PSS; then feedparser's parse rate on the same documents. Goal: steady
cycle <= 10 s wall and <= 300 MB on a 2-core machine.

    python bench/poll_bench.py [--feeds 1000] [--mode both|serial|parallel]
                               [--database-url URL (one mode per empty database)]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from aiohttp import web
from sqlalchemy import func, select, text, update

from bot.feeds import offload
from bot.feeds.fetch import make_client
from bot.feeds.parse import parse_feed
from bot.feeds.poller import ClaimCounts, Poller
from bot.settings import Settings
from storage import feeds as feed_store
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Article, Feed

HOSTS = [f"127.0.0.{i}" for i in range(1, 17)]
PARALLEL_BYTES = offload.PROCESS_PARSE_BYTES  # the shipped threshold
PORT = 0
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "said",
    "on",
    "for",
    "with",
    "as",
    "by",
    "at",
    "from",
    "that",
    "was",
    "officials",
    "government",
    "military",
    "factory",
    "production",
    "report",
    "week",
    "month",
    "year",
    "analysts",
    "country",
    "leader",
    "visit",
    "region",
    "talks",
    "economy",
    "market",
    "trade",
    "ministry",
    "statement",
    "spokesman",
    "plan",
    "program",
    "security",
    "border",
    "capital",
    "exports",
    "imports",
    "growth",
    "budget",
    "election",
    "parliament",
    "court",
    "police",
    "weather",
    "festival",
    "rail",
]
NK = ["North Korea", "Pyongyang", "Kim Jong Un", "KCNA", "North Korean"]
ARMS = ["missile", "artillery shells", "rocket launcher", "ICBM", "munitions", "drones"]


def make_item(rng: random.Random, feed: int, n: int) -> str:
    relevant = rng.random() < 0.4
    words = [rng.choice(WORDS) for _ in range(rng.randint(120, 420))]
    if relevant:
        for _ in range(6):
            words.insert(rng.randrange(len(words)), rng.choice(NK))
            words.insert(rng.randrange(len(words)), rng.choice(ARMS))
    text = " ".join(words)
    sentences = ". ".join(text[i : i + 160] for i in range(0, len(text), 160))
    title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
    if relevant:
        title = f"{rng.choice(NK)} {rng.choice(ARMS)} {title}"
    day = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=feed * 37 + n * 11)
    return (
        f"<item><title>{title}</title>"
        f"<link>https://outlet{feed % 97}.example/{feed}/story-{n}?utm_source=rss</link>"
        f'<guid isPermaLink="false">f{feed}-{n}</guid>'
        f"<pubDate>{day.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description><![CDATA[<p>{sentences}.</p>]]></description></item>\n"
    )


def make_feed(feed: int, generation: int) -> bytes:
    rng = random.Random(feed)
    target = rng.randint(20_000, 100_000)
    items: list[str] = []
    size = 0
    n = 0
    while size < target:
        item = make_item(random.Random(feed * 100_003 + n), feed, n)
        items.append(item)
        size += len(item)
        n += 1
    extra = [
        make_item(random.Random(-feed * 7 - k), feed, 10_000 + k) for k in range(3 * generation)
    ]
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Bench feed {feed}</title><link>https://outlet{feed}.example/</link>"
        f"<description>generated</description>\n{''.join(reversed(extra))}{''.join(items)}"
        "</channel></rss>\n"
    )
    return body.encode("utf-8")


def serve(count: int, ready: Any, stop: Any, port_out: Any) -> None:
    docs = {i: make_feed(i, 0) for i in range(count)}
    generation = dict.fromkeys(range(count), 0)

    async def handle(request: web.Request) -> web.StreamResponse:
        feed = int(request.match_info["n"])
        body = docs[feed]
        etag = '"' + hashlib.md5(body).hexdigest() + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def rotate(request: web.Request) -> web.StreamResponse:
        for i in range(0, count, 2):  # even feeds get 3 new items; odd ones stay (-> 304)
            generation[i] += 1
            docs[i] = make_feed(i, generation[i])
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}", handle)
        app.router.add_get("/rotate", rotate)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, HOSTS[0], 0, backlog=1024)
        await first.start()
        port = first._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        for host in HOSTS[1:]:
            await web.TCPSite(runner, host, port, backlog=1024).start()
        port_out.value = port
        ready.set()
        while not stop.is_set():  # noqa: ASYNC110 - a multiprocessing.Event
            await asyncio.sleep(0.1)
        await runner.cleanup()

    asyncio.run(main())


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_cpu_seconds() -> dict[int, float]:
    """CPU seconds of each live parse worker process (they outlive a cycle, so
    ``RUSAGE_CHILDREN`` never sees them): utime + stime from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in offload.worker_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def worker_pss_mb() -> float:
    """The parse workers' proportional set size (Pss: pages shared with the forkserver counted
    once between them), which the poller's own RSS leaves out; read at the end of a cycle."""
    total = 0.0
    for pid in offload.worker_pids():
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) / 1024
    return total


async def run_mode(args: argparse.Namespace, mode: str) -> list[tuple[Any, ...]]:
    """Cold and steady cycles on a fresh database, parsing either in threads (serial: one core,
    as before) or in the worker processes (parallel)."""
    offload.PROCESS_PARSE_BYTES = 1 << 62 if mode == "serial" else PARALLEL_BYTES
    workdir = Path(tempfile.mkdtemp(prefix="nkwatch-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    settings = Settings(
        database_url=url,
        allow_private_feeds=True,
        fetch_concurrency=args.concurrency,
        fetch_per_host=2,
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    if args.source_url_index:
        with engine.begin() as connection:
            connection.execute(text("CREATE INDEX ix_article_sources_url ON article_sources (url)"))
    sessions = make_session_factory(engine)
    with sessions.begin() as s:
        for i in range(args.feeds):
            feed_store.add_feed(
                s,
                url=f"http://{HOSTS[i % len(HOSTS)]}:{PORT}/feed/{i}",
                name=f"bench {i}",
                poll_interval_seconds=900,
                added_by="bench",
            )

    handed: list[int] = []

    def on_new(session: object, ids: list[int]) -> ClaimCounts:
        handed.extend(ids)
        return ClaimCounts()

    results: list[tuple[Any, ...]] = []
    async with make_client(settings) as client:
        poller = Poller(settings=settings, sessions=sessions, client=client, on_new_articles=on_new)  # type: ignore[arg-type]
        for label in ("cold", "steady"):
            async with httpx.AsyncClient() as control:  # every mode starts from new items
                await control.get(f"http://{HOSTS[0]}:{PORT}/rotate", timeout=120)
            if results:
                with sessions.begin() as s:
                    s.execute(update(Feed).values(next_check_at=None))
            before = worker_cpu_seconds()
            cpu0, wall0 = cpu_seconds(), time.perf_counter()
            report = await poller.run_cycle()
            wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
            after = worker_cpu_seconds()
            children = sum(t - before.get(pid, 0.0) for pid, t in after.items())
            results.append(
                (mode, label, report, wall, cpu, children, peak_rss_mb(), worker_pss_mb())
            )
    with sessions() as s:
        stored = s.scalar(select(func.count()).select_from(Article))
    print(
        f"{mode}: articles stored {stored}; relevant ids handed to the claim callback "
        f"{len(handed)}",
        flush=True,
    )
    engine.dispose()
    return results


async def parse_rate(args: argparse.Namespace) -> None:
    bodies = []
    async with httpx.AsyncClient() as client:
        for i in range(args.feeds):
            r = await client.get(f"http://{HOSTS[i % len(HOSTS)]}:{PORT}/feed/{i}")
            bodies.append(r.content)
    total = sum(len(b) for b in bodies)
    t0 = time.perf_counter()
    entries = 0
    for b in bodies:
        entries += len(
            parse_feed(b, content_type="application/rss+xml", base_url="http://x/").entries
        )
    parse_s = time.perf_counter() - t0
    print(
        f"parse_feed in one thread (feedparser + titles; body text is made lazily): "
        f"{len(bodies)} feeds, {total / 1e6:.1f} MB, {entries} entries in {parse_s:.2f} s = "
        f"{len(bodies) / parse_s:.0f} feeds/s, {total / 1e6 / parse_s:.1f} MB/s, "
        f"{entries / parse_s:.0f} entries/s"
    )


async def run(args: argparse.Namespace) -> None:
    modes = ["serial", "parallel"] if args.mode == "both" else [args.mode]
    if args.database_url and len(modes) > 1:
        raise SystemExit("--database-url: one --mode per empty database")
    rows: list[tuple[Any, ...]] = []
    for mode in modes:
        rows.extend(await run_mode(args, mode))
    print(f"database: {(args.database_url or 'sqlite (temporary file)').split('?')[0]}")
    print(
        f"feeds: {args.feeds}, concurrency {args.concurrency}, per host 2, {len(HOSTS)} hosts, "
        f"parse workers {offload.PARSE_WORKERS}, {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f}, article_sources.url index: "
        f"{'yes' if args.source_url_index else 'no'}"
    )
    print("cold: all 200, all new; steady: 50% 304, 50% 200 with 3 new items (the goal's figure)")
    print(
        f"{'mode':9} {'cycle':7} {'wall s':>7} {'CPU s':>7} {'workers CPU s':>14} "
        f"{'total CPU s':>12} {'peak RSS MB':>12} {'workers PSS MB':>15} {'polled':>7} "
        f"{'new':>6} {'errors':>6}"
    )
    for mode, label, report, wall, cpu, children, rss, worker_rss in rows:
        print(
            f"{mode:9} {label:7} {wall:7.2f} {cpu:7.2f} {children:14.2f} {cpu + children:12.2f} "
            f"{rss:12.0f} {worker_rss:15.0f} {report.feeds_polled:7} {report.new_stories:6} "
            f"{report.errors:6}"
        )
    steady = {mode: wall for mode, label, _, wall, *_ in rows if label == "steady"}
    if "parallel" in steady:
        verdict = "met" if steady["parallel"] <= 10.0 else "NOT met"
        print(f"goal steady cycle <= 10 s wall (parallel): {verdict}")
    await parse_rate(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--mode",
        choices=["both", "serial", "parallel"],
        default="both",
        help="parse in threads (serial, one core), in worker processes (parallel), or both",
    )
    parser.add_argument(
        "--source-url-index",
        action="store_true",
        help="create the index on article_sources.url proposed for the schema",
    )
    args = parser.parse_args()
    global PORT  # noqa: PLW0603 - the URL builders read it
    ready, stop, port = mp.Event(), mp.Event(), mp.Value("i", 0)
    server = mp.Process(target=serve, args=(args.feeds, ready, stop, port), daemon=True)
    server.start()
    try:
        if not ready.wait(300):
            raise SystemExit("feed server did not start")
        PORT = port.value
        asyncio.run(run(args))
    finally:
        stop.set()
        server.join(10)


if __name__ == "__main__":
    main()
