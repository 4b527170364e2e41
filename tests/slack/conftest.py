"""The Slack front end under test: real slack-bolt over a real loopback HTTP port.

``slack`` starts the Web API stand-in (``tests/helpers/slack_server.py``), builds the bolt app
with ``build_slack`` against a fresh database, serves it with ``start_http`` on a free loopback
port and gives tests a way to POST signed form bodies (slash commands, buttons) and JSON events to
it with httpx, as Slack does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.claims.types import Attributes, Candidate, Match, Verdict
from bot.context import AppContext
from bot.settings import Settings
from bot.slack.app import SlackBot, build_slack, start_http
from bot.slack.config import SlackConfig
from tests.conftest import Database
from tests.helpers.slack_server import BOT_USER_ID, TEAM_ID, Call, SlackApiServer

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class FakeChecker:
    """Stands in for the claim engine: a prepared verdict, and what it was asked."""

    verdict: Verdict
    asked: list[str] = field(default_factory=list)

    def check(self, text: str, *, top: int = 5) -> Verdict:
        self.asked.append(text)
        return self.verdict


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Sleeps:
    """The rate-limit wait, recorded instead of slept so tests stay fast (and prove the value)."""

    waited: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


def sign(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature, computed independently of slack_sdk."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


MATCHED = Candidate(
    claim_id=7,
    text="North Korea shipped artillery shells to Russia.",
    attrs=Attributes(),
    source="Reuters <wire>",
    published=datetime(2023, 9, 1, tzinfo=UTC),
    url="https://www.reuters.com/world/shells",
)


@dataclass
class SlackHarness:
    api: SlackApiServer
    bot: SlackBot
    http: httpx.AsyncClient
    url: str
    checker: FakeChecker
    clock: Clock
    sleeps: Sleeps
    db: Database

    # ------------------------------------------------------------------ requests

    async def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> httpx.Response:
        sent = {"Content-Type": content_type}
        if signed:
            sent.update(sign(body))
        sent.update(headers or {})
        return await self.http.post(self.url, content=body.encode(), headers=sent)

    def command_body(
        self, text: str, *, channel: str = "C0CHAN01", user: str = "U0USER01"
    ) -> tuple[str, str]:
        name = uuid.uuid4().hex[:10]
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "team_domain": "nkwatch-test",
                "channel_id": channel,
                "channel_name": "directmessage" if channel.startswith("D") else "arms-watch",
                "user_id": user,
                "user_name": "analyst",
                "command": "/nkwatch",
                "text": text,
                "api_app_id": "A0APP001",
                "response_url": self.api.response_url(name),
                "trigger_id": "1.2.3",
            }
        )
        return body, name

    async def command(
        self, text: str, *, channel: str = "C0CHAN01", user: str = "U0USER01"
    ) -> Call:
        """Run ``/nkwatch text`` and return what was posted to its response URL."""
        body, name = self.command_body(text, channel=channel, user=user)
        response = await self.post(body)
        assert response.status_code == 200, response.text
        await self.api.wait_calls(f"response:{name}")
        (answer,) = self.api.responses(name)
        return answer

    def event_body(
        self,
        text: str,
        *,
        event_id: str | None = None,
        channel: str = "C0CHAN01",
        user: str = "U0USER01",
        thread_ts: str | None = None,
    ) -> str:
        event: dict[str, Any] = {
            "type": "app_mention",
            "user": user,
            "text": text,
            "ts": f"{time.time():.6f}",
            "channel": channel,
            "event_ts": f"{time.time():.6f}",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A0APP001",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
            }
        )

    async def mention(self, text: str, **kw: Any) -> Call:
        before = len(self.api.calls_to("chat.postMessage"))
        response = await self.post(self.event_body(text, **kw), content_type="application/json")
        assert response.status_code == 200, response.text
        posted = await self.api.wait_calls("chat.postMessage", before + 1)
        return posted[before]

    async def press(self, button: dict[str, Any], *, channel: str = "C0CHAN01") -> Call:
        name = uuid.uuid4().hex[:10]
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": "U0USER01", "username": "analyst"},
            "api_app_id": "A0APP001",
            "container": {"type": "message", "channel_id": channel, "is_ephemeral": True},
            "channel": {"id": channel, "name": "arms-watch"},
            "trigger_id": "1.2.3",
            "response_url": self.api.response_url(name),
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": "b1",
                    "value": button["value"],
                    "text": button["text"],
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        response = await self.post(urlencode({"payload": json.dumps(payload)}))
        assert response.status_code == 200, response.text
        await self.api.wait_calls(f"response:{name}")
        (answer,) = self.api.responses(name)
        return answer


def text_of(call: Call) -> str:
    """Every mrkdwn/plain text in a message's blocks, joined (what a reader sees)."""
    out: list[str] = []
    for block in call.blocks:
        if isinstance(block.get("text"), dict):
            out.append(str(block["text"].get("text", "")))
        for element in block.get("elements", []):
            if isinstance(element.get("text"), dict):
                out.append(str(element["text"].get("text", "")))
            elif "text" in element:
                out.append(str(element["text"]))
    return "\n".join(out)


def buttons_of(call: Call) -> list[dict[str, Any]]:
    return [e for b in call.blocks if b.get("type") == "actions" for e in b["elements"]]


def make_context(db: Database, api: SlackApiServer, **extra: Any) -> AppContext:
    settings = Settings(
        database_url=db.url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SECRET,
        slack_base_url=api.api_url,
        allow_private_feeds=True,
        **extra,
    )
    return AppContext(settings=settings, upgrade_on_start=False)


@pytest.fixture
async def slack_api() -> AsyncIterator[SlackApiServer]:
    async with SlackApiServer() as server:
        yield server


@pytest.fixture
async def slack(
    db: Database, slack_api: SlackApiServer, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[SlackHarness]:
    caplog.set_level(logging.INFO)
    ctx = make_context(db, slack_api)
    checker = FakeChecker(
        Verdict(status="repeated", score=0.93, matches=(Match(candidate=MATCHED, score=0.93),))
    )
    clock = Clock()
    sleeps = Sleeps()
    config = SlackConfig.from_settings(ctx.settings)
    config = SlackConfig(**{**_fields(config), "admin_ids": frozenset({"U0ADMIN1"})})
    bot = build_slack(ctx, config=config, claims=checker, clock=clock, sleep=sleeps)
    runner, port = await start_http(bot, host="127.0.0.1", port=0)
    async with httpx.AsyncClient(timeout=10) as http:
        yield SlackHarness(
            api=slack_api,
            bot=bot,
            http=http,
            url=f"http://127.0.0.1:{port}/slack/events",
            checker=checker,
            clock=clock,
            sleeps=sleeps,
            db=db,
        )
    await runner.cleanup()
    ctx.close()


def _fields(config: SlackConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__slots__}
