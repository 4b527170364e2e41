"""DNS rebinding on loopback: the host answers a public address to the check, 127.0.0.1 after.

A resolver is injected in place of DNS; the feed server listens on 127.0.0.1, so a fetch that
reaches it has been rebound. With the address vetted at connect time it never is.
"""

from __future__ import annotations

import dataclasses
import ssl
import typing

import httpcore
import pytest

from bot.feeds.fetch import FetchLimits, UnsafeURLError, fetch, fetch_article_text, make_client
from bot.feeds.guard import GuardedBackend
from bot.settings import Settings
from tests.helpers.feed_server import FeedServer

PUBLIC = "93.184.216.34"


class Rebinder:
    """Answers ``PUBLIC`` the first ``honest`` times, then 127.0.0.1 (a TTL-0 rebinding)."""

    def __init__(self, honest: int = 1) -> None:
        self.honest = honest
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return [PUBLIC] if len(self.calls) <= self.honest else ["127.0.0.1"]


def guarded(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_feeds": False})


def rebound_url(server: FeedServer, path: str, host: str = "rebind.test") -> str:
    return server.url(path).replace("127.0.0.1", host)


async def test_rebinding_after_the_check_is_refused_at_connect(
    server: FeedServer, settings: Settings
) -> None:
    settings = guarded(settings)
    server.put_file("/rebind/feed.xml", "rss2.xml")
    # "localhost": a client that resolved the name again itself would reach the loopback server
    url = rebound_url(server, "/rebind/feed.xml", host="localhost")
    rebinder = Rebinder(honest=1)  # the check sees a public address, the connect 127.0.0.1
    async with make_client(settings, resolver=rebinder) as client:
        result = await fetch(
            client, url, limits=FetchLimits.from_settings(settings), resolver=rebinder
        )
    assert rebinder.calls == ["localhost", "localhost"]  # checked, then resolved to connect
    assert result.kind == "refused"
    assert result.error == "localhost resolves to non-public address 127.0.0.1"
    assert server.hits["/rebind/feed.xml"] == 0  # no byte reached the loopback server


async def test_full_text_page_fetch_is_guarded_too(server: FeedServer, settings: Settings) -> None:
    settings = guarded(settings)
    server.put("/rebind/page.html", "<html><body><p>secret</p></body></html>")
    rebinder = Rebinder(honest=1)
    async with make_client(settings, resolver=rebinder) as client:
        text = await fetch_article_text(
            client,
            rebound_url(server, "/rebind/page.html"),
            limits=FetchLimits.from_settings(settings),
            resolver=rebinder,
        )
    assert text is None
    assert server.hits["/rebind/page.html"] == 0


async def test_guard_connects_to_the_vetted_address_and_keeps_the_host_header(
    server: FeedServer, settings: Settings
) -> None:
    """The name is resolved once, by the guard; the request still names the host."""
    server.put_file("/rebind/named.xml", "rss2.xml")
    calls: list[str] = []

    async def loopback(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    settings = settings.model_copy(update={"allow_private_feeds": True})
    url = rebound_url(server, "/rebind/named.xml")
    limits = dataclasses.replace(FetchLimits.from_settings(settings), allow_private=True)
    async with make_client(settings, resolver=loopback) as client:
        result = await fetch(client, url, limits=limits)
        again = await fetch(client, url, limits=limits)
    assert result.kind == again.kind == "ok"
    assert calls == ["rebind.test"]  # the second request reused the vetted, pooled connection
    host = server.request_headers["/rebind/named.xml"][-1]["Host"]
    assert host == f"rebind.test:{server.port}"


class _RecordingStream(httpcore.AsyncMockStream):
    def __init__(self, buffer: list[bytes], seen: dict[str, object]) -> None:
        super().__init__(buffer)
        self.seen = seen

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        self.seen["sni"] = server_hostname
        return self


class _RecordingBackend(httpcore.AsyncMockBackend):
    def __init__(self, buffer: list[bytes]) -> None:
        super().__init__(buffer)
        self.seen: dict[str, object] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.seen["connect"] = (host, port)
        return _RecordingStream(list(self._buffer), self.seen)


async def test_https_keeps_the_name_for_sni_while_connecting_to_the_ip() -> None:
    async def public(host: str, port: int) -> list[str]:
        return [PUBLIC]

    inner = _RecordingBackend([b"HTTP/1.1 200 OK\r\n", b"Content-Length: 2\r\n\r\n", b"ok"])
    pool = httpcore.AsyncConnectionPool(network_backend=GuardedBackend(public, inner))
    response = await pool.request("GET", "https://feeds.example/rss")
    assert response.status == 200
    assert inner.seen == {"connect": (PUBLIC, 443), "sni": "feeds.example"}


async def test_guard_refuses_a_mixed_answer_before_connecting() -> None:
    async def mixed(host: str, port: int) -> list[str]:
        raise UnsafeURLError(f"{host} resolves to non-public address 10.0.0.5")

    inner = _RecordingBackend([])
    pool = httpcore.AsyncConnectionPool(network_backend=GuardedBackend(mixed, inner))
    with pytest.raises(UnsafeURLError):
        await pool.request("GET", "http://feeds.example/rss")
    assert inner.seen == {}
