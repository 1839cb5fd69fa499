"""The call runner: one async iterator of typed events per task.

    async with aclosing(stream_images(conn, req)) as events:
        async for event in events: ...

Closing the iterator (or cancelling the task that consumes it) closes every HTTP response
it opened, so the server sees the disconnect at once.

- The calls of a request (`calls.build_calls`) run in parallel; their events are fanned in.
- Retries happen only before a response body started: connection failures and
  429/502/503, with the back-off of a `RetryPolicy` (injectable: tests pass one that does
  not sleep). A stream that started is never retried (it would bill twice).
- Framing is `sse`, event parsing `parse`, failure mapping `errors`, clients `pool`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from imgtui.api import bigjson
from imgtui.api.calls import MODELS, HttpCall, build_calls, endpoint_url, request_headers
from imgtui.api.errors import (
    ApiFailure,
    error_object,
    from_error_object,
    from_exception,
    from_response,
    scrub,
)
from imgtui.api.events import Completed, Event, Failed, FailureKind, ImageMeta, Progress, Started
from imgtui.api.parse import (
    IMAGE_KEYS,
    StreamParser,
    b64_image,
    decode_outputs,
    iter_sse_json,
    usage_of,
)
from imgtui.api.pool import make_client
from imgtui.api.request import Connection, ImageRequest

PROGRESS_EVERY = 0.25  # seconds between Progress events of one slot


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a call again.

    `max_retries` None means the connection's `max_retries`. `backoff(attempt, retry_after)`
    gives the seconds before attempt `attempt` (1-based) from the server's Retry-After, if
    any; `sleep` waits (tests inject one that returns at once).
    """

    statuses: tuple[int, ...] = (429, 502, 503)
    max_retries: int | None = None
    max_backoff: float = 30.0
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gave one, else 1 s, 2 s, 4 s...; at most `max_backoff`."""
        delay = retry_after if retry_after is not None else 0.5 * 2**attempt
        return min(self.max_backoff, delay)


DEFAULT_RETRY = RetryPolicy()


class _Retry(Exception):
    def __init__(self, failure: ApiFailure) -> None:
        self.failure = failure


class CallRunner:
    """Sends one HttpCall (with retries) and yields the events of its slots."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        conn: Connection,
        req: ImageRequest,
        call: HttpCall,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.client, self.conn, self.req, self.call, self.retry = client, conn, req, call, retry
        self.requested = ImageMeta(req.size, req.quality, req.background, req.output_format)
        self.started_at = time.monotonic()
        self.streaming = False
        self._ended: set[int] = set()

    async def run(self) -> AsyncIterator[Event]:
        """Started for each slot, then its events; every expected failure as `Failed`."""
        for slot in self.call.slots:
            yield Started(slot)
        try:
            async for event in self._attempts():
                yield event
        except ApiFailure as failure:
            failure.message = scrub(failure.message, self.conn.api_key)
            for slot in self.call.slots:
                if slot not in self._ended:
                    yield failure.event(slot)

    async def _attempts(self) -> AsyncIterator[Event]:
        limit = self.retry.max_retries
        max_retries = self.conn.max_retries if limit is None else limit
        attempt = 0
        while True:
            try:
                async for event in self._send():
                    if isinstance(event, (Completed, Failed)):
                        self._ended.add(event.slot)
                    yield event
                return
            except _Retry as retry:
                attempt += 1
                if attempt > max_retries:
                    raise retry.failure from None
                await self.retry.sleep(self.retry.backoff(attempt, retry.failure.retry_after))

    async def _send(self) -> AsyncIterator[Event]:
        call = self.call
        url = endpoint_url(self.conn, call.path)
        self.started_at = time.monotonic()
        try:
            async with self.client.stream(
                "POST",
                url,
                json=call.json,
                data=call.data,
                files=call.files,
                headers=request_headers(self.conn)
                | ({"Accept": "text/event-stream"} if self.req.stream else {}),
                params=self.conn.query or None,
            ) as resp:
                if resp.status_code >= 400:
                    body = await self._read_capped(resp)
                    failure = from_response(resp.status_code, resp.headers, body)
                    if resp.status_code in self.retry.statuses:
                        raise _Retry(failure)
                    raise failure
                ctype = resp.headers.get("content-type", "")
                if "text/event-stream" in ctype:
                    self.streaming = True
                    async for event in self._read_stream(resp):
                        yield event
                else:
                    async for event in self._read_json(resp):
                        yield event
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Retry(from_exception(exc, timeout=self.conn.timeout)) from None
        except httpx.HTTPError as exc:
            raise from_exception(
                exc,
                timeout=self.conn.timeout,
                elapsed=time.monotonic() - self.started_at,
                streaming=self.streaming,
            ) from None

    @staticmethod
    async def _read_capped(resp: httpx.Response, cap: int = 256 * 1024) -> bytes:
        out = bytearray()
        async for chunk in resp.aiter_bytes():
            out += chunk
            if len(out) >= cap:
                break
        return bytes(out)

    async def _read_stream(self, resp: httpx.Response) -> AsyncIterator[Event]:
        slot = self.call.slots[0]
        parser = StreamParser(slot, self.requested)
        last_progress = time.monotonic()
        async for obj in iter_sse_json(resp.aiter_bytes(), byte_counts=True):
            if isinstance(obj, int):
                now = time.monotonic()
                if now - last_progress >= PROGRESS_EVERY:
                    last_progress = now
                    yield Progress(slot, obj)
                continue
            if obj == "[DONE]":
                break
            assert isinstance(obj, dict)
            for event in parser.feed(obj, resp.num_bytes_downloaded):
                yield event
            if parser.done:
                break
        yield parser.finish(resp.num_bytes_downloaded)

    async def _read_json(self, resp: httpx.Response) -> AsyncIterator[Event]:
        """A non-streaming reply (also what a provider that ignores stream=true sends)."""
        body = await resp.aread()
        try:
            obj = bigjson.loads(body, IMAGE_KEYS)
        except ValueError:
            raise ApiFailure(
                FailureKind.STREAM,
                f"The server's reply is not JSON: {body[:60]!r}",
                "Check the base URL: it should point at an OpenAI-compatible API (usually …/v1).",
            ) from None
        if not isinstance(obj, dict):
            raise ApiFailure(
                FailureKind.STREAM, "The server's reply is not a JSON object", "Check the base URL."
            )
        err = error_object(obj)
        if err is not None:
            raise from_error_object(err)
        nbytes = resp.num_bytes_downloaded
        if self.call.responses:
            parser = StreamParser(self.call.slots[0], self.requested)
            decode_outputs(obj)
            parser.feed({"type": "response.completed", "response": obj}, nbytes)
            yield parser.finish(nbytes)
            return
        usage = usage_of(obj.get("usage"))
        meta = self.requested.merged(ImageMeta.from_json(obj))
        items = [d for d in obj.get("data") or [] if isinstance(d, dict)]
        for slot, item in zip(self.call.slots, items, strict=False):
            image = await self._image_of(item)
            if image is None:
                yield ApiFailure(
                    FailureKind.STREAM,
                    "The reply held no image data",
                    "The provider answered without b64_json or url.",
                ).event(slot)
            else:
                revised = item.get("revised_prompt")
                yield Completed(
                    slot,
                    image,
                    meta,
                    revised if isinstance(revised, str) else None,
                    usage if slot == self.call.slots[0] else None,
                    None,
                    nbytes,
                )
        for slot in self.call.slots[len(items) :]:
            yield ApiFailure(
                FailureKind.STREAM,
                f"The reply held {len(items)} of {len(self.call.slots)} images",
                "The provider returned fewer images than asked.",
            ).event(slot)

    async def _image_of(self, item: dict) -> bytes | None:
        if isinstance(item.get("b64_json"), (str, bytes)):
            return b64_image(item["b64_json"])
        url = item.get("url")
        if not isinstance(url, str) or not url:
            return None
        if url.startswith("data:"):
            return b64_image(url.partition(",")[2])
        # Only send our credentials to the API's own host; a CDN link gets none.
        same_host = urlsplit(url).netloc == urlsplit(self.conn.base_url).netloc
        resp = await self.client.get(
            url, headers=request_headers(self.conn) if same_host else {"User-Agent": "imgtui"}
        )
        if resp.status_code >= 400:
            raise from_response(resp.status_code, resp.headers, resp.content[:65536])
        return resp.content


# -- the public iterator ---------------------------------------------------------------

_END = object()


async def stream_images(
    conn: Connection,
    req: ImageRequest,
    *,
    client: httpx.AsyncClient | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
) -> AsyncIterator[Event]:
    """Yield the events of every slot of `req` until each slot completed or failed.

    `client` is a client lent by a `ClientPool` (else one is made and closed here);
    `retry` the back-off policy. Raises RequestError (before sending anything) when the
    request is invalid. Expected failures never raise: they arrive as `Failed` events.
    """
    req.validate()
    own_client = client is None
    # A new client builds an SSL context (tens of ms): not on the event loop.
    http = client or await asyncio.to_thread(make_client, conn)
    calls = build_calls(conn, req)
    try:
        if len(calls) == 1:
            async for event in CallRunner(http, conn, req, calls[0], retry).run():
                yield event
            return
        queue: asyncio.Queue = asyncio.Queue()

        async def pump(call: HttpCall) -> None:
            try:
                async for event in CallRunner(http, conn, req, call, retry).run():
                    await queue.put(event)
            finally:
                await queue.put(_END)

        pumps = [asyncio.create_task(pump(call)) for call in calls]
        try:
            running = len(pumps)
            while running:
                item = await queue.get()
                if item is _END:
                    running -= 1
                else:
                    yield item
            for task in pumps:  # surface unexpected errors from a pump
                task.result()
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
    finally:
        if own_client:
            await http.aclose()


async def check_connection(conn: Connection) -> Failed | None:
    """A cheap request (GET /models) to test a profile: None when it answers, else the failure."""
    async with await asyncio.to_thread(make_client, conn) as http:
        try:
            resp = await http.get(
                endpoint_url(conn, MODELS),
                headers=request_headers(conn),
                params=conn.query or None,
                timeout=min(30.0, conn.timeout),
            )
        except httpx.HTTPError as exc:
            failure = from_exception(exc, timeout=min(30.0, conn.timeout))
        else:
            if resp.status_code < 400:
                return None
            failure = from_response(resp.status_code, resp.headers, resp.content[:65536])
    failure.message = scrub(failure.message, conn.api_key)
    return failure.event(0)


async def get_json(conn: Connection, path: str) -> object:
    """`GET {base_url}{path}` with the profile's key, headers and query; the decoded JSON.

    Raises ApiFailure (the key scrubbed from its message) for an HTTP or connection failure
    or a reply that is not JSON. Used for `GET /models` (imgtui.models.listing)."""
    async with await asyncio.to_thread(make_client, conn) as http:
        try:
            resp = await http.get(
                endpoint_url(conn, path),
                headers=request_headers(conn),
                params=conn.query or None,
                timeout=min(30.0, conn.timeout),
            )
            if resp.status_code >= 400:
                failure = from_response(resp.status_code, resp.headers, resp.content[:65536])
            else:
                return json.loads(resp.content)
        except httpx.HTTPError as exc:
            failure = from_exception(exc, timeout=min(30.0, conn.timeout))
        except ValueError:
            failure = ApiFailure(
                FailureKind.BAD_REQUEST,
                f"{path} did not answer JSON",
                "Check the base URL: it should end in /v1 for OpenAI-compatible APIs.",
            )
    failure.message = scrub(failure.message, conn.api_key)
    raise failure
