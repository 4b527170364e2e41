from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.feeds.fetch import make_client
from bot.feeds.relevance import Topics, load_topics
from bot.settings import CONFIG_DIR, Settings
from tests.helpers.feed_server import FeedServer, feed_server


@pytest.fixture(scope="session")
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        allow_private_feeds=True,
        fetch_connect_timeout=2.0,
        fetch_read_timeout=0.5,
        fetch_max_bytes=256 * 1024,
        fetch_max_redirects=3,
        fetch_concurrency=4,
        fetch_per_host=2,
        backoff_base_seconds=60,
        backoff_max_seconds=3600,
        max_consecutive_failures=3,
        relevance_threshold=1.0,
        poll_interval_seconds=900,
        topics_file=CONFIG_DIR / "topics.toml",
        feeds_file=CONFIG_DIR / "feeds.toml",
    )


@pytest.fixture(scope="session")
def topics() -> Topics:
    return load_topics(CONFIG_DIR / "topics.toml")


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(settings) as c:
        yield c
