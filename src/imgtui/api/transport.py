"""Sending: redirects under a credential rule, a deadline over everything, capped reads.

- Credentials (the Bearer key, every configured header, the query) go only to the origin
  (scheme, host, port) of the request they were meant for. httpx itself drops only
  `Authorization` on a cross-origin redirect, so redirects are followed here: an API call
  follows a redirect only within its origin (never to another host, nor down from https
  to http) and otherwise fails saying where it was sent; an image download follows any
  redirect but carries credentials only while it stays on the API's origin.
- `Deadline`: one wall-clock bound per request besides the read timeout (a server that
  sends a byte a second never trips a read timeout).
- Every body is read counting bytes, and refused past its cap before it is joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from imgtui.api.errors import ApiFailure
from imgtui.api.events import FailureKind

MAX_REDIRECTS = 5
T = TypeVar("T")


def origin(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in."""
    parts = urlsplit(str(url))
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


class Deadline:
    """A point in time (monotonic seconds) by which a request must be over."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def shorten(self, seconds: float) -> None:
        """End at most `seconds` from now (a grace period once the result is in hand)."""
        at = time.monotonic() + seconds
        if self.at is None or at < self.at:
            self.at = at

    def left(self) -> float | None:
        return None if self.at is None else self.at - time.monotonic()

    def failure(self) -> ApiFailure:
        return ApiFailure(
            FailureKind.TIMEOUT,
            f"The request ran past its deadline of {self.seconds:g} s",
            "The server was still sending (slowly) when the deadline passed. If the "
            "provider is just slow, raise the profile's deadline (settings, the config file, or --deadline).",
        )

    async def run(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, failing with `failure()` once the deadline has passed."""
        left = self.left()
        if left is None:
            return await awaitable
        if left <= 0:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise self.failure()
        try:
            async with asyncio.timeout(left):
                return await awaitable
        except TimeoutError:
            raise self.failure() from None


async def read_chunks(
    resp: httpx.Response, deadline: Deadline, cap: int | None = None, what: str = "The reply"
) -> AsyncIterator[bytes]:
    """The body's chunks, each read under the deadline; past `cap` bytes, ApiFailure(STREAM)."""
    chunks = resp.aiter_bytes()
    total = 0
    while True:
        chunk = await deadline.run(anext(chunks, None))
        if chunk is None:
            return
        total += len(chunk)
        if cap is not None and total > cap:
            raise ApiFailure(
                FailureKind.STREAM,
                f"{what} is over the {cap:,}-byte limit: refused",
                "The server sent more than any image needs; it may be broken or hostile.",
            )
        yield chunk


async def read_body(
    resp: httpx.Response, deadline: Deadline, cap: int, what: str = "The reply"
) -> bytes:
    """The whole body (at most `cap` bytes, else ApiFailure(STREAM))."""
    parts = [chunk async for chunk in read_chunks(resp, deadline, cap, what)]
    return b"".join(parts)


async def read_prefix(resp: httpx.Response, deadline: Deadline, cap: int) -> bytes:
    """The first `cap` bytes of the body (an error page: the rest is not worth reading)."""
    out: list[bytes] = []
    size = 0
    async for chunk in read_chunks(resp, deadline):
        out.append(chunk)
        size += len(chunk)
        if size >= cap:
            break
    return b"".join(out)[:cap]


@contextlib.asynccontextmanager
async def open_api(
    client: httpx.AsyncClient, request: httpx.Request, deadline: Deadline
) -> AsyncIterator[httpx.Response]:
    """Send an API request with its credentials; follow redirects only within its origin.

    A redirect elsewhere (another host or port, or https -> http) is not followed: it fails
    with ApiFailure(CONNECTION) naming where the server pointed, so no credential leaves.
    """
    home = origin(request.url)
    resp = await deadline.run(client.send(request, stream=True, follow_redirects=False))
    try:
        for _ in range(MAX_REDIRECTS):
            nxt = resp.next_request if resp.is_redirect else None
            if nxt is None:
                break
            if origin(nxt.url) != home:
                target = f"{nxt.url.scheme}://{nxt.url.netloc.decode('ascii', 'replace')}"
                raise ApiFailure(
                    FailureKind.CONNECTION,
                    f"The server redirected the request to {target} (HTTP {resp.status_code}): "
                    "not followed, so the API key and headers stay with the base URL's host",
                    "If that is where the API really is, use it as the profile's base URL.",
                    resp.status_code,
                )
            await resp.aclose()
            resp = await deadline.run(client.send(nxt, stream=True, follow_redirects=False))
        else:
            if resp.is_redirect:
                raise ApiFailure(
                    FailureKind.CONNECTION,
                    f"More than {MAX_REDIRECTS} redirects",
                    "Check the base URL.",
                    resp.status_code,
                )
        yield resp
    finally:
        await resp.aclose()


async def download(
    client: httpx.AsyncClient,
    url: str,
    *,
    api_origin: tuple[str, str, int | None],
    credentials: dict[str, str],
    params: dict[str, str] | None,
    deadline: Deadline,
    cap: int,
) -> tuple[int, httpx.Headers, bytes]:
    """GET an image URL: (status, headers, body of at most `cap` bytes).

    `credentials` (headers) and `params` (the configured query) go along only while the
    URL's origin is exactly the API's (same scheme, host and port); any other hop gets a
    bare request, also after a redirect. Error bodies are read only up to 64 KiB.
    """
    headers = {"User-Agent": "imgtui"}
    target = httpx.URL(url)
    for _ in range(MAX_REDIRECTS + 1):
        own = origin(target) == api_origin
        request = client.build_request(
            "GET",
            target,
            headers=headers | credentials if own else headers,
            params=params if own else None,
        )
        resp = await deadline.run(client.send(request, stream=True, follow_redirects=False))
        try:
            if resp.is_redirect and resp.next_request is not None:
                target = resp.next_request.url
                continue
            if resp.status_code >= 400:
                return resp.status_code, resp.headers, await read_prefix(resp, deadline, 65536)
            body = await read_body(resp, deadline, cap, "The image download")
            return resp.status_code, resp.headers, body
        finally:
            await resp.aclose()
    raise ApiFailure(
        FailureKind.CONNECTION, f"More than {MAX_REDIRECTS} redirects for an image URL", ""
    )
