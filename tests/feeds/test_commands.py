"""The shell commands, run through click against a real database and the loopback server."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.feeds.cli import feeds_group, poll_command, sync_default_feeds
from bot.feeds.config import FeedConfigError, load_feed_specs
from bot.settings import CONFIG_DIR, Settings
from storage import feeds as feed_store
from storage.models import Article, ArticleSource, Claim, Feed
from tests.helpers.feed_server import FeedServer

SAMPLES = Path(__file__).resolve().parents[2] / "bot" / "samples" / "feeds"


@dataclass
class App:
    settings: Settings
    sessions: sessionmaker[Session]


def write_feeds(tmp_path: Path, feeds: list[tuple[str, str]]) -> Path:
    path = tmp_path / "feeds.toml"
    path.write_text(
        "".join(
            f'[[feed]]\nname = "{n}"\nurl = "{u}"\ninterval_seconds = 600\n\n' for n, u in feeds
        )
    )
    return path


@pytest.fixture
def app(db, settings, tmp_path) -> App:
    settings.feeds_file = write_feeds(tmp_path, [])
    return App(settings=settings, sessions=db.sessions)


def run(app: App, command, *args: str):
    return CliRunner().invoke(command, list(args), obj=app, catch_exceptions=False)


def test_shipped_feed_list_is_valid() -> None:
    specs = load_feed_specs(CONFIG_DIR / "feeds.toml", default_interval=900)
    assert len(specs) >= 6
    names = " ".join(s.name for s in specs)
    for outlet in ("NK News", "38 North", "Yonhap", "KCNA Watch", "VOA", "Google News"):
        assert outlet in names
    assert all(s.url.startswith("https://") and s.interval >= 60 for s in specs)
    assert len({s.url for s in specs}) == len(specs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[feed]]\nname = "x"\nurl = "ftp://a"\n', "http"),
        ('[[feed]]\nurl = "https://a.example/"\n', "name"),
        ('[[feed]]\nname = "x"\nurl = "https://a.example/"\ninterval_seconds = 5\n', "interval"),
        ("[[feed]\n", "feeds.toml"),
    ],
)
def test_bad_feed_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text)
    with pytest.raises(FeedConfigError, match=message):
        load_feed_specs(path, default_interval=900)


def test_sync_adds_missing_and_keeps_user_feeds(app: App, tmp_path: Path) -> None:
    app.settings.feeds_file = write_feeds(
        tmp_path, [("One", "https://one.example/feed"), ("Two", "https://two.example/feed")]
    )
    with app.sessions.begin() as s:
        feed_store.add_feed(
            s,
            url="https://user.example/rss",
            name="User",
            poll_interval_seconds=900,
            added_by="cli",
        )
    assert sync_default_feeds(app.settings, app.sessions) == 2
    assert sync_default_feeds(app.settings, app.sessions) == 0
    with app.sessions() as s:
        feeds = {f.url: f for f in feed_store.list_feeds(s)}
    assert set(feeds) == {
        "https://one.example/feed",
        "https://two.example/feed",
        "https://user.example/rss",
    }
    assert feeds["https://one.example/feed"].poll_interval_seconds == 600
    assert feeds["https://one.example/feed"].added_by == "config"


def test_feeds_add_list_remove(app: App, server: FeedServer) -> None:
    url = server.put_file("/cmd/feed.xml", "rss2.xml")
    out = run(app, feeds_group, "add", url, "--name", "Loopback", "--interval", "120")
    assert out.exit_code == 0, out.output
    assert "added feed" in out.output
    dup = CliRunner().invoke(feeds_group, ["add", url + "#x"], obj=app)
    assert dup.exit_code != 0
    assert "already present" in dup.output
    listing = run(app, feeds_group, "list")
    assert "Loopback" in listing.output
    assert "every 120s" in listing.output
    with app.sessions() as s:
        feed_id = feed_store.list_feeds(s)[0].id
    assert "deleted" in run(app, feeds_group, "remove", str(feed_id)).output
    missing = CliRunner().invoke(feeds_group, ["remove", str(feed_id)], obj=app)
    assert missing.exit_code != 0
    assert "no feed" in missing.output
    assert "no feeds" in run(app, feeds_group, "list").output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8080/feed", "non-public"),
        ("http://localhost/feed", "non-public"),
        ("http://169.254.169.254/latest/", "non-public"),
        ("file:///etc/passwd", "http"),
        ("https://example.com/" + "a" * 2100, "longer"),
    ],
)
def test_feeds_add_refuses_unsafe_urls(app: App, url: str, message: str) -> None:
    app.settings.allow_private_feeds = False
    result = CliRunner().invoke(feeds_group, ["add", url], obj=app)
    assert result.exit_code != 0
    assert message in result.output
    with app.sessions() as s:
        assert feed_store.list_feeds(s) == []


def test_feeds_add_rejects_short_interval(app: App) -> None:
    result = CliRunner().invoke(
        feeds_group, ["add", "http://127.0.0.1/f", "--interval", "5"], obj=app
    )
    assert result.exit_code != 0
    assert "60 seconds" in result.output


def test_removing_a_config_feed_disables_it_so_sync_does_not_bring_it_back(
    app: App, tmp_path: Path
) -> None:
    app.settings.feeds_file = write_feeds(tmp_path, [("One", "https://one.example/feed")])
    sync_default_feeds(app.settings, app.sessions)
    with app.sessions() as s:
        feed_id = feed_store.list_feeds(s)[0].id
    assert "disabled" in run(app, feeds_group, "remove", str(feed_id)).output
    sync_default_feeds(app.settings, app.sessions)
    with app.sessions() as s:
        (feed,) = feed_store.list_feeds(s)
        assert not feed.enabled
        assert feed.disabled_reason == "removed by cli"


def serve_samples(server: FeedServer, tmp_path: Path, prefix: str) -> Path:
    feeds = []
    for path in sorted(SAMPLES.glob("*.xml")):
        feeds.append((path.stem, server.put(f"/{prefix}/{path.name}", path.read_bytes())))
    return write_feeds(tmp_path, feeds)


def counts(app: App) -> tuple[int, int, int]:
    with app.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Article)) or 0,
            s.scalar(select(func.count()).select_from(Article).where(Article.relevant.is_(True)))
            or 0,
            s.scalar(select(func.count()).select_from(ArticleSource)) or 0,
        )


def make_all_due(app: App) -> None:
    with app.sessions.begin() as s:
        s.execute(update(Feed).values(next_check_at=None, etag=None, last_modified=None))


def test_poll_once_on_sample_feeds_stores_each_story_once(
    app: App, server: FeedServer, tmp_path: Path, db
) -> None:
    app.settings.feeds_file = serve_samples(server, tmp_path, f"samples-{db.kind}")
    assert "added 3 default feeds" in run(app, feeds_group, "add", "--defaults").output
    first = run(app, poll_command, "--once", "--no-claims")
    assert first.exit_code == 0, first.output
    assert "feeds polled:     3" in first.output
    # 12 sample stories, one of them syndicated in two feeds; 2 are off-topic.
    assert "new stories:      11" in first.output
    assert "relevant stories: 9" in first.output
    assert "errors:           0" in first.output
    assert counts(app) == (11, 9, 12)
    for _ in range(2):
        make_all_due(app)  # no validators: the server sends the full feeds again
        again = run(app, poll_command, "--once", "--no-claims")
        assert "feeds polled:     3" in again.output
        assert "new stories:      0" in again.output
    assert counts(app) == (11, 9, 12)


@pytest.mark.skipif(
    importlib.util.find_spec("bot.claims.engine") is None, reason="claim engine not present yet"
)
def test_poll_once_with_the_claim_engine_stores_claims_once(
    app: App, server: FeedServer, tmp_path: Path, db
) -> None:
    app.settings.feeds_file = serve_samples(server, tmp_path, f"claims-{db.kind}")
    app.settings.semantic = "off"
    run(app, feeds_group, "add", "--defaults")
    first = run(app, poll_command, "--once")
    assert first.exit_code == 0, first.output
    with app.sessions() as s:
        claims = s.scalar(select(func.count()).select_from(Claim))
    assert claims
    assert claims > 0
    make_all_due(app)
    run(app, poll_command, "--once")
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == claims


def test_poll_once_polls_only_the_databases_feeds_and_fails_when_all_fail(
    app: App, server: FeedServer, tmp_path: Path
) -> None:
    app.settings.feeds_file = write_feeds(tmp_path, [("Default", server.url("/status/500"))])
    url = server.url("/status/404")
    assert run(app, feeds_group, "add", url, "--no-check", "--name", "Mine").exit_code == 0
    result = CliRunner().invoke(poll_command, ["--once", "--no-claims"], obj=app)
    assert result.exit_code == 69, result.output  # EX_UNAVAILABLE: every feed failed
    assert "feeds polled:     1" in result.output
    with app.sessions() as s:
        (feed,) = feed_store.list_feeds(s)  # the default list was not added behind our back
    assert f'feed #{feed.id} "Mine" ({url}): HTTP 404' in result.output
    assert "all 1 polled feeds failed" in result.stderr


def test_poll_once_with_no_feeds_says_how_to_add_them(app: App) -> None:
    result = run(app, poll_command, "--once", "--no-claims")
    assert result.exit_code == 0
    assert "feeds polled:     0" in result.output
    assert "feeds add URL, or --defaults" in result.stderr


@pytest.mark.parametrize(("path", "reason"), [("/status/404", "HTTP 404"), ("/html", "not")])
def test_feeds_add_checks_the_url_answers_with_a_feed(
    app: App, server: FeedServer, path: str, reason: str
) -> None:
    url = (
        server.put("/plain.html", b"<html><body>hello</body></html>")
        if path == "/html"
        else (server.url(path))
    )
    refused = CliRunner().invoke(feeds_group, ["add", url], obj=app)
    assert refused.exit_code != 0
    assert "does not answer with a feed" in refused.output
    assert reason in refused.output
    with app.sessions() as s:
        assert feed_store.list_feeds(s) == []
    assert run(app, feeds_group, "add", url, "--no-check").exit_code == 0


def test_feeds_add_wants_url_or_defaults(app: App) -> None:
    assert CliRunner().invoke(feeds_group, ["add"], obj=app).exit_code == 2
    both = CliRunner().invoke(feeds_group, ["add", "http://x.example/", "--defaults"], obj=app)
    assert both.exit_code == 2
