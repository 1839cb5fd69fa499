"""The call runner: one async iterator of typed events per task.

    async with aclosing(stream_images(conn, req)) as events:
        async for event in events: ...

Closing the iterator (or cancelling the task that consumes it) closes every HTTP response
it opened, so the server sees the disconnect at once.

- The calls of a request (`calls.build_calls`) run in parallel; their events are fanned in.
- Retries happen only before a response body started: connection failures and
  429/502/503, with the back-off of a `RetryPolicy` (injectable: tests pass one that does
  not sleep). A stream that started is never retried (it would bill twice).
- Whatever the reply's shape (SSE, JSON, JSON written into an SSE response without
  framing, a task to poll, a link instead of base64), it is read for what it is.
- Every final image passes `imagecheck` (in a thread) before it is handed over; sizes are
  capped by `Limits`; the whole call is bounded by the connection's deadline.
- Framing is `sse`, event parsing `parse`, sending and redirects `transport`, failure
  mapping `errors`, clients `pool`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from imgtui.api import bigjson
from imgtui.api.b64 import is_b64_text
from imgtui.api.calls import (
    MODELS,
    HttpCall,
    build_calls,
    endpoint_url,
    request_headers,
    request_params,
)
from imgtui.api.errors import (
    HINT_ASYNC_TASK,
    HINT_STREAM_OFF,
    ApiFailure,
    error_object,
    from_error_object,
    from_exception,
    from_response,
    is_stream_refusal,
    scrub,
    scrub_event,
)
from imgtui.api.events import Completed, Event, Failed, FailureKind, ImageMeta, Progress, Started
from imgtui.api.imagecheck import BrokenImage, check_image
from imgtui.api.limits import DEFAULT_LIMITS, Limits
from imgtui.api.parse import (
    IMAGE_KEYS,
    StreamParser,
    async_task,
    b64_image,
    decode_event,
    malformed,
    take_results,
    usage_of,
    with_svg_usage,
)
from imgtui.api.pool import make_client
from imgtui.api.request import Connection, ImageRequest
from imgtui.api.sse import DONE, SSEData, Stray, Unframed, iter_sse
from imgtui.api.transport import (
    Deadline,
    download,
    open_api,
    origin,
    read_body,
    read_chunks,
    read_prefix,
)

PROGRESS_EVERY = 0.25  # seconds between Progress events of one slot
FINAL_GRACE = 15.0  # seconds a stream may run on once its final image arrived


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
    #: Told of each failure about to be retried (the runner slows a profile on 429).
    on_retry: Callable[[ApiFailure], object] | None = None

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when the server gave one, else 1 s, 2 s, 4 s...; at most `max_backoff`."""
        delay = retry_after if retry_after is not None else 0.5 * 2**attempt
        return min(self.max_backoff, delay)


DEFAULT_RETRY = RetryPolicy()


class _Retry(Exception):
    def __init__(self, failure: ApiFailure) -> None:
        self.failure = failure


class CallRunner:
    """Sends one HttpCall (with retries, under one deadline) and yields its slots' events."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        conn: Connection,
        req: ImageRequest,
        call: HttpCall,
        retry: RetryPolicy = DEFAULT_RETRY,
        limits: Limits = DEFAULT_LIMITS,
        deadline: float | None = None,
    ) -> None:
        self.client, self.conn, self.req, self.call = client, conn, req, call
        self.retry, self.limits = retry, limits
        self.deadline = Deadline(deadline)
        self.requested = ImageMeta(req.size, req.quality, req.background, req.output_format)
        self.started_at = time.monotonic()
        self.streaming = False
        self._ended: set[int] = set()

    async def run(self) -> AsyncIterator[Event]:
        """Started for each slot, then its events; every expected failure as `Failed`.

        Every configured secret (key, header and query values) is scrubbed from every text
        the server chose (`scrub_event`).
        """
        for slot in self.call.slots:
            yield Started(slot)
        secrets = self.conn.secrets()
        try:
            async for event in self._attempts():
                yield scrub_event(event, secrets)  # every text the server chose
        except ApiFailure as failure:
            failure.message = scrub(failure.message, secrets)
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
                if self.retry.on_retry is not None:
                    self.retry.on_retry(retry.failure)
                await self.deadline.run(
                    self.retry.sleep(self.retry.backoff(attempt, retry.failure.retry_after))
                )

    async def _send(self) -> AsyncIterator[Event]:
        call = self.call
        self.started_at = time.monotonic()
        headers = request_headers(self.conn)
        if self.req.stream:
            headers["Accept"] = "text/event-stream"
        request = self.client.build_request(
            "POST",
            endpoint_url(self.conn, call.path),
            json=call.json,
            data=call.data,
            files=call.files,
            headers=headers,
            params=request_params(self.conn),
        )
        try:
            async with open_api(self.client, request, self.deadline) as resp:
                if resp.status_code >= 400:
                    body = b""
                    async for chunk in read_chunks(resp, self.deadline):
                        body += chunk
                        if len(body) >= self.limits.max_error_body:
                            break
                    failure = from_response(
                        resp.status_code,
                        resp.headers,
                        body[: self.limits.max_error_body],
                        streamed=self.req.stream,
                        base_url=self.conn.base_url,
                    )
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

    # -- streams -----------------------------------------------------------------------

    async def _read_stream(self, resp: httpx.Response) -> AsyncIterator[Event]:
        slot = self.call.slots[0]
        parser = StreamParser(slot, self.requested, max_partials=self.limits.max_partials)
        last_progress = time.monotonic()
        stray: list[str] = []
        chunks = read_chunks(resp, self.deadline)
        interrupted: Exception | None = None  # what broke the stream after the final arrived
        try:
            async for item in iter_sse(chunks, byte_counts=True, max_event=self.limits.max_event):
                if isinstance(item, int):
                    now = time.monotonic()
                    if now - last_progress >= PROGRESS_EVERY:
                        last_progress = now
                        yield Progress(slot, item)
                    continue
                if item == DONE:
                    break
                if isinstance(item, Stray):
                    if len(stray) < 3:
                        stray.append(item.text)
                    continue
                if isinstance(item, Unframed):
                    # JSON a relay wrote without SSE framing: an error, or a whole reply.
                    try:
                        obj = bigjson.loads(item.data, IMAGE_KEYS)
                    except (ValueError, RecursionError):
                        stray.append(item.data[:300].decode("utf-8", "replace"))
                        continue
                    async for event in self._reply(obj, resp.num_bytes_downloaded):
                        yield event
                    return
                assert isinstance(item, SSEData)
                try:
                    obj = decode_event(item.data, item.start)
                except (ValueError, RecursionError):
                    raise malformed(item.data, item.start) from None
                had_final = parser.final is not None
                for event in parser.feed(obj, resp.num_bytes_downloaded):
                    yield event
                # The event's line and its base64 are the consumer's now: not kept here
                # until the next event (seconds, ~64 MB per 4K stream).
                del item
                obj = event = None  # type: ignore[assignment]
                if parser.done:
                    break
                if parser.final is not None and not had_final:
                    # Only usage and the response id may follow: wait for them briefly.
                    self.deadline.shorten(FINAL_GRACE)
        except (httpx.HTTPError, ApiFailure) as exc:
            if parser.final is None:
                raise
            # The final image arrived (Responses: output_item.done), then the stream
            # broke or stalled: the image is kept, never lost to what came after it.
            interrupted = exc
        if parser.final is None and parser.final_url is not None:
            parser.complete_with(await self._download(parser.final_url))
        if parser.final is None and stray:
            words = " ".join(" ".join(stray).split())[:300]
            raise ApiFailure(
                FailureKind.STREAM,
                f"The server sent text instead of image events: {words}",
                HINT_STREAM_OFF
                if is_stream_refusal(words)
                else "A relay answered in plain text; retry, or turn streaming off for the "
                "profile (--no-stream) if it persists.",
            )
        nbytes = resp.num_bytes_downloaded
        try:
            done = await self._checked(lambda: parser.finish(nbytes))
        except ApiFailure:
            if interrupted is not None:  # its base64 was broken: what broke the stream counts
                raise interrupted from None
            raise
        yield done

    # -- whole replies -----------------------------------------------------------------

    async def _read_json(self, resp: httpx.Response) -> AsyncIterator[Event]:
        """A non-streaming reply (also what a provider that ignores stream=true sends)."""
        cap = self.limits.max_event * len(self.call.slots)
        body = await read_body(resp, self.deadline, cap)
        try:
            obj = bigjson.loads(body, IMAGE_KEYS)
        except (ValueError, RecursionError):
            raise ApiFailure(
                FailureKind.STREAM,
                f"The server's reply is not JSON: {body[:60]!r}",
                "Check the base URL: it should point at an OpenAI-compatible API (usually …/v1).",
            ) from None
        async for event in self._reply(obj, resp.num_bytes_downloaded):
            yield event

    async def _reply(self, obj: object, nbytes: int) -> AsyncIterator[Event]:
        """Events of a whole JSON reply: an error, an async task, a Response or an Images reply."""
        err = error_object(obj)
        if err is not None:
            raise from_error_object(err, streamed=self.req.stream)
        if not isinstance(obj, dict):
            raise ApiFailure(
                FailureKind.STREAM, "The server's reply is not a JSON object", "Check the base URL."
            )
        task = async_task(obj)
        if task is not None:
            task_id, status = task
            raise ApiFailure(
                FailureKind.BAD_REQUEST,
                f"The provider answered with an asynchronous task ({task_id}, status "
                f"{status}) instead of an image",
                HINT_ASYNC_TASK,
            )
        if self.call.responses or obj.get("object") == "response" or "output" in obj:
            parser = StreamParser(self.call.slots[0], self.requested)
            take_results(obj)
            parser.feed({"type": "response.completed", "response": obj}, nbytes)
            yield await self._checked(lambda: parser.finish(nbytes))
            return
        usage = with_svg_usage(usage_of(obj.get("usage")), obj.get("svg_usage"))
        meta = self.requested.merged(ImageMeta.from_json(obj))
        items = [d for d in obj.get("data") or [] if isinstance(d, dict)]
        for slot, item in zip(self.call.slots, items, strict=False):
            try:
                image = await self._image_of(item)
            except ApiFailure as failure:
                yield failure.event(slot)
                continue
            if image is None:
                yield ApiFailure(
                    FailureKind.STREAM,
                    "The reply held no image data",
                    "The provider answered without b64_json or url.",
                ).event(slot)
                continue
            revised = item.get("revised_prompt")
            done = Completed(
                slot,
                image,
                meta,
                revised if isinstance(revised, str) else None,
                usage if slot == self.call.slots[0] else None,
                None,
                nbytes,
            )
            yield await self._checked(done)
        for slot in self.call.slots[len(items) :]:
            yield ApiFailure(
                FailureKind.STREAM,
                f"The reply held {len(items)} of {len(self.call.slots)} images",
                "The provider returned fewer images than asked.",
            ).event(slot)

    async def _image_of(self, item: dict[str, Any]) -> bytes | None:
        """The image of one Images reply item: its base64 decoded in a thread (never on the
        event loop: a 4K image is 32 MB of it), or its URL downloaded."""
        value = item.get("b64_json")
        if is_b64_text(value):
            return await asyncio.to_thread(b64_image, value)
        url = item.get("url")
        if not isinstance(url, str) or not url:
            return None
        if url.startswith("data:"):
            return await asyncio.to_thread(_data_url_image, url)
        return await self._download(url)

    async def _download(self, url: str) -> bytes:
        """An image URL's bytes; credentials only to the API's own origin (`transport`)."""
        if url.startswith("data:"):
            image = await asyncio.to_thread(_data_url_image, url)
            if image is None:
                raise ApiFailure(FailureKind.STREAM, "The image's data: URL is not base64", "")
            return image
        if not url.lower().startswith(("http://", "https://")):
            raise ApiFailure(
                FailureKind.STREAM,
                f"The image URL is not http(s): {url[:80]}",
                "The provider sent a link imgtui cannot fetch.",
            )
        credentials = request_headers(self.conn)
        credentials.pop("User-Agent", None)
        status, headers, body = await download(
            self.client,
            url,
            api_origin=origin(self.conn.base_url),
            credentials=credentials,
            params=request_params(self.conn),
            deadline=self.deadline,
            cap=self.limits.max_download,
        )
        if status >= 400:
            failure = from_response(status, headers, body)
            failure.message = f"Downloading the image failed: {failure.message}"
            raise failure
        return body

    async def _checked(self, final: Completed | Callable[[], Completed]) -> Completed | Failed:
        """The final image (or the one `final()` gives: it may decode base64; both run in a
        thread), if it is one (else Failed with the bytes kept); text capped. Raises what
        `final()` raises (ApiFailure when no final image arrived)."""

        def made() -> tuple[Completed, BrokenImage | None]:
            done = final if isinstance(final, Completed) else final()
            try:
                check_image(done.image, self.limits)
            except BrokenImage as exc:
                return done, exc
            return done, None

        done, broken = await asyncio.to_thread(made)
        if broken is not None:
            return ApiFailure(
                FailureKind.STREAM,
                f"The final image is not usable: {broken}",
                "The server sent broken image data; the raw bytes are kept for inspection.",
                raw=done.image,
            ).event(done.slot)
        revised = done.revised_prompt
        limit = self.limits.max_revised_prompt
        if revised is not None and len(revised) > limit:
            revised = revised[:limit] + f" … (cut: {len(revised):,} characters)"
        response_id = done.response_id
        if response_id is not None and len(response_id) > self.limits.max_id:
            response_id = None  # not an id any server would accept back
        if revised is not None:
            revised = scrub(revised, self.conn.secrets())
        return replace(done, revised_prompt=revised, response_id=response_id)


def _data_url_image(url: str) -> bytes | None:
    """The image of a `data:...;base64,` URL (`b64_image`), or None."""
    return b64_image(url.partition(",")[2])


# -- the public iterator ---------------------------------------------------------------


async def stream_images(
    conn: Connection,
    req: ImageRequest,
    *,
    client: httpx.AsyncClient | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    limits: Limits = DEFAULT_LIMITS,
    deadline: float | None = -1.0,
) -> AsyncIterator[Event]:
    """Yield the events of every slot of `req` until each slot completed or failed.

    `client`: one lent by a `ClientPool` (else one is made and closed here). `retry`: the
    back-off policy. `limits`: size caps. `deadline`: seconds each call (retries included)
    may take in all, besides the read timeout; default the connection's `deadline`,
    None for no bound. Raises RequestError (before sending anything) when the request is
    invalid. Expected failures never raise: they arrive as `Failed` events.
    """
    req.validate()
    if deadline is not None and deadline < 0:
        deadline = conn.deadline
    own_client = client is None
    # A new client builds an SSL context (tens of ms): not on the event loop.
    http = client if client is not None else await asyncio.to_thread(make_client, conn)
    calls = build_calls(conn, req)

    def runner(call: HttpCall) -> CallRunner:
        return CallRunner(http, conn, req, call, retry, limits, deadline)

    try:
        if len(calls) == 1:
            async for event in runner(calls[0]).run():
                yield event
            return
        queue: asyncio.Queue[Event | None] = asyncio.Queue()  # None: a pump ended

        async def pump(call: HttpCall) -> None:
            try:
                async for event in runner(call).run():
                    await queue.put(event)
            finally:
                await queue.put(None)

        pumps = [asyncio.create_task(pump(call)) for call in calls]
        try:
            running = len(pumps)
            while running:
                item = await queue.get()
                if item is None:
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
    timeout = min(30.0, conn.timeout)
    async with await asyncio.to_thread(make_client, conn) as http:
        request = http.build_request(
            "GET",
            endpoint_url(conn, MODELS),
            headers=request_headers(conn),
            params=request_params(conn),
            timeout=timeout,
        )
        try:
            async with open_api(http, request, Deadline(timeout)) as resp:
                if resp.status_code < 400:
                    return None
                body = b"".join([c async for c in read_chunks(resp, Deadline(timeout))])[:65536]
                failure = from_response(
                    resp.status_code, resp.headers, body, base_url=conn.base_url
                )
        except ApiFailure as exc:
            failure = exc
        except httpx.HTTPError as exc:
            failure = from_exception(exc, timeout=timeout)
    failure.message = scrub(failure.message, conn.secrets())
    return failure.event(0)


async def get_json(conn: Connection, path: str, *, cap: int = 8 * 1024 * 1024) -> object:
    """`GET {base_url}{path}` with the profile's key, headers and query; the decoded JSON.

    Same rules as every API call: redirects only within the origin, the reply capped at
    `cap` bytes, every secret scrubbed from messages. Raises ApiFailure for an HTTP or
    connection failure or a reply that is not JSON. Used for `GET /models`
    (imgtui.models.listing)."""
    timeout = min(30.0, conn.timeout)
    deadline = Deadline(timeout)
    async with await asyncio.to_thread(make_client, conn) as http:
        request = http.build_request(
            "GET",
            endpoint_url(conn, path),
            headers=request_headers(conn),
            params=request_params(conn),
            timeout=timeout,
        )
        try:
            async with open_api(http, request, deadline) as resp:
                if resp.status_code >= 400:
                    body = await read_prefix(resp, deadline, 65536)
                    failure = from_response(
                        resp.status_code, resp.headers, body, base_url=conn.base_url
                    )
                else:
                    return json.loads(await read_body(resp, deadline, cap))
        except ApiFailure as exc:
            failure = exc
        except httpx.HTTPError as exc:
            failure = from_exception(exc, timeout=timeout)
        except (ValueError, RecursionError):
            failure = ApiFailure(
                FailureKind.BAD_REQUEST,
                f"{path} did not answer JSON",
                "Check the base URL: it should end in /v1 for OpenAI-compatible APIs.",
            )
    failure.message = scrub(failure.message, conn.secrets())
    raise failure
