"""Logs scrub secrets and stay one line; health and metrics answer over real HTTP."""

from __future__ import annotations

import json
import logging
import socket
import sys

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

from bot.ops import JsonFormatter, SecretFilter, TextFormatter, scrub, start_ops_server
from storage import articles
from storage.db import make_engine
from storage.models import Claim, PollRun
from tests.conftest import Database

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("nkwatch.test", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_scrub_removes_bot_tokens_slack_tokens_and_configured_secrets() -> None:
    text = f"POST https://api.telegram.org/bot{TOKEN}/getUpdates xoxb-1234567890-abcdefghij sesame"
    cleaned = scrub(text, ["sesame"])
    assert TOKEN not in cleaned
    assert "xoxb-1234567890" not in cleaned
    assert "sesame" not in cleaned
    assert cleaned.count("[redacted]") == 3


def test_filter_scrubs_arguments_and_tracebacks() -> None:
    record = _record("calling %s", f"https://x/bot{TOKEN}/sendMessage")
    try:
        raise RuntimeError(f"failed with {TOKEN}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    SecretFilter().filter(record)
    line = JsonFormatter().format(record)
    assert TOKEN not in line
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["msg"] == "calling https://x/bot[redacted]/sendMessage"
    assert "failed with [redacted]" in payload["exc"]


def test_json_and_text_lines_carry_ids() -> None:
    record = _record("fetched", feed_id=7, chat_id="-100", claim_id=3)
    payload = json.loads(JsonFormatter().format(record))
    assert (payload["feed_id"], payload["chat_id"], payload["claim_id"]) == (7, "-100", 3)
    text = TextFormatter().format(record)
    assert "feed_id=7" in text
    assert "chat_id=-100" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_health_and_metrics_over_http(db: Database) -> None:
    with db.sessions.begin() as session:
        article = articles.add_article(
            session, origin="feed", title="t", content_hash="x", text="t"
        )
        session.add_all(
            [
                Claim(article_id=article.id, position=0, text="a", verdict="new"),
                Claim(article_id=article.id, position=1, text="b", verdict="repeated"),
                Claim(article_id=article.id, position=2, text="c", verdict="repeated"),
                PollRun(feeds_polled=3, errors=2),
            ]
        )
    port = _free_port()
    runner = await start_ops_server(db.sessions, host="127.0.0.1", port=port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            metrics = await client.get("/metrics")
    finally:
        await runner.cleanup()
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    body = metrics.text
    assert 'nkwatch_claims_total{verdict="repeated"} 2.0' in body
    assert 'nkwatch_claims_total{verdict="new"} 1.0' in body
    assert "nkwatch_poll_errors_total 2.0" in body
    assert "nkwatch_outbox_queue_depth 0.0" in body


async def test_health_reports_unreachable_database(tmp_path: pytest.TempPathFactory) -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    port = _free_port()
    runner = await start_ops_server(sessionmaker(engine), host="127.0.0.1", port=port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
    finally:
        await runner.cleanup()
        engine.dispose()
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy"
