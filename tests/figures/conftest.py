"""The Telegram and Slack harnesses, for tests that watch a series from both platforms."""

from tests.slack.conftest import slack, slack_api
from tests.telegram.conftest import make_bot, server

__all__ = ["make_bot", "server", "slack", "slack_api"]
