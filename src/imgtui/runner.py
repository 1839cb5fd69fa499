"""The task runner: one streaming worker per task, for the TUI and the CLI alike.

    runner = Runner()
    await runner.run(draft, emit)        # one coroutine per task
    await runner.aclose()

`run()` is the task's whole life on the wire: wait for a free place under the profile's
concurrency limit (`imgtui.queue`: the profile's `max_concurrent`, lowered for a while by
HTTP 429 replies; the task stays `queued`, in submission order), resolve the connection
(starting the embedded demo server when the profile is the demo), read the input images,
take an httpx client from the pool, stream, hand each frame to the caller's decoder in a
thread, and pass every event to `emit(event, picture)` on the event loop, in order.

A profile whose `provider` is a polled one (sub2api async, fal.ai, a custom manifest) is
run by `api.polled` instead of streamed: its `Submitted` event carries the handle to
persist, and a draft with `job` set polls that task again instead of submitting it. With
local transparency (`Draft.transparency`), each final image is keyed out in a thread: the
keyed PNG is the slot's image and the server's image its `original`.
The caller applies the events with `tasks.apply` (the TUI posts them as messages first).

Every slot ends with exactly one `Completed` or `Failed`: a request that cannot be built,
an unexpected error, or a stream that stops early become `Failed` events here, never an
exception. Cancelling the coroutine (the TUI cancels the task's Textual worker, the CLI its
asyncio task) closes the HTTP stream at once; the caller marks the task cancelled.

Retries (before a response body starts only) follow `RetryPolicy`, whose `sleep` tests
replace so they never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Executor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from imgtui.api.events import (
    Completed,
    Event,
    Failed,
    FailureKind,
    Partial,
    Sent,
    Started,
    Submitted,
)
from imgtui.api.request import Connection, RequestError
from imgtui.queue import ProfileQueue

if TYPE_CHECKING:
    from imgtui.api.client import RetryPolicy
    from imgtui.api.errors import ApiFailure
    from imgtui.api.pool import ClientPool
    from imgtui.config import Profile
    from imgtui.draft import Draft

__all__ = ["Decoder", "Emit", "Runner"]

Emit = Callable[[Event, Any], object]  # (event, decoded picture or None), on the event loop
Decoder = Callable[[Partial | Completed], Any]  # runs in a thread; may return None


class Runner:
    """Runs tasks; owns the httpx client pool, the demo server's address and the
    per-profile queue (`queue`). One per process (the app, or one `imgtui generate`).

    `concurrency`, when given, replaces every profile's `max_concurrent` (tests)."""

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        demo_base_url: str | None = None,
        executor: Executor | None = None,
    ) -> None:
        from imgtui import memory

        memory.unmap_big_buffers()  # frames' buffers go back to the OS as they are freed
        self.queue = ProfileQueue(concurrency=concurrency)
        self.retry = retry  # None: the api's default policy
        self.demo_base_url = demo_base_url
        self.executor = executor  # for decoders; None: asyncio's default pool
        self.poll_interval: float | None = None  # polled providers: None = the provider's
        self._pool: ClientPool | None = None
        self._demo_lock: asyncio.Lock | None = None

    # -- connections --------------------------------------------------------------------

    async def demo_url(self) -> str:
        """The embedded demo server's base URL, starting it (in a thread) on first use."""
        if self._demo_lock is None:
            self._demo_lock = asyncio.Lock()
        async with self._demo_lock:
            if self.demo_base_url is None:
                from imgtui.demo import embedded_server

                server = await asyncio.to_thread(embedded_server)
                self.demo_base_url = server.base_url
        return self.demo_base_url

    async def connection(self, profile: Profile) -> Connection:
        """The profile's resolved connection (the demo server started if it is the demo)."""
        if profile.is_demo:
            return profile.connection(demo_base_url=await self.demo_url())
        return profile.connection()

    async def warm_up(self) -> None:
        """Build the shared TLS context in a thread now, so no stream waits for it (it
        holds the GIL for tens of ms)."""
        from imgtui.api.pool import ssl_context

        await asyncio.to_thread(ssl_context)

    @property
    def pool(self) -> ClientPool:
        """The httpx clients tasks borrow (shared per timeout; a private one on overflow)."""
        if self._pool is None:
            from imgtui.api.pool import ClientPool

            self._pool = ClientPool()
        return self._pool

    # -- one task -----------------------------------------------------------------------

    async def run(self, draft: Draft, emit: Emit, decode: Decoder | None = None) -> None:
        """Stream one task to its end (see the module docstring). `emit` gets every event;
        `decode(event)` (in a thread) gives the picture passed along with a frame; a
        partial frame whose base64 turns out broken is then dropped."""
        n = draft.params.n
        ended: set[int] = set()
        throttled = False

        def send(event: Event, picture: Any = None) -> None:
            nonlocal throttled
            if isinstance(event, (Completed, Failed)):
                ended.add(event.slot)
            if isinstance(event, Failed) and event.status == 429 and not throttled:
                throttled = True  # the last 429 (retries spent) slows the profile too
                self.queue.throttle(draft.profile, event.retry_after)
            emit(event, picture)

        def fail_open(kind: FailureKind, message: str, hint: str = "") -> None:
            for slot in range(n):
                if slot not in ended:
                    send(Failed(slot, kind, message, hint))

        async with self.queue.slot(draft.profile):
            try:
                await self._stream(draft, send, decode)
            except RequestError as exc:
                fail_open(FailureKind.BAD_REQUEST, f"{exc.field}: {exc.message}")
                return
            except asyncio.CancelledError:
                raise
            except (OSError, ValueError, RuntimeError) as exc:  # e.g. the demo could not start
                fail_open(
                    FailureKind.CONNECTION,
                    f"{type(exc).__name__}: {exc}",
                    "The demo server could not start." if draft.profile.is_demo else "",
                )
                return
            except Exception as exc:  # a bug: the task fails with the error, the app lives
                fail_open(FailureKind.STREAM, f"Unexpected error: {type(exc).__name__}: {exc}")
                return
        fail_open(FailureKind.STREAM, "The stream ended before the image arrived")

    async def _stream(
        self, draft: Draft, send: Callable[..., None], decode: Decoder | None
    ) -> None:
        from imgtui.api import client as api_client
        from imgtui.api import polled
        from imgtui.config.providers import ProviderError, resolve

        try:
            provider = resolve(draft.profile.provider)
        except ProviderError as exc:
            raise RequestError("provider", str(exc)) from None
        conn = await self.connection(draft.profile)
        request = await asyncio.to_thread(draft.request)
        # The request as sent (secrets masked) goes with the task, after its first Started.
        sent = (
            Sent(0, tuple(await asyncio.to_thread(_described, conn, request)))
            if provider is None
            else None
        )
        retry = replace(
            self.retry or api_client.DEFAULT_RETRY,
            on_retry=lambda failure: self._retrying(draft.profile, failure),
        )
        loop = asyncio.get_running_loop()
        keyed = draft.transparency == "local"
        async with self.pool.lease(conn, request.n) as http:
            stream: AsyncGenerator[Event, None]
            if provider is None:
                stream = cast(
                    "AsyncGenerator[Event, None]",
                    api_client.stream_images(conn, request, client=http, retry=retry),
                )
            else:
                stream = cast(
                    "AsyncGenerator[Event, None]",
                    polled.run_polled(
                        conn,
                        request,
                        provider,
                        client=http,
                        resume=draft.job,
                        on_submitted=lambda handle: send(Submitted(0, handle)),
                        poll_interval=self.poll_interval,
                    ),
                )
            async with contextlib.aclosing(stream) as events:
                async for received in events:
                    event = received
                    if sent is not None and isinstance(event, Started):
                        send(event)
                        send(sent)
                        sent = None
                        continue
                    if keyed and isinstance(event, Completed):
                        event = await loop.run_in_executor(self.executor, _keyed, event)
                    picture = None
                    if decode is not None and isinstance(event, (Partial, Completed)):
                        # `Partial.image` decodes its base64 on first access: in the thread too.
                        picture = await loop.run_in_executor(self.executor, decode, event)
                        if isinstance(event, Partial) and not event.image:
                            continue  # its base64 was broken: nothing to show or keep
                    send(event, picture)

    def _retrying(self, profile: Profile, failure: ApiFailure) -> None:
        if failure.status == 429:
            self.queue.throttle(profile, failure.retry_after)

    async def aclose(self) -> None:
        """Close the shared clients and end Retry-After holds (at exit)."""
        await self.queue.aclose()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.aclose()


def _described(conn: Connection, request: Any) -> list[dict[str, Any]]:
    """`request`'s HTTP calls as sent, masked (`api.calls.describe_calls`)."""
    from imgtui.api.calls import build_calls, describe_calls

    return describe_calls(conn, build_calls(conn, request))


def _keyed(event: Completed) -> Completed:
    """Local transparency (`imgtui.transparency`): the keyed RGBA PNG becomes the slot's
    image and the server's image its `original`. An image that cannot be keyed stays."""
    from imgtui.transparency import TransparencyError, key_out

    try:
        result = key_out(event.image)
    except TransparencyError:
        return event
    meta = replace(event.meta, background="transparent", output_format="png")
    return replace(event, image=result.png, original=event.image, meta=meta)
