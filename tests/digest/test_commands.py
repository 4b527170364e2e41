from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from click.testing import CliRunner

from bot.digest.cli import digest_command
from bot.settings import load_settings
from tests.conftest import Database
from tests.helpers.stories import C, add_story, add_subscription


def _app(db: Database) -> SimpleNamespace:
    return SimpleNamespace(settings=load_settings(database_url=db.url), sessions=db.sessions)


def test_digest_preview_for_a_chat_and_a_window(db: Database) -> None:
    now = datetime.now(UTC)
    with db.sessions() as session:
        add_story(
            session,
            title="Shell plant <opens>",
            at=now - timedelta(hours=2),
            claims=[C("A shell plant opened in Kanggye.")],
        )
        add_story(session, title="Older", at=now - timedelta(days=5), claims=[C("old")])
        add_subscription(session, chat_id="-42", covered_until=now - timedelta(hours=3))
        add_subscription(session, chat_id="-43", covered_until=now - timedelta(hours=1))
        session.commit()
    runner = CliRunner()
    out = runner.invoke(digest_command, ["--chat", "telegram:-42", "--format", "md"], obj=_app(db))
    assert out.exit_code == 0, out.output
    assert "Shell plant \\<opens\\>" in out.output
    assert "Older" not in out.output
    later = runner.invoke(digest_command, ["--chat", "telegram:-43"], obj=_app(db))
    assert "Nothing new since" in later.output

    since = (now - timedelta(days=6)).date().isoformat()
    window = runner.invoke(
        digest_command, ["--since", since, "--format", "slack-json"], obj=_app(db)
    )
    assert window.exit_code == 0, window.output
    blocks = json.dumps(json.loads(window.output))
    assert "Older" in blocks
    assert "Shell plant &lt;opens&gt;" in blocks
    html = runner.invoke(digest_command, ["--since", since, "--format", "html"], obj=_app(db))
    assert "Shell plant &lt;opens&gt;" in html.output


def test_digest_bad_arguments_get_clear_errors(db: Database) -> None:
    runner = CliRunner()
    cases = {
        ("--chat", "nochat"): "PLATFORM:ID",
        ("--chat", "telegram:999"): "no active subscription for telegram:999",
        ("--since", "yesterday-ish"): "ISO date",
        ("--since", "2026-02-02", "--until", "2026-01-01"): "--since must be before --until",
    }
    for args, message in cases.items():
        result = runner.invoke(digest_command, list(args), obj=_app(db))
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
