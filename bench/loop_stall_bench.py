"""Benchmark: the longest event-loop stall while one 5 MB feed is polled (goal < 100 ms).

A heartbeat task wakes every 5 ms on the poller's event loop and records how late it woke;
the longest delay is the longest time the loop could not answer a Telegram update, a Slack
request or the outbox. The feed (generated news-like RSS items, about 1 KB each) is served on
loopback by another process and polled by the real ``Poller`` into a fresh SQLite database,
claims off.

Three runs on the same bytes, in one process:
  first     the poller as shipped, the process's first poll (one-off imports and start-ups)
  off-loop  the poller as shipped, a later poll: parse in a worker process, store and
            fetch-state writes in worker threads
  on-loop   the peer: the same poller with ``asyncio.to_thread`` replaced by a direct call, as
            parse and store ran before (the stall issue 15 reported)

Prints wall and CPU time of each poll, the longest and 99th-percentile stall, the longest full
garbage collection, and the ratio; first the same heartbeat on an idle loop for 5 s, since on a
loaded machine the OS scheduler alone makes the loop wake late.

    python bench/loop_stall_bench.py [--mb 5] [--max-entries 1000] [--no-peer]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bot.feeds.poller as poller_module
from bot.feeds.fetch import make_client
from bot.feeds.parse import parse_feed
from bot.feeds.poller import Poller
from bot.feeds.relevance import load_topics
from bot.settings import CONFIG_DIR, Settings
from storage import feeds as feed_store
from storage.db import make_engine, make_session_factory, upgrade

TICK = 0.005
WORDS = [
    "officials",
    "plant",
    "north",
    "country",
    "expanded",
    "output",
    "shells",
    "rockets",
    "year",
    "satellite",
    "imagery",
    "analysts",
    "factory",
    "line",
    "workers",
    "ministry",
    "shipment",
    "port",
    "rail",
    "convoy",
    "launcher",
    "artillery",
    "drone",
    "engine",
    "radar",
    "sanctions",
    "envoy",
    "border",
    "customs",
    "freight",
    "tonnes",
    "vessel",
    "dock",
    "warehouse",
]


def make_feed(megabytes: float) -> tuple[bytes, int]:
    items: list[str] = []
    size = 0
    i = 0
    rng = random.Random(7)
    while size < megabytes * 1024 * 1024:
        text = " ".join(rng.choice(WORDS) for _ in range(130))  # distinct stories, no near-dups
        item = (
            f"<item><title>Story {i}: munitions plant expands production</title>"
            f"<link>https://news.example/story/{i}</link><guid>story-{i}</guid>"
            f"<pubDate>Mon, 06 Nov 2023 10:00:00 GMT</pubDate>"
            f"<description>{text} {i}.</description></item>"
        )
        items.append(item)
        size += len(item)
        i += 1
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
    return (head + "".join(items) + "</channel></rss>").encode(), i


class _InlineAsyncio:
    """``asyncio`` with ``to_thread`` calling its function on the loop: the on-loop peer."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def to_thread(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """The feed served by another process (``http.server``), as a remote outlet would be: the
    server's own work is not charged to the poller's loop."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait()


async def _parse_inline(body: bytes, **kwargs: Any) -> Any:
    return parse_feed(body, **kwargs)


async def heartbeat(lates: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + TICK
        await asyncio.sleep(TICK)
        lates.append(max(0.0, loop.time() - due))


async def one_poll(url: str, settings: Settings, workdir: Path, tag: str) -> dict[str, float]:
    db_url = f"sqlite:///{workdir / f'{tag}.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        feed_store.add_feed(
            session, url=url, name="Big", poll_interval_seconds=900, added_by="bench"
        )
    topics = load_topics(CONFIG_DIR / "topics.toml")
    lates: list[float] = []
    pauses: list[float] = []
    started: list[float] = []

    def gc_timer(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started and info["generation"] == 2:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(gc_timer)
    stop = asyncio.Event()
    async with make_client(settings) as client:
        poller = Poller(settings=settings, sessions=sessions, client=client, topics=topics)
        beat = asyncio.create_task(heartbeat(lates, stop))
        await asyncio.sleep(0.05)
        wall, cpu = time.perf_counter(), time.process_time()
        report = await poller.run_cycle()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stop.set()
        await beat
    gc.callbacks.remove(gc_timer)
    engine.dispose()
    if report.errors:
        raise SystemExit(f"poll failed: {report.error_lines}")
    return {
        "wall": wall,
        "cpu": cpu,
        "stored": report.new_stories,
        "max": max(lates),
        "gc2": max(pauses, default=0.0),
        "p99": statistics.quantiles(lates, n=100)[98] if len(lates) > 100 else max(lates),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--max-entries", type=int, default=Settings().poll_max_entries)
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    body, entries = make_feed(args.mb)
    print(f"feed: {len(body) / 1e6:.1f} MB, {entries} entries; poll_max_entries {args.max_entries}")
    settings = Settings(
        allow_private_feeds=True,
        fetch_max_bytes=len(body) + 1024,
        poll_max_entries=args.max_entries,
    )
    idle: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(idle, stop))
    await asyncio.sleep(5)
    stop.set()
    await beat
    print(
        f"idle loop (no poll, machine load {os.getloadavg()[0]:.1f}): longest stall "
        f"{max(idle) * 1000:.1f} ms, p99 {statistics.quantiles(idle, n=100)[98] * 1000:.1f} ms"
    )
    with tempfile.TemporaryDirectory() as tmp, static_server(Path(tmp)) as base:
        # The first poll of a process also pays one-off imports and start-ups (anyio's
        # backend, the thread pool, the parser processes), as `nkwatch run` does once: it is
        # reported on its own, then a poll of a process that has polled before.
        runs = [("first", False), ("off-loop", False)]
        runs += [] if args.no_peer else [("on-loop", True)]
        results: dict[str, dict[str, float]] = {}
        for tag, inline in runs:
            (Path(tmp) / f"{tag}.xml").write_bytes(body)
            url = f"{base}/{tag}.xml"
            original = poller_module.asyncio, poller_module.parse_off_loop
            if inline:
                poller_module.asyncio = _InlineAsyncio()  # type: ignore[assignment]
                poller_module.parse_off_loop = _parse_inline  # type: ignore[assignment]
            try:
                results[tag] = await one_poll(url, settings, Path(tmp), tag)
            finally:
                poller_module.asyncio, poller_module.parse_off_loop = original
            r = results[tag]
            print(
                f"{tag:9} poll wall {r['wall']:6.2f} s  cpu {r['cpu']:6.2f} s  "
                f"stored {int(r['stored'])}  longest stall {r['max'] * 1000:8.1f} ms  "
                f"p99 {r['p99'] * 1000:6.1f} ms  longest full GC {r['gc2'] * 1000:6.1f} ms"
            )
        if "on-loop" in results:
            ratio = results["on-loop"]["max"] / max(results["off-loop"]["max"], 1e-6)
            print(f"longest stall on-loop / off-loop: {ratio:.0f}x")
        worst = max(results["first"]["max"], results["off-loop"]["max"])
        verdict = "met" if worst < 0.1 else "NOT met"
        print(f"goal < 100 ms longest stall (first and later poll): {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
