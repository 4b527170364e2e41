"""``run_slack``: the entry point ``nkwatch run`` starts, in Socket Mode and in HTTP mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.claims.types import Verdict
from bot.context import AppContext
from bot.settings import Settings
from bot.slack.app import SlackBot, run_slack, slack_configured
from bot.slack.config import SlackConfig, SlackConfigError
from tests.conftest import Database
from tests.helpers.slack_server import BOT_USER_ID, TEAM_ID, SlackApiServer
from tests.slack.conftest import FakeChecker, make_context, sign

CHECKER = FakeChecker(Verdict(status="new", score=0.1))


@contextlib.asynccontextmanager
async def running(
    db: Database, api: SlackApiServer, config: SlackConfig
) -> AsyncIterator[SlackBot]:
    ctx = make_context(db, api)
    stop = asyncio.Event()
    ready: asyncio.Future[SlackBot] = asyncio.get_running_loop().create_future()

    async def on_ready(bot: SlackBot) -> None:
        ready.set_result(bot)

    task = asyncio.create_task(
        run_slack(ctx, stop=stop, claims=CHECKER, config=config, on_ready=on_ready)
    )
    try:
        async with asyncio.timeout(15):
            done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # raises what went wrong
        yield ready.result()
    finally:
        stop.set()
        async with asyncio.timeout(15):
            await task
        ctx.close()


def _config(api: SlackApiServer, **kw: object) -> SlackConfig:
    base: dict[str, object] = {
        "bot_token": "xoxb-test-token",
        "base_url": api.api_url,
        "http_host": "127.0.0.1",
        "http_port": 0,
    }
    base.update(kw)
    return SlackConfig(**base)  # type: ignore[arg-type]


async def test_socket_mode_end_to_end(db: Database, slack_api: SlackApiServer) -> None:
    config = _config(slack_api, app_token="xapp-1-test")
    async with running(db, slack_api, config) as bot:
        await slack_api.wait_socket()
        assert bot.http_port is None
        opened = slack_api.calls_to("apps.connections.open")
        assert opened
        assert opened[0].headers["authorization"] == "Bearer xapp-1-test"
        # a slash command over the socket: acknowledged on the socket, answered via response_url
        envelope = await slack_api.push_envelope(
            "slash_commands",
            {
                "command": "/nkwatch",
                "text": "subscribe instant",
                "channel_id": "D0SOCKET1",
                "user_id": "U0USER01",
                "team_id": TEAM_ID,
                "response_url": slack_api.response_url("sock1"),
            },
        )
        ack = await slack_api.wait_ack(envelope)
        assert ack["envelope_id"] == envelope
        (answer,) = await slack_api.wait_calls("response:sock1")
        assert "alert as soon as" in json.dumps(answer.args)
        # an app_mention event, then Slack's retry of it: answered once
        event = {
            "type": "event_callback",
            "team_id": TEAM_ID,
            "event_id": "Ev0SOCKET1",
            "event": {
                "type": "app_mention",
                "user": "U0USER01",
                "text": f"<@{BOT_USER_ID}> status",
                "channel": "D0SOCKET1",
                "ts": "1700000000.000100",
            },
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
        await slack_api.wait_ack(await slack_api.push_envelope("events_api", event))
        await slack_api.wait_calls("chat.postMessage", 1)
        await slack_api.wait_ack(await slack_api.push_envelope("events_api", event, retry=1))
        other = {**event, "event_id": "Ev0SOCKET2"}
        await slack_api.wait_ack(await slack_api.push_envelope("events_api", other))
        posted = await slack_api.wait_calls("chat.postMessage", 2)
        assert len(posted) == 2
        assert all("Status" in json.dumps(p.args) for p in posted)


async def test_http_mode_end_to_end(db: Database, slack_api: SlackApiServer) -> None:
    config = _config(slack_api, signing_secret="s3cret")
    async with running(db, slack_api, config) as bot, httpx.AsyncClient() as http:
        assert bot.http_port
        url = f"http://127.0.0.1:{bot.http_port}/slack/events"
        body = (
            "command=%2Fnkwatch&text=help&channel_id=C1&user_id=U1&team_id="
            + TEAM_ID
            + "&response_url="
            + slack_api.response_url("http1").replace(":", "%3A").replace("/", "%2F")
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        refused = await http.post(url, content=body, headers=headers)
        assert refused.status_code == 401
        stale = sign(body, secret="s3cret", timestamp=int(time.time()) - 301)
        refused = await http.post(url, content=body, headers={**headers, **stale})
        assert refused.status_code == 401
        ok = await http.post(url, content=body, headers={**headers, **sign(body, secret="s3cret")})
        assert ok.status_code == 200
        (answer,) = await slack_api.wait_calls("response:http1")
        assert "/nkwatch latest" in json.dumps(answer.args)
        assert (await http.get(f"http://127.0.0.1:{bot.http_port}/healthz")).text == "ok"


async def test_bad_token_fails_at_start(db: Database, slack_api: SlackApiServer) -> None:
    slack_api.fail("auth.test", "invalid_auth")
    config = _config(slack_api, signing_secret="s3cret")
    with pytest.raises(Exception, match="invalid_auth"):
        async with running(db, slack_api, config):
            pass


@pytest.mark.parametrize(
    ("kw", "setting"),
    [
        ({"bot_token": None, "signing_secret": "s"}, "NKWATCH_SLACK_BOT_TOKEN"),
        ({"bot_token": "xoxp-user", "signing_secret": "s"}, "NKWATCH_SLACK_BOT_TOKEN"),
        ({"bot_token": "xoxb-1"}, "NKWATCH_SLACK_SIGNING_SECRET"),
        ({"bot_token": "xoxb-1", "mode": "socket"}, "NKWATCH_SLACK_APP_TOKEN"),
        ({"bot_token": "xoxb-1", "app_token": "xoxb-wrong"}, "NKWATCH_SLACK_APP_TOKEN"),
    ],
)
def test_config_errors_name_the_setting(kw: dict[str, object], setting: str) -> None:
    with pytest.raises(SlackConfigError, match=setting):
        SlackConfig(**kw).resolved_mode()  # type: ignore[arg-type]


def test_mode_selection() -> None:
    assert SlackConfig(bot_token="xoxb-1", app_token="xapp-1").resolved_mode() == "socket"
    assert SlackConfig(bot_token="xoxb-1", signing_secret="s").resolved_mode() == "http"
    forced = SlackConfig(bot_token="xoxb-1", app_token="xapp-1", signing_secret="s", mode="http")
    assert forced.resolved_mode() == "http"


def test_configured_from_settings(db: Database) -> None:
    bare = AppContext(Settings(database_url=db.url), upgrade_on_start=False)
    assert not slack_configured(bare)
    full = AppContext(
        Settings(database_url=db.url, slack_bot_token="xoxb-1", slack_app_token="xapp-1"),
        upgrade_on_start=False,
    )
    assert slack_configured(full)
    config = SlackConfig.from_settings(full.settings)
    assert (config.bot_token, config.app_token, config.http_port) == ("xoxb-1", "xapp-1", 3000)
