"""`nkwatch run` as a real process: Telegram through the loopback Bot API server, a feed from the
loopback feed server, health over HTTP, and a graceful stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest

from bot.corpus import CORPUS_DIR
from tests.helpers.feed_server import FeedServer
from tests.helpers.telegram_server import TelegramTestServer

SAMPLES = CORPUS_DIR.parent / "samples" / "feeds"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_run_serves_polls_and_stops_gracefully(tmp_path: Path) -> None:
    telegram = TelegramTestServer()
    await telegram.start()
    feeds = FeedServer().start()
    try:
        feed_url = feeds.put("/defense.xml", (SAMPLES / "defense_wire.rss.xml").read_bytes())
        feeds_file = tmp_path / "feeds.toml"
        feeds_file.write_text(
            f'[[feed]]\nname = "Defense Wire"\nurl = "{feed_url}"\ninterval_seconds = 60\n'
        )
        ops_port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("NKWATCH_")}
        env.update(
            NKWATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
            NKWATCH_TELEGRAM_TOKEN=telegram.token,
            NKWATCH_TELEGRAM_BASE_URL=telegram.base_url,
            NKWATCH_FEEDS_FILE=str(feeds_file),
            NKWATCH_ALLOW_PRIVATE_FEEDS="true",
            NKWATCH_SEMANTIC="off",
            NKWATCH_OPS_PORT=str(ops_port),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # Start-up is done when the command menu is published.
            await telegram.wait_sent(1, method="setMyCommands", within=180)
            await telegram.send_command(
                "/claim Kim toured weapons factories for three days through Saturday.", chat_id=5
            )
            replies = await telegram.wait_sent(1, chat_id=5, within=60)
            assert "repeated" in replies[0].params["text"].lower()
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops_port}") as client:
                assert (await client.get("/healthz")).status_code == 200
                # The poller's first cycle stores the sample feed's stories.
                for _ in range(120):
                    metrics = (await client.get("/metrics")).text
                    if "nkwatch_poll_cycles_total 1.0" in metrics:
                        break
                    await asyncio.sleep(0.5)
                assert "nkwatch_poll_cycles_total 1.0" in metrics
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        stderr = (await proc.stderr.read()).decode() if proc.stderr else ""
        assert code == 0, stderr[-3000:]
        assert "shutting down" in stderr
        assert telegram.token not in stderr  # the token never reaches the logs
    finally:
        feeds.stop()
        await telegram.stop()
