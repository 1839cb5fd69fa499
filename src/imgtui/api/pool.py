"""The httpx clients: one shared TLS context, client settings, and a pool of shared clients.

A client holds a connection pool (32 connections). `ClientPool` lends one shared client per
timeout to tasks while their streams fit in it, and a private client to a task that would
overflow it; the TUI and the CLI run tasks through it alike.

    pool = ClientPool()
    async with pool.lease(conn, n) as client:
        async for event in stream_images(conn, req, client=client): ...
    await pool.aclose()
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
from collections.abc import AsyncIterator

import httpx

from imgtui.api.request import Connection

#: Connections in one client's pool.
MAX_CONNECTIONS = 32
#: Streams the pool puts on one shared client before a task gets its own.
SHARED_SLOTS = 24


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """The TLS context every client shares (httpx's default: certifi, or SSL_CERT_FILE).

    Building one loads the CA bundle: tens of ms holding the GIL, so it happens once (the
    app warms it in a thread at start-up, before any stream runs).
    """
    return httpx.create_ssl_context()


def make_client(conn: Connection) -> httpx.AsyncClient:
    """An httpx client for one connection: long read timeout, short connect timeout."""
    timeout = httpx.Timeout(conn.timeout, connect=min(20.0, conn.timeout))
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=8)
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, follow_redirects=True, verify=ssl_context()
    )


class ClientPool:
    """Shared httpx clients, one per timeout, lent to tasks by the number of streams.

    A task that would push the streams on the shared client past `shared_slots` gets a
    client of its own, closed when its lease ends. Not thread-safe: use it from one loop.
    """

    def __init__(self, shared_slots: int = SHARED_SLOTS) -> None:
        self.shared_slots = shared_slots
        self._clients: dict[float, httpx.AsyncClient] = {}
        self._lock = asyncio.Lock()
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        """Streams currently on shared clients."""
        return self._in_flight

    @contextlib.asynccontextmanager
    async def lease(self, conn: Connection, streams: int = 1) -> AsyncIterator[httpx.AsyncClient]:
        """A client for a task of `streams` parallel streams, for the `async with` block.

        New clients are made in a thread (creating one builds an SSL context).
        """
        if self._in_flight + streams > self.shared_slots:
            own = await asyncio.to_thread(make_client, conn)
            try:
                yield own
            finally:
                await own.aclose()
            return
        async with self._lock:
            client = self._clients.get(conn.timeout)
            if client is None:
                client = self._clients[conn.timeout] = await asyncio.to_thread(make_client, conn)
        self._in_flight += streams  # no await after this before the try: always given back
        try:
            yield client
        finally:
            self._in_flight -= streams

    async def aclose(self) -> None:
        """Close every shared client (at shutdown, once no task runs)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
