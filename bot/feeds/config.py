"""The default feed list (config/feeds.toml) and its start-up sync into the database."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from bot.errors import ConfigError
from bot.feeds.parse import canonical_url
from storage import feeds as feed_store

MIN_INTERVAL = 60


class FeedConfigError(ConfigError, ValueError):
    """config/feeds.toml is malformed; the message names the entry."""


@dataclass(frozen=True, slots=True)
class FeedSpec:
    name: str
    url: str
    interval: int


def load_feed_specs(path: Path, *, default_interval: int) -> list[FeedSpec]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise FeedConfigError(f"{path}: {exc}") from exc
    specs: list[FeedSpec] = []
    for number, raw in enumerate(data.get("feed", []), start=1):
        if not isinstance(raw, dict):
            raise FeedConfigError(f"{path}: [[feed]] #{number} is not a table")
        url = raw.get("url")
        name = raw.get("name")
        interval = raw.get("interval_seconds", default_interval)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise FeedConfigError(f"{path}: [[feed]] #{number} needs an http(s) url")
        if not isinstance(name, str) or not name.strip():
            raise FeedConfigError(f"{path}: [[feed]] #{number} needs a name")
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < MIN_INTERVAL:
            msg = f"{path}: [[feed]] {name!r} interval_seconds must be an integer >= {MIN_INTERVAL}"
            raise FeedConfigError(msg)
        specs.append(FeedSpec(name=name.strip(), url=normalise_feed_url(url), interval=interval))
    return specs


def normalise_feed_url(url: str) -> str:
    """Feed URLs are compared after the same canonicalisation as story URLs."""
    return canonical_url(url)


def sync_feeds(session: Session, specs: list[FeedSpec]) -> int:
    """Add configured feeds missing from the database (matched by URL). Never deletes or
    re-enables anything: feeds removed or added at run time stay as the admins left them.
    Returns the number added."""
    present = feed_store.feed_urls(session)
    added = 0
    for spec in specs:
        if spec.url in present:
            continue
        feed_store.add_feed(
            session,
            url=spec.url,
            name=spec.name,
            poll_interval_seconds=spec.interval,
            added_by="config",
        )
        present.add(spec.url)
        added += 1
    return added
