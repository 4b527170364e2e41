"""Operations: one-line structured logs with secrets scrubbed, health and Prometheus metrics.

Metrics are read from the database at scrape time, so every instance sharing one PostgreSQL
reports the same totals and nothing has to be threaded through the pollers and senders.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from storage import stats

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

# Bot API URLs embed the token (".../bot123456:AA.../getUpdates"); Slack tokens start with xox?-.
_TOKEN_PATTERNS = (
    re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}"),
    re.compile(r"xox[abposre]-[A-Za-z0-9-]{10,}"),
    re.compile(r"xapp-[A-Za-z0-9-]{10,}"),
)
# Fields a log call may pass with ``extra=`` that belong in the structured line.
CONTEXT_FIELDS = (
    "feed_id",
    "article_id",
    "claim_id",
    "chat_id",
    "subscription_id",
    "delivery_id",
    "platform",
    "event",
    "status",
    "url",
)
REDACTED = "[redacted]"


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class SecretFilter(logging.Filter):
    """Scrubs tokens from every record before any handler formats it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = scrub(message, self.secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(
                logging.Formatter().formatException(record.exc_info), self.secrets
            )
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the ids passed as extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human lines with the same ids appended as key=value, still one line per event."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record).replace("\n", " | ")
        extras = " ".join(
            f"{name}={record.__dict__[name]}"
            for name in CONTEXT_FIELDS
            if record.__dict__.get(name) is not None
        )
        return f"{base} {extras}" if extras else base


def configure_logging(level: str, *, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(SecretFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet = max(logging.WARNING, logging.getLevelNamesMapping()[level])
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic.runtime.migration", "telegram.ext"):
        logging.getLogger(noisy).setLevel(quiet)


class DatabaseCollector(Collector):
    """Reads the shared tallies from the database on every scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        with self.sessions() as session:
            snap = stats.snapshot(session)
        polls = CounterMetricFamily("nkwatch_poll_cycles", "Poll cycles finished")
        polls.add_metric([], snap.poll_cycles)
        yield polls
        errors = CounterMetricFamily("nkwatch_poll_errors", "Feed fetch errors in poll cycles")
        errors.add_metric([], snap.poll_errors)
        yield errors
        claims = CounterMetricFamily(
            "nkwatch_claims", "Claims stored, by verdict", labels=["verdict"]
        )
        for verdict in ("new", "repeated", "updated"):
            claims.add_metric([verdict], snap.claims_by_verdict.get(verdict, 0))
        yield claims
        deliveries = GaugeMetricFamily(
            "nkwatch_deliveries", "Outbox rows by status", labels=["status"]
        )
        for status, count in sorted(snap.deliveries_by_status.items()):
            deliveries.add_metric([status], count)
        yield deliveries
        queue = GaugeMetricFamily("nkwatch_outbox_queue_depth", "Deliveries not yet sent")
        queue.add_metric(
            [],
            sum(snap.deliveries_by_status.get(s, 0) for s in ("pending", "sending", "retry")),
        )
        yield queue
        feeds = GaugeMetricFamily("nkwatch_feeds", "Feeds by state", labels=["state"])
        feeds.add_metric(["enabled"], snap.feeds_enabled)
        feeds.add_metric(["failing"], snap.feeds_failing)
        feeds.add_metric(["disabled"], snap.feeds_disabled)
        yield feeds
        subs = GaugeMetricFamily("nkwatch_subscriptions_active", "Active subscriptions")
        subs.add_metric([], snap.subscriptions_active)
        yield subs
        last = GaugeMetricFamily(
            "nkwatch_last_success_timestamp_seconds", "Last success, by job", labels=["job"]
        )
        for job, when in (("poll", snap.last_poll_finished), ("delivery", snap.last_delivery_sent)):
            if when is not None:
                last.add_metric([job], when.timestamp())
        yield last


def build_ops_app(sessions: sessionmaker[Session]) -> web.Application:
    from aiohttp import web  # noqa: PLC0415 - only `nkwatch run` serves it; CLI starts stay light

    """`/healthz` (database reachable) and `/metrics` (Prometheus text format)."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(sessions))

    async def healthz(_request: web.Request) -> web.Response:
        try:
            with sessions() as session:
                ok = stats.ping(session)
        except Exception as exc:
            log.warning("health check failed: %s", exc)
            return web.json_response({"status": "unhealthy", "database": str(exc)}, status=503)
        return web.json_response({"status": "ok" if ok else "unhealthy"}, status=200 if ok else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_ops_server(
    sessions: sessionmaker[Session], *, host: str, port: int
) -> web.AppRunner:
    from aiohttp import web  # noqa: PLC0415

    runner = web.AppRunner(build_ops_app(sessions), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("health and metrics on http://%s:%d/healthz and /metrics", host, port)
    return runner
