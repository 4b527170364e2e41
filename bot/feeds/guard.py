"""Addresses vetted at connect time: an ``httpcore`` network backend that closes DNS rebinding.

Checking a URL's host and then letting the HTTP client resolve it again leaves a window: a
hostile DNS server answers a public address to the check and 127.0.0.1 to the connect. Here the
one resolution that counts is the connect's own: the backend resolves the host once, refuses if
any answer is non-public, and opens the TCP connection to a vetted IP. httpcore still takes the
Host header and the TLS server name (SNI, certificate check) from the URL, so nothing else
changes. Every connection of the shared client goes through it: each redirect hop, each pooled
connection (vetted when it was opened) and each full-text page fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import typing
from collections.abc import Awaitable, Callable

import httpcore
import httpx

Vet = Callable[[str, int], Awaitable[list[str]]]
"""Resolve ``(host, port)`` to the addresses that may be connected to, or raise to refuse."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the addresses ``vet`` returns for the host, never to the host name itself."""

    def __init__(self, vet: Vet, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.vet = vet
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        async with asyncio.timeout(timeout):
            addresses = await self.vet(host, port)
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:  # the first that answers, like the system's connect
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _import_anyio_backend() -> None:
    with contextlib.suppress(ImportError):
        importlib.import_module("anyio._backends._asyncio")


def guarded_transport(vet: Vet, *, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with its connection pool on the guarded backend.

    httpx 0.28 has no ``network_backend`` argument yet (encode/httpx#3180), so the pool is built
    here with the same settings httpx would use and put in place of the transport's own.
    """
    # anyio loads its asyncio backend on the first connection: a quarter of a second of imports
    # that would stall a busy event loop later, so it is loaded with the client, at start
    _import_anyio_backend()
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(vet),
    )
    return transport
