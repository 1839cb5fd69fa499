"""Connection control and Server-Sent Events for the demo server.

* Pacing: handlers sleep in short slices so shutdown (and, before a reply has started,
  a client going away) is noticed quickly.
* Cutting connections on purpose (`drop`, `stall`, shutdown).
* `SSEWriter` formats events in the official style or the variants relays produce.
* `EventStream` sends an event generator as `text/event-stream` and keeps the stream
  statistics, including client disconnects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from imgtui.demo.state import DemoState

#: How long a `stall` request may hang before the server gives up on it.
MAX_STALL_SECONDS = 600.0

# How often sleeping handlers check for shutdown / client disconnects.
POLL_SECONDS = 0.05


class _ConnectionDropped(Exception):
    """Raised (as a fallback) to make the ASGI server cut the connection."""


#: uvicorn versions whose request cycle was checked to expose `.transport`: [low, high).
UVICORN_TESTED = ((0, 29), (1, 0))


def close_transport(receive: Receive) -> bool:
    """Close the TCP connection under this request now; False if that is not possible.

    ASGI has no "abort" message, so this reaches for the transport of uvicorn's request
    cycle (the object its `receive` is bound to): the demo server's one use of a
    dependency's internals. Closing it flushes what was already written (so a partial
    frame sent before still arrives), then ends the connection: the client sees an
    incomplete response. When uvicorn changes, callers fall back to raising (uvicorn then
    cuts the connection and logs it) and count `transport_fallbacks`, which the demo
    tests check stays 0 (with `UVICORN_TESTED`).
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    return True


async def _drop_connection(receive: Receive, state: DemoState | None = None) -> None:
    """Cut the connection without finishing the reply, and wait until uvicorn noticed.

    Waiting matters: once uvicorn has seen the connection go, whatever is sent later is
    discarded instead of completing the reply. Without a reachable transport, raise
    instead: uvicorn then closes the connection itself (and logs the exception).
    """
    if not close_transport(receive):
        if state is not None:
            state.bump("transport_fallbacks")
        raise _ConnectionDropped()
    with anyio.move_on_after(2.0):
        while (await receive())["type"] != "http.disconnect":
            pass


async def pace(state: DemoState, seconds: float) -> bool:
    """Sleep in short slices; False as soon as the server starts stopping."""
    state.note_pace(seconds)
    deadline = time.monotonic() + seconds
    while not state.stopping.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, POLL_SECONDS))
    return False


async def hold(state: DemoState, name: str) -> bool:
    """Wait (in short slices) until gate `name` is opened (`DemoState.open_gate`, which a
    test calls once it has seen what comes before); False if the server starts stopping."""
    gate = state.gate(name)
    while not gate.is_set():
        if state.stopping.is_set():
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True


async def pace_watching(request: Request, state: DemoState, seconds: float) -> bool:
    """Like `pace`, but also False (and a disconnect recorded) if the client goes away.

    For handlers that have not started replying; streams use `EventStream`'s watcher.
    """
    state.note_pace(seconds)
    deadline = time.monotonic() + seconds
    while True:
        if await request.is_disconnected():
            state.bump("disconnects")
            return False
        if state.stopping.is_set():
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, POLL_SECONDS))


async def abandon(request: Request) -> Response:
    """End a request without a reply: cut the connection (if the client is still there)."""
    if not await request.is_disconnected():
        await _drop_connection(request.receive, request.app.state.demo)
    # This goes to a closed connection: uvicorn discards it.
    return Response(status_code=204)


async def stall(request: Request, state: DemoState) -> Response:
    """Send nothing at all until the client gives up (or 10 minutes, or shutdown)."""
    deadline = time.monotonic() + MAX_STALL_SECONDS
    while time.monotonic() < deadline and not state.stopping.is_set():
        if await request.is_disconnected():
            state.bump("disconnects")
            break
        await asyncio.sleep(POLL_SECONDS)
    return await abandon(request)


class SSEWriter:
    """Formats events in one of three wire styles.

    * `standard`: `event: NAME` + `data: {json}` + blank line (the official API).
    * `dataonly`: no `event:` lines, CRLF line ends, `: PING` comments between events and
      a final `data: [DONE]` (what some relays send).
    * `bare`: only `data:` lines, LF (relays that strip `event:` lines).
    """

    def __init__(self, style: str = "standard") -> None:
        self.style = style
        self._first = True

    def event(self, payload: dict) -> bytes:
        return self._frame(payload["type"], json.dumps(payload, separators=(",", ":")))

    def raw(self, name: str, data: str) -> bytes:
        """An event whose data is `data` verbatim (used to send invalid JSON)."""
        return self._frame(name, data)

    def end(self) -> bytes | None:
        """What to send after the last event, if anything."""
        return b"data: [DONE]\r\n\r\n" if self.style == "dataonly" else None

    def _frame(self, name: str, data: str) -> bytes:
        if self.style == "standard":
            return f"event: {name}\ndata: {data}\n\n".encode()
        if self.style == "bare":
            return f"data: {data}\n\n".encode()
        ping = "" if self._first else ": PING\r\n\r\n"
        self._first = False
        return f"{ping}data: {data}\r\n\r\n".encode()


#: Yielded by an event generator: cut the connection here instead of ending the stream.
ABORT = object()

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class EventStream(Response):
    """A `text/event-stream` reply that keeps the stream statistics.

    The body comes from an async generator of byte chunks (or `ABORT`). While it streams,
    a watcher task waits on ASGI `receive()` for `http.disconnect`; if that arrives before
    the generator is exhausted the client went away: the stream is cancelled and counted
    in `disconnects`. This works the same whatever ASGI spec version the server reports
    (Starlette's own StreamingResponse relies on `send` failing for spec >= 2.4, which
    uvicorn never does for a gone client).
    """

    media_type = "text/event-stream"

    def __init__(self, state: DemoState, events: AsyncIterator[Any]) -> None:
        self.state = state
        self.events = events
        self.status_code = 200
        self.background = None
        self.init_headers(_SSE_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.state
        state.bump("streams_started")
        finished = aborted = False
        client_gone = anyio.Event()

        try:
            async with anyio.create_task_group() as group:

                async def watch_client() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    client_gone.set()
                    if not finished:  # after the last chunk, a disconnect is just the end
                        group.cancel_scope.cancel()

                group.start_soon(watch_client)
                await send(
                    {
                        "type": "http.response.start",
                        "status": self.status_code,
                        "headers": self.raw_headers,
                    }
                )
                async for chunk in self.events:
                    if chunk is ABORT:
                        aborted = True
                        state.bump("streams_dropped")
                        if not close_transport(receive):
                            state.bump("transport_fallbacks")
                            raise _ConnectionDropped()
                        # The watcher sees the disconnect and cancels us; until then
                        # nothing more may be sent (it would end the reply cleanly).
                        with anyio.move_on_after(2.0):
                            await client_gone.wait()
                        break
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                else:
                    # Counted before the last chunk goes out, so that a client that has
                    # read the whole stream also sees it counted.
                    finished = True
                    state.bump("streams_completed")
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                group.cancel_scope.cancel()
        except* OSError:
            pass  # some ASGI servers raise on send to a closed connection: a disconnect
        finally:
            await self.events.aclose()  # type: ignore[attr-defined]

        if not (aborted or finished or state.stopping.is_set()):
            state.bump("disconnects")


async def releasing(
    events: AsyncIterator[Any], state: DemoState, prompt: str
) -> AsyncIterator[Any]:
    """Pass a stream through; when it ends (or is cancelled), its picture variant is free."""
    try:
        async for item in events:
            yield item
    finally:
        state.release_variant(prompt)
