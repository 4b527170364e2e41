"""Slack settings gathered in one place, read from the shared ``Settings`` object.

Fields the shared ``Settings`` may not define yet are read with ``getattr`` defaults here and
nowhere else, so adding them to ``bot/settings.py`` later changes nothing in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.errors import ConfigError
from bot.settings import Settings

Mode = Literal["socket", "http"]

DEFAULT_PATH = "/slack/events"
DEFAULT_HOST = "0.0.0.0"  # noqa: S104 - Slack must reach the request URL
DEFAULT_PORT = 3000
DEFAULT_DIGEST_INTERVAL = 60.0


class SlackConfigError(ConfigError):
    """Slack cannot start with these settings; the message is one line naming the setting."""


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return raw or None


@dataclass(frozen=True, slots=True)
class SlackConfig:
    bot_token: str | None = None
    app_token: str | None = None
    signing_secret: str | None = None
    base_url: str | None = None
    mode: Literal["auto", "socket", "http"] = "auto"
    http_host: str = DEFAULT_HOST
    http_port: int = DEFAULT_PORT
    http_path: str = DEFAULT_PATH
    admin_ids: frozenset[str] = field(default_factory=frozenset)
    digest_interval: float = DEFAULT_DIGEST_INTERVAL
    rate_limit_max_wait: float = 30.0  # a longer Retry-After goes back to the outbox
    rate_limit_retries: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackConfig:
        admins = getattr(settings, "slack_admin_ids", None) or []
        return cls(
            bot_token=_secret(settings.slack_bot_token),
            app_token=_secret(settings.slack_app_token),
            signing_secret=_secret(settings.slack_signing_secret),
            base_url=settings.slack_base_url or None,
            mode=getattr(settings, "slack_mode", "auto") or "auto",
            http_host=str(getattr(settings, "slack_host", DEFAULT_HOST)),
            http_port=int(getattr(settings, "slack_port", DEFAULT_PORT)),
            http_path=str(getattr(settings, "slack_path", DEFAULT_PATH)),
            admin_ids=frozenset(str(a) for a in admins),
            digest_interval=float(
                getattr(settings, "slack_digest_interval_seconds", DEFAULT_DIGEST_INTERVAL)
            ),
        )

    @property
    def configured(self) -> bool:
        """Whether ``nkwatch run`` should start Slack: a bot token plus a way to receive."""
        return bool(self.bot_token and (self.app_token or self.signing_secret))

    def resolved_mode(self) -> Mode:
        """Socket Mode when an app token is set (unless HTTP is forced), else HTTP mode."""
        if not self.bot_token:
            msg = "setting NKWATCH_SLACK_BOT_TOKEN is missing (the xoxb- bot token)"
            raise SlackConfigError(msg)
        if not self.bot_token.startswith("xoxb-"):
            msg = "setting NKWATCH_SLACK_BOT_TOKEN is invalid: a bot token starts with xoxb-"
            raise SlackConfigError(msg)
        mode = self.mode
        if mode == "auto":
            mode = "socket" if self.app_token else "http"
        if mode == "socket":
            if not self.app_token:
                msg = "setting NKWATCH_SLACK_APP_TOKEN is missing (Socket Mode needs xapp-)"
                raise SlackConfigError(msg)
            if not self.app_token.startswith("xapp-"):
                msg = "setting NKWATCH_SLACK_APP_TOKEN is invalid: an app token starts with xapp-"
                raise SlackConfigError(msg)
            return "socket"
        if not self.signing_secret:
            msg = "setting NKWATCH_SLACK_SIGNING_SECRET is missing (HTTP mode verifies requests)"
            raise SlackConfigError(msg)
        return "http"
