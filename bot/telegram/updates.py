"""How updates reach the Telegram bot: a webhook Telegram calls, or long polling.

Webhook mode suits any number of processes behind a load balancer; long polling is one process's
job at a time (``bot.telegram.leader``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.context import AppContext

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Webhook mode instead of long polling (needs a public HTTPS URL pointing at listen:port)."""

    url: str
    listen: str = "0.0.0.0"  # noqa: S104 - a webhook must be reachable
    port: int = 8443
    url_path: str = "telegram"
    secret_token: str | None = None


def webhook_from_settings(ctx: AppContext) -> WebhookConfig | None:
    settings = ctx.settings
    url = getattr(settings, "telegram_webhook_url", None)
    if not url:
        return None
    secret = getattr(settings, "telegram_webhook_secret", None)
    return WebhookConfig(
        url=str(url),
        listen=str(getattr(settings, "telegram_webhook_listen", "0.0.0.0")),  # noqa: S104
        port=int(getattr(settings, "telegram_webhook_port", 8443)),
        secret_token=secret.get_secret_value() if secret is not None else None,
    )


async def start_webhook(
    application: Application[Any, Any, Any, Any, Any, Any], webhook: WebhookConfig
) -> None:
    """Let Telegram push updates to ``webhook.url`` (served on listen:port)."""
    updater = application.updater
    assert updater is not None
    await updater.start_webhook(
        listen=webhook.listen,
        port=webhook.port,
        url_path=webhook.url_path,
        webhook_url=webhook.url,
        secret_token=webhook.secret_token,
        allowed_updates=ALLOWED_UPDATES,
    )


async def start_polling(
    application: Application[Any, Any, Any, Any, Any, Any], *, poll_interval: float = 0.0
) -> None:
    updater = application.updater
    assert updater is not None
    await updater.start_polling(
        poll_interval=poll_interval,
        timeout=10,
        drop_pending_updates=False,
        allowed_updates=ALLOWED_UPDATES,
    )
