"""The streaming image client: one async iterator of typed events per task.

    async with aclosing(stream_images(conn, req)) as events:
        async for event in events: ...

Closing the iterator (or cancelling the task that consumes it) closes every HTTP response
it opened, so the server sees the disconnect at once.

Design notes
- n > 1 with streaming (and every Responses call) runs n parallel single-image requests,
  one per slot: stream events carry no image-slot index (PROTOCOL.md §4).
- Retries happen only before a response body started: connection failures and
  429/502/503. A stream that started is never retried (it would bill twice).
- Events are parsed and base64-decoded as they complete, on the event loop: a multi-MB
  line is never decoded as text or scanned by json (see `bigjson`), and pybase64 decodes
  a 6 MB frame in about a millisecond, so a frame costs the loop ~2 ms
  (benchmarks/stream.py, benchmarks/loop_lag.py). Partial frames decode lazily.
"""

from __future__ import annotations

import asyncio
import binascii
import functools
import json
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

import httpx
from httpx_sse._decoders import (
    SSEDecoder,
)  # the library's field parser (event/data/id/retry, comments)

from imgtui.api import bigjson
from imgtui.api.b64 import b64decode, b64encode
from imgtui.api.errors import (
    HINT_NO_FINAL,
    ApiFailure,
    error_object,
    from_error_object,
    from_exception,
    from_response,
    scrub,
)
from imgtui.api.events import (
    Completed,
    Event,
    Failed,
    FailureKind,
    ImageMeta,
    Partial,
    Progress,
    Started,
)
from imgtui.api.request import Connection, ImageRequest, image_params

# A `data:` line longer than this skips the text decoding and goes to `bigjson` as bytes.
BIG_LINE = 64 * 1024
_BIG_MARK = "\x00imgtui-big-line"  # stands in for a big line inside the SSE field parser
PROGRESS_EVERY = 0.25  # seconds between Progress events of one slot
RETRY_STATUSES = (429, 502, 503)
MAX_BACKOFF = 30.0


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
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=8)
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, follow_redirects=True, verify=ssl_context()
    )


def _url(conn: Connection, path: str) -> str:
    return conn.base_url.rstrip("/") + path


def _headers(conn: Connection) -> dict[str, str]:
    headers = {"User-Agent": "imgtui"}
    if conn.api_key:
        headers["Authorization"] = f"Bearer {conn.api_key}"
    headers.update(conn.headers)
    return headers


# -- request building ------------------------------------------------------------------


@dataclass
class HttpCall:
    """One HTTP request, ready to send."""

    path: str
    json: dict | None = None
    data: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    responses: bool = False  # parse as a Responses API reply
    slots: list[int] = field(default_factory=lambda: [0])


def _data_url(img) -> str:
    return f"data:{img.mime};base64," + b64encode(img.data)


def build_calls(conn: Connection, req: ImageRequest) -> list[HttpCall]:
    """The HTTP requests that serve `req`, each with the slots it fills."""
    parallel = req.stream or conn.api_mode == "responses"
    per_call = 1 if parallel else req.n
    slot_groups = [[i] for i in range(req.n)] if parallel else [list(range(req.n))]
    return [_build_call(conn, req, per_call, slots) for slots in slot_groups]


def _build_call(conn: Connection, req: ImageRequest, n: int, slots: list[int]) -> HttpCall:
    params = image_params(req)
    if conn.api_mode == "responses":
        tool: dict = {"type": "image_generation", "model": req.model, **params}
        if req.stream:
            # The Responses tool has rejected stream=true with 0 partials.
            tool["partial_images"] = max(1, req.partial_images)
        if req.mask is not None:
            tool["input_image_mask"] = {"image_url": _data_url(req.mask)}
        content: list[dict] = [{"type": "input_text", "text": req.prompt}]
        content += [{"type": "input_image", "image_url": _data_url(img)} for img in req.images]
        body: dict = {
            "model": conn.mainline_model,
            "input": [{"role": "user", "content": content}],
            "tools": [tool],
            "tool_choice": {"type": "image_generation"},
            "stream": req.stream,
        }
        if req.previous_response_id:
            body["previous_response_id"] = req.previous_response_id
        return HttpCall("/responses", json=body, responses=True, slots=slots)

    fields: dict = {"model": req.model, "prompt": req.prompt, "n": n, **params}
    if req.stream:
        fields["stream"] = True
        fields["partial_images"] = req.partial_images
    if not req.is_edit:
        return HttpCall("/images/generations", json=fields, slots=slots)
    # Edits are multipart: scalar fields as form fields, images as file parts. Like the
    # OpenAI SDK: one image goes as `image`, several as repeated `image[]`.
    data = {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in fields.items()
    }
    name = "image" if len(req.images) == 1 else "image[]"
    files = [(name, (img.name, img.data, img.mime)) for img in req.images]
    if req.mask is not None:
        files.append(("mask", (req.mask.name, req.mask.data, req.mask.mime)))
    return HttpCall("/images/edits", data=data, files=files, slots=slots)


# -- decoding --------------------------------------------------------------------------


def _b64(value: object) -> bytes | None:
    if not isinstance(value, (str, bytes)) or not value:
        return None
    try:
        return b64decode(value)
    except (binascii.Error, ValueError):
        return None


_IMAGE_KEYS = ("b64_json", "partial_image_b64", "result")


def _decode_event(data: str | bytes, start: int = 0) -> dict:
    """JSON-parse one event (`data[start:]`) and base64-decode the final images it carries.

    A final image is stored decoded under `_image` (of the event, its `item`, or each
    `response.output` item). A partial frame keeps its base64 text (str, or bytes when it
    came from a big line) under `_b64`: `Partial` decodes it only when someone looks at it.
    """
    obj = bigjson.loads(data, _IMAGE_KEYS, start) if isinstance(data, bytes) else json.loads(data)
    if not isinstance(obj, dict):
        return {}
    for key in _IMAGE_KEYS:
        if key in obj:
            value = obj.pop(key)
            if str(obj.get("type", "")).endswith("partial_image"):
                obj["_b64"] = value if isinstance(value, (str, bytes)) and value else None
            else:
                obj["_image"] = _b64(value)
            break
    item = obj.get("item")
    if isinstance(item, dict) and "result" in item:
        item["_image"] = _b64(item.pop("result"))
    response = obj.get("response")
    if isinstance(response, dict):
        _decode_outputs(response)
    return obj


def _decode_outputs(response: dict) -> None:
    for item in response.get("output") or []:
        if isinstance(item, dict) and "result" in item:
            item["_image"] = _b64(item.pop("result"))


def _usage(obj: object) -> dict | None:
    return obj if isinstance(obj, dict) and obj else None


class StreamParser:
    """Turns the decoded SSE events of one call into typed events.

    Dispatches on the JSON `type`, never on the `event:` line (relays drop it). Unknown
    events are ignored. Raises ApiFailure for in-stream errors.
    """

    def __init__(self, slot: int, requested_meta: ImageMeta) -> None:
        self.slot = slot
        self.meta = requested_meta
        self.response_id: str | None = None
        self.final: Completed | None = None  # set once; from output_item.done or *.completed
        self.done = False  # saw [DONE] or a terminal event
        self._partials = 0

    def feed(self, obj: dict, bytes_received: int) -> list[Event]:
        err = error_object(obj)
        if err is not None:
            raise from_error_object(err)
        etype = str(obj.get("type") or "")
        meta = ImageMeta.from_json(obj)
        if etype in ("response.created", "response.in_progress"):
            self._note_response(obj.get("response"))
            return []
        if etype.endswith("partial_image"):
            b64 = obj.get("_b64")
            if not b64 or self.final is not None:
                return []
            index = obj.get("partial_image_index")
            index = index if isinstance(index, int) else self._partials
            self._partials += 1
            return [
                Partial(self.slot, index, None, self.meta.merged(meta), bytes_received, b64=b64)
            ]
        if etype == "response.output_item.done":
            item = obj.get("item") or {}
            if (
                item.get("type") == "image_generation_call"
                and item.get("_image")
                and self.final is None
            ):
                self.final = self._completed(
                    item["_image"],
                    ImageMeta.from_json(item),
                    item.get("revised_prompt"),
                    None,
                    bytes_received,
                )
            return []
        if etype == "response.completed":
            response = obj.get("response") or {}
            self._note_response(response)
            usage = _usage(response.get("usage"))
            if self.final is None:
                for item in response.get("output") or []:
                    if isinstance(item, dict) and item.get("_image"):
                        self.final = self._completed(
                            item["_image"],
                            ImageMeta.from_json(item),
                            item.get("revised_prompt"),
                            usage,
                            bytes_received,
                        )
                        break
            elif usage:
                self.final = self._with(usage=usage, response_id=self.response_id)
            self.done = True
            return []
        if etype == "response.failed":
            response = obj.get("response") or {}
            err = (
                response.get("error")
                if isinstance(response.get("error"), dict)
                else {"message": "response failed"}
            )
            raise from_error_object(err)
        if etype == "response.incomplete":
            details = (obj.get("response") or {}).get("incomplete_details") or {}
            reason = details.get("reason") if isinstance(details, dict) else None
            raise ApiFailure(
                FailureKind.STREAM,
                f"The response ended incomplete: {reason or 'no reason given'}",
                "Retry; a longer prompt or a content filter can cause this.",
            )
        if etype.endswith(".failed"):
            message = (
                obj.get("message")
                or (obj.get("error") or {}).get("message")
                or f"{etype} without a message"
            )
            raise from_error_object({"message": message, "code": obj.get("code")})
        if etype.endswith(".completed") and obj.get(
            "_image"
        ):  # image_generation.completed, image_edit.completed
            if self.final is None:
                self.final = self._completed(
                    obj["_image"],
                    meta,
                    obj.get("revised_prompt"),
                    _usage(obj.get("usage")),
                    bytes_received,
                )
            self.done = True
            return []
        return []

    def _note_response(self, response: object) -> None:
        if isinstance(response, dict) and isinstance(response.get("id"), str):
            self.response_id = response["id"]

    def _completed(
        self,
        image: bytes,
        meta: ImageMeta,
        revised: object,
        usage: dict | None,
        bytes_received: int,
    ) -> Completed:
        return Completed(
            self.slot,
            image,
            self.meta.merged(meta),
            revised if isinstance(revised, str) else None,
            usage,
            self.response_id,
            bytes_received,
        )

    def _with(self, **changes) -> Completed:
        assert self.final is not None
        return replace(self.final, **changes)

    def finish(self, bytes_received: int) -> Completed:
        """The final event at end of stream, or ApiFailure when no final image arrived."""
        if self.final is None:
            raise ApiFailure(
                FailureKind.STREAM, "The stream ended without a final image", HINT_NO_FINAL
            )
        return replace(
            self.final,
            response_id=self.final.response_id or self.response_id,
            bytes_received=max(self.final.bytes_received, bytes_received),
        )


class ByteLines:
    """Split a byte stream into SSE lines (LF, CRLF or lone CR), linear in the input.

    Lines stay bytes: a multi-MB image line is never decoded as text (see iter_sse_json).
    Each chunk is scanned once with `find`, and the pieces of a long line are kept in a
    list and joined once (a growing bytearray would be copied at every reallocation).
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []  # the unterminated line so far

    def feed(self, chunk: bytes) -> list[bytes]:
        nl = chunk.find(b"\n")
        if nl < 0:
            self._parts.append(chunk)
            return []
        lines: list[bytes] = []
        if self._parts:
            self._parts.append(chunk[:nl])
            first = b"".join(self._parts)
            self._parts = []
        else:
            first = chunk[:nl]
        self._split(first, lines)
        start = nl + 1
        nl = chunk.find(b"\n", start)
        while nl >= 0:
            self._split(chunk[start:nl], lines)
            start = nl + 1
            nl = chunk.find(b"\n", start)
        if start < len(chunk):
            self._parts.append(chunk[start:])
        return lines

    def flush(self) -> list[bytes]:
        lines: list[bytes] = []
        rest = b"".join(self._parts)
        if rest:
            self._split(rest, lines)
        self._parts = []
        return lines

    @staticmethod
    def _split(line: bytes, out: list[bytes]) -> None:
        if b"\r" in line:  # CRLF, or (rarely) lone CR line endings
            parts = line.split(b"\r")
            if parts[-1] == b"":
                parts.pop()
            out.extend(parts)
        else:
            out.append(line)


def _data_start(line: bytes) -> int:
    """Where the value of a `data:` line starts (one leading space is not part of it)."""
    return 6 if line.startswith(b"data: ") else 5


async def iter_sse_json(
    chunks: AsyncIterator[bytes], *, byte_counts: bool = False
) -> AsyncIterator[dict | str | int]:
    """Decode an SSE byte stream into decoded JSON objects (or the string "[DONE]").

    Accepts `event:` lines or data-only events, comments and pings, CRLF or LF, any chunking.
    With `byte_counts`, also yields the running byte count (an int) after each chunk, so a
    consumer can report progress during a multi-MB event. Raises ApiFailure(STREAM) on
    malformed JSON.

    httpx-sse's field parser sees every line, but a `data:` line longer than BIG_LINE
    reaches it as a short stand-in: its bytes go straight to `bigjson`.
    """
    lines = ByteLines()
    events = SSEDecoder()
    big: list[bytes] = []  # the big data lines of the event being read
    received = 0

    def event_data(data: str) -> tuple[str | bytes, int]:
        if data == _BIG_MARK:  # the usual case: the whole event is one big line
            return big[0], _data_start(big[0])
        # Rare: big lines mixed with others in one event. Put their text back in place.
        parts = data.split(_BIG_MARK)
        texts = [line[_data_start(line) :].decode("utf-8", "replace") for line in big]
        return "".join(part + text for part, text in zip(parts, texts + [""])), 0

    async def emit(line_list: list[bytes]) -> AsyncIterator[dict | str]:
        for raw in line_list:
            if len(raw) > BIG_LINE and raw.startswith(b"data:"):
                big.append(raw)
                sse = events.decode("data:" + _BIG_MARK)
            else:
                sse = events.decode(raw.decode("utf-8", "replace"))
            if sse is None:
                continue
            data: str | bytes = sse.data
            start = 0
            if big:
                data, start = event_data(sse.data)
                big.clear()
            elif not (data := data.strip()):
                continue
            elif data == "[DONE]":
                yield "[DONE]"
                continue
            try:
                yield _decode_event(data, start)
            except ValueError:
                shown = data[start : start + 60] if isinstance(data, bytes) else data[:60]
                raise ApiFailure(
                    FailureKind.STREAM,
                    f"Malformed event from the server: {shown!r}",
                    "The server or a relay sent invalid JSON; retry.",
                ) from None

    async for chunk in chunks:
        received += len(chunk)
        found = lines.feed(chunk)
        if found:
            async for obj in emit(found):
                yield obj
        if byte_counts:
            yield received
    async for obj in emit(
        lines.flush() + [b""]
    ):  # a final blank line dispatches an unterminated event
        yield obj


# -- running a call --------------------------------------------------------------------


class _CallRunner:
    """Sends one HttpCall (with retries) and yields the events of its slots."""

    def __init__(
        self, client: httpx.AsyncClient, conn: Connection, req: ImageRequest, call: HttpCall
    ) -> None:
        self.client, self.conn, self.req, self.call = client, conn, req, call
        self.requested = ImageMeta(req.size, req.quality, req.background, req.output_format)
        self.started_at = time.monotonic()
        self.streaming = False

    async def run(self) -> AsyncIterator[Event]:
        for slot in self.call.slots:
            yield Started(slot)
        try:
            async for event in self._attempts():
                yield event
        except ApiFailure as failure:
            failure.message = scrub(failure.message, self.conn.api_key)
            for slot in self._open_slots:
                yield failure.event(slot)

    @property
    def _open_slots(self) -> list[int]:
        return [s for s in self.call.slots if s not in self._ended]

    async def _attempts(self) -> AsyncIterator[Event]:
        self._ended: set[int] = set()
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
                if attempt > self.conn.max_retries:
                    raise retry.failure from None
                delay = retry.failure.retry_after
                delay = min(MAX_BACKOFF, delay if delay is not None else 0.5 * 2**attempt)
                await asyncio.sleep(delay)

    async def _send(self) -> AsyncIterator[Event]:
        call = self.call
        url = _url(self.conn, call.path)
        self.started_at = time.monotonic()
        try:
            async with self.client.stream(
                "POST",
                url,
                json=call.json,
                data=call.data,
                files=call.files,
                headers=_headers(self.conn)
                | ({"Accept": "text/event-stream"} if self.req.stream else {}),
                params=self.conn.query or None,
            ) as resp:
                if resp.status_code >= 400:
                    body = await self._read_capped(resp)
                    failure = from_response(resp.status_code, resp.headers, body)
                    if resp.status_code in RETRY_STATUSES:
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
            for event in parser.feed(obj, resp.num_bytes_downloaded):
                yield event
            if parser.done:
                break
        yield parser.finish(resp.num_bytes_downloaded)

    async def _read_json(self, resp: httpx.Response) -> AsyncIterator[Event]:
        """A non-streaming reply (also what a provider that ignores stream=true sends)."""
        body = await resp.aread()
        try:
            obj = bigjson.loads(body, _IMAGE_KEYS)
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
            _decode_outputs(obj)
            parser.feed({"type": "response.completed", "response": obj}, nbytes)
            yield parser.finish(nbytes)
            return
        usage = _usage(obj.get("usage"))
        meta = self.requested.merged(ImageMeta.from_json(obj))
        items = [d for d in obj.get("data") or [] if isinstance(d, dict)]
        for slot, item in zip(self.call.slots, items):
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
            return _b64(item["b64_json"])
        url = item.get("url")
        if not isinstance(url, str) or not url:
            return None
        if url.startswith("data:"):
            return _b64(url.partition(",")[2])
        # Only send our credentials to the API's own host; a CDN link gets none.
        same_host = urlsplit(url).netloc == urlsplit(self.conn.base_url).netloc
        resp = await self.client.get(
            url, headers=_headers(self.conn) if same_host else {"User-Agent": "imgtui"}
        )
        if resp.status_code >= 400:
            raise from_response(resp.status_code, resp.headers, resp.content[:65536])
        return resp.content


class _Retry(Exception):
    def __init__(self, failure: ApiFailure) -> None:
        self.failure = failure


# -- the public iterator ---------------------------------------------------------------

_END = object()


async def stream_images(
    conn: Connection, req: ImageRequest, *, client: httpx.AsyncClient | None = None
) -> AsyncIterator[Event]:
    """Yield the events of every slot of `req` until each slot completed or failed.

    Raises RequestError (before sending anything) when the request is invalid.
    Expected failures never raise: they arrive as `Failed` events.
    """
    req.validate()
    own_client = client is None
    # A new client builds an SSL context (tens of ms): not on the event loop.
    http = client or await asyncio.to_thread(make_client, conn)
    calls = build_calls(conn, req)
    try:
        if len(calls) == 1:
            async for event in _CallRunner(http, conn, req, calls[0]).run():
                yield event
            return
        queue: asyncio.Queue = asyncio.Queue()

        async def pump(call: HttpCall) -> None:
            try:
                async for event in _CallRunner(http, conn, req, call).run():
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
                _url(conn, "/models"),
                headers=_headers(conn),
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
