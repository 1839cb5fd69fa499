"""What each fault mode does: ONE table, one row per mode, one column per place a fault
can strike (before any image work, the end of a stream, a non-streaming reply).

A column left empty means "behave normally there". The endpoints look a mode up here and
never branch on mode names themselves, so a new failure class is one row (and its canned
body in `faults.py`). `test_demo_server.py` checks every mode is documented and tested.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from imgtui.demo import faults
from imgtui.demo.faults import error_body
from imgtui.demo.state import DemoState
from imgtui.demo.streaming import ABORT, abandon, stall

# Messages of the in-stream failures.
FLAT_ERROR_MESSAGE = "The image could not be generated"
NESTED_ERROR_MESSAGE = "Upstream failed"
FAILED_EVENT_MESSAGE = "Image generation failed: the worker crashed"
RESPONSE_FAILED_MESSAGE = "The image generation call failed on the server."


@dataclass
class StreamEnd:
    """What a stream-ending column gets: the writer's `event`/`raw`, and for Responses the
    reply context (`response`, `item`, `call` fields)."""

    event: Callable[[dict], bytes]
    raw: Callable[[str, str], bytes]
    prefix: str  # "image_generation", "image_edit" or "response.image_generation_call"
    response: Callable[..., dict] | None = None
    item: Callable[..., dict] | None = None
    call: dict | None = None
    final_item: dict | None = None  # Responses: the finished image item (`end_with_final`)


Early = Callable[[Request, DemoState, bool], Awaitable[Response | None]]
Ending = Callable[[StreamEnd], list[Any]]  # chunks (bytes or ABORT) instead of the result
JsonReply = Callable[[Any], Response | None]  # a reply instead of the normal one (or None)


@dataclass(frozen=True)
class Fault:
    """One fault mode. Empty columns behave normally."""

    doc: str
    early: Early | None = None  # a reply before any image work (gets stream=bool)
    on_models: bool = False  # GET /models fails too (`early`)
    streams: bool = True  # False: the Images API answers stream=true with a JSON reply
    responses_streams: bool = True  # ... and the Responses API
    one_partial: bool = False  # a stream sends one partial frame before its end
    images_style: str = "standard"  # SSE wire style of the Images stream
    responses_style: str = "standard"  # ... and of the Responses stream
    relay_steps: bool = False  # Responses: skip steps 1-3, 5, 6 (PROTOCOL.md §4)
    images_end: Ending | None = None  # replaces the Images stream's completed event
    responses_end: Ending | None = None  # replaces the Responses stream's result events
    images_json: JsonReply | None = None  # replaces the Images non-streaming reply
    responses_json: JsonReply | None = None  # replaces the Responses non-streaming reply
    no_images: bool = False  # the Images JSON reply holds no image
    image_urls: bool = False  # the Images JSON reply has `url`s instead of base64
    completed_url: bool = False  # the streamed completed event has `url` instead of base64
    async_task: str | None = None  # async mode (`jobs.py`): "fail" or "lost" when polled
    unframed: bool = False  # a streamed reply is the JSON reply, no SSE framing
    end_with_final: bool = False  # Responses: the ending gets the finished image item
    strict: bool = False  # HTTP 400 for a parameter the model doesn't take (`today.py`)
    # Only the first N streamed Images requests (since `clear()`) get `images_end`; later
    # ones complete (per-image failures of an n > 1 task, and a retry that succeeds).
    first_only: int = 0

    async def early_reply(
        self, request: Request, state: DemoState, stream: bool
    ) -> Response | None:
        """The reply before any image work, or None to go on."""
        return await self.early(request, state, stream) if self.early is not None else None

    def partials(self, params: Any) -> int:
        """Partial frames a stream sends: one before a fault that needs it, else as asked."""
        return 1 if self.one_partial else params.partial_images


# -- early replies ---------------------------------------------------------------------


def _json(body: Any, status: int = 200, **headers: str) -> Early:
    async def reply(request: Request, state: DemoState, stream: bool) -> Response:
        return JSONResponse(body, status_code=status, headers=headers or None)

    return reply


def _when_streaming(reply: Early) -> Early:
    async def early(request: Request, state: DemoState, stream: bool) -> Response | None:
        return await reply(request, state, stream) if stream else None

    return early


def _raw(body: str, status: int, media_type: str, **headers: str) -> Early:
    async def reply(request: Request, state: DemoState, stream: bool) -> Response:
        return Response(body, status_code=status, media_type=media_type, headers=headers or None)

    return reply


async def _flaky(request: Request, state: DemoState, stream: bool) -> Response | None:
    if state.next_flaky_fails():
        return JSONResponse(faults.SERVER_ERROR, status_code=500)
    return None


async def _stall(request: Request, state: DemoState, stream: bool) -> Response:
    return await stall(request, state)


async def _drop_unless_streaming(
    request: Request, state: DemoState, stream: bool
) -> Response | None:
    return None if stream else await abandon(request)


async def _cf524(request: Request, state: DemoState, stream: bool) -> Response:
    headers = {"server": "cloudflare", "cf-ray": "8f00000000000000-FRA"}
    return HTMLResponse(faults.CLOUDFLARE_524_HTML, status_code=524, headers=headers)


async def _html502(request: Request, state: DemoState, stream: bool) -> Response:
    return HTMLResponse(faults.NGINX_502_HTML, status_code=502, headers={"server": "nginx"})


# -- stream endings --------------------------------------------------------------------


def _flat_error() -> dict:
    return {"type": "error", "code": "server_error", "message": FLAT_ERROR_MESSAGE, "param": None}


def _nested_error() -> dict:
    error = {"type": "server_error", "code": "server_error", "message": NESTED_ERROR_MESSAGE}
    return {"type": "error", "error": {**error, "param": None}}


def _end_abort(s: StreamEnd) -> list[Any]:
    return [ABORT]


def _end_flat(s: StreamEnd) -> list[Any]:
    return [s.event(_flat_error())]


def _end_nested(s: StreamEnd) -> list[Any]:
    return [s.event(_nested_error())]


def _end_failed_event(s: StreamEnd) -> list[Any]:
    extra = s.call if s.call is not None else {"code": "server_error"}
    return [s.event({"type": f"{s.prefix}.failed", **extra, "message": FAILED_EVENT_MESSAGE})]


def _end_response_failed(s: StreamEnd) -> list[Any]:
    assert s.response is not None and s.item is not None
    error = {"code": "server_error", "message": RESPONSE_FAILED_MESSAGE}
    response = s.response("failed", [s.item("failed")], error=error)
    return [s.event({"type": "response.failed", "response": response})]


def _end_incomplete(s: StreamEnd) -> list[Any]:
    assert s.response is not None
    details = {"reason": "max_output_tokens"}
    response = s.response("incomplete", [], incomplete_details=details)
    return [s.event({"type": "response.incomplete", "response": response})]


def _end_malformed(s: StreamEnd) -> list[Any]:
    name = f"{s.prefix}.partial_image"
    key = "partial_image_b64" if s.call is not None else "b64_json"
    return [s.raw(name, '{"type": "' + name + '", "' + key + '": ')]


def _end_final_then_drop(s: StreamEnd) -> list[Any]:
    assert s.final_item is not None
    done = {"type": "response.output_item.done", "output_index": 0, "item": s.final_item}
    return [s.event(done), ABORT]  # the image arrived; the connection then dies


def _end_nothing(s: StreamEnd) -> list[Any]:
    return []  # all partials sent; a clean end without any result


# -- non-streaming replies -------------------------------------------------------------


def _json_error(message: str) -> JsonReply:
    def reply(ctx: Any) -> Response:
        body = error_body(message, type="server_error", code="server_error")
        return JSONResponse(body, status_code=500)

    return reply


def _json_cut(head: Callable[[Any], str]) -> JsonReply:
    def reply(ctx: Any) -> Response:
        return Response(head(ctx), media_type="application/json")

    return reply


def _response_failed_json(ctx: Any) -> Response:
    error = {"code": "server_error", "message": RESPONSE_FAILED_MESSAGE}
    return JSONResponse(ctx.response("failed", [ctx.item("failed")], error=error))


def _response_incomplete_json(ctx: Any) -> Response:
    details = {"reason": "max_output_tokens"}
    return JSONResponse(ctx.response("incomplete", [], incomplete_details=details))


def _response_eof_json(ctx: Any) -> Response:
    return JSONResponse(ctx.response("completed", [], usage=ctx.usage()))


_IMAGES_CUT = _json_cut(lambda ctx: '{"created": 1700000000, "data": [{"b64_json": ')
_RESPONSES_CUT = _json_cut(
    lambda ctx: (
        '{"id": "' + ctx.response_id + '", "output": [{"type": "image_generation_call", "result": '
    )
)


def _unframed_json(body: object) -> Early:
    """A 200 `text/event-stream` reply holding bare JSON (no `data:` framing)."""
    text = json.dumps(body) + "\n"
    return _raw(text, 200, "text/event-stream")


#: Every fault mode: name -> what it does. The order is the documented one.
FAULTS: dict[str, Fault] = {
    # HTTP-level failures (before any streaming starts)
    "auth": Fault("HTTP 401, invalid key", _json(faults.AUTH_ERROR, 401), on_models=True),
    "ratelimit": Fault(
        "HTTP 429 with Retry-After: 1",
        _json(faults.RATE_LIMIT_ERROR, 429, **{"retry-after": "1"}),
        on_models=True,
    ),
    "server": Fault("HTTP 500", _json(faults.SERVER_ERROR, 500), on_models=True),
    "overloaded": Fault("HTTP 503", _json(faults.OVERLOADED_ERROR, 503), on_models=True),
    "badgateway": Fault(
        "HTTP 502, plain text", _raw("Bad Gateway", 502, "text/plain"), on_models=True
    ),
    "moderation": Fault(
        "HTTP 400, moderation_blocked", _json(faults.MODERATION_ERROR, 400), on_models=True
    ),
    "stream400": Fault(
        "HTTP 400 for stream=true (unsupported parameter); fine without streaming",
        _when_streaming(_json(faults.STREAM_UNSUPPORTED_ERROR, 400)),
    ),
    "cf524": Fault("Cloudflare's HTML 524 page", _cf524, on_models=True),
    "html502": Fault("nginx's HTML 502 page", _html502, on_models=True),
    "flaky": Fault("every second request fails with HTTP 500", _flaky),
    # connection-level failures
    "drop": Fault(
        "the connection is cut (streams: after one partial frame)",
        _drop_unless_streaming,
        on_models=True,
        one_partial=True,
        images_end=_end_abort,
        responses_end=_end_abort,
    ),
    "stall": Fault("nothing is sent until the client gives up", _stall, on_models=True),
    # in-stream failures
    "error-flat": Fault(
        'an in-stream {"type": "error"} event (non-streaming: HTTP 500)',
        one_partial=True,
        images_end=_end_flat,
        responses_end=_end_flat,
        images_json=_json_error(FLAT_ERROR_MESSAGE),
        responses_json=_json_error(FLAT_ERROR_MESSAGE),
    ),
    "some-fail": Fault(
        "Images streams: the first 2 image requests (since the server was cleared) end with "
        "an in-stream error, later ones complete: an n=4 task gets 2 of 4 images",
        images_end=_end_flat,
        first_only=2,
    ),
    "error-nested": Fault(
        'an in-stream {"type": "error", "error": {...}} event (non-streaming: HTTP 500)',
        one_partial=True,
        images_end=_end_nested,
        responses_end=_end_nested,
        images_json=_json_error(NESTED_ERROR_MESSAGE),
        responses_json=_json_error(NESTED_ERROR_MESSAGE),
    ),
    "failed-event": Fault(
        "a `*.failed` event with a top-level message (non-streaming: HTTP 500)",
        one_partial=True,
        images_end=_end_failed_event,
        responses_end=_end_failed_event,
        images_json=_json_error(FLAT_ERROR_MESSAGE),
        responses_json=_json_error(FLAT_ERROR_MESSAGE),
    ),
    "response-failed": Fault(
        "Responses: response.failed (Images: a nested error event)",
        one_partial=True,
        images_end=_end_nested,
        responses_end=_end_response_failed,
        images_json=_json_error(NESTED_ERROR_MESSAGE),
        responses_json=_response_failed_json,
    ),
    "incomplete": Fault(
        "Responses: response.incomplete (Images: no completed event)",
        images_end=_end_nothing,
        responses_end=_end_incomplete,
        responses_json=_response_incomplete_json,
        no_images=True,
    ),
    "malformed": Fault(
        "an event (or reply) cut off mid-JSON",
        one_partial=True,
        images_end=_end_malformed,
        responses_end=_end_malformed,
        images_json=_IMAGES_CUT,
        responses_json=_RESPONSES_CUT,
    ),
    "eof": Fault(
        "all partials, then a clean end without any result",
        images_end=_end_nothing,
        responses_end=_end_nothing,
        responses_json=_response_eof_json,
        no_images=True,
    ),
    # odd but successful replies
    "json": Fault("stream=true is ignored: a JSON reply", streams=False, responses_streams=False),
    "dataonly": Fault(
        "no event: lines, CRLF, : PING comments, data: [DONE]",
        images_style="dataonly",
        responses_style="dataonly",
    ),
    "url": Fault(
        "Images: data[].url (served at /files/...) instead of b64_json; no streaming",
        streams=False,
        image_urls=True,
    ),
    "relay": Fault(
        "data-only events; Responses: only partials and response.completed",
        images_style="dataonly",
        responses_style="bare",
        relay_steps=True,
    ),
    # a picky provider (today.py)
    "strict": Fault(
        "HTTP 400 for any parameter the model doesn't take (unknown models: only n)",
        strict=True,
    ),
    # async mode (jobs.py): the task is accepted, then goes wrong while it is polled
    "async-fail": Fault("async tasks end as failed (with an error message)", async_task="fail"),
    "async-lost": Fault("async task polls answer 404: the task is gone", async_task="lost"),
    "drop-after-final": Fault(
        "Responses: output_item.done with the image, then the connection is cut",
        responses_end=_end_final_then_drop,
        end_with_final=True,
    ),
    # what relays and other providers reply (issue 12)
    "unframed-error": Fault(
        "HTTP 200 text/event-stream whose body is a bare JSON quota error",
        _unframed_json(faults.QUOTA_ERROR),
    ),
    "unframed-image": Fault(
        "stream=true answered with the JSON reply, sent as text/event-stream without framing",
        unframed=True,
    ),
    "stream-url": Fault(
        "Images: the streamed completed event has url, no b64_json", completed_url=True
    ),
    "google-key": Fault(
        "Google-style 400 with details[].reason API_KEY_INVALID",
        _json(faults.GOOGLE_KEY_ERROR, 400),
        on_models=True,
    ),
    "google-key-list": Fault(
        "the Google-style error wrapped in a JSON list",
        _json([faults.GOOGLE_KEY_ERROR], 400),
        on_models=True,
    ),
    "null-message": Fault(
        "HTTP 400 with message null (type and code only)", _json(faults.NULL_MESSAGE_ERROR, 400)
    ),
    "async-task": Fault(
        "HTTP 200 with an async task (task_id, status queued), no data",
        _json(faults.ASYNC_TASK_REPLY),
    ),
    "transparent": Fault(
        "HTTP 400: Transparent background is not supported for this model",
        _json(faults.TRANSPARENT_ERROR, 400),
    ),
    "stream-go": Fault(
        "stream=true: HTTP 400 with a Go JSON decoder message; fine without streaming",
        _when_streaming(_json(faults.GO_DECODER_ERROR, 400)),
    ),
    "stream-partials": Fault(
        "stream=true: HTTP 400 'Streaming must have non-zero partial images'",
        _when_streaming(_json(faults.ZERO_PARTIALS_ERROR, 400)),
    ),
    "stream-text": Fault(
        "stream=true: HTTP 400, plain text 'stream not supported'",
        _when_streaming(_raw("stream not supported", 400, "text/plain")),
    ),
    "stream-vague": Fault(
        "stream=true: HTTP 400 'Bad request' (no reason given)",
        _when_streaming(_json(faults.VAGUE_ERROR, 400)),
    ),
}


def fault(mode: str | None) -> Fault:
    """The row of `mode`; the empty row (normal behaviour) for None."""
    return FAULTS[mode] if mode is not None else NORMAL


NORMAL = Fault("no fault")

#: Every fault mode's name, in the documented order.
FAULT_MODES: tuple[str, ...] = tuple(FAULTS)

__all__ = ["FAULTS", "FAULT_MODES", "NORMAL", "Fault", "StreamEnd", "fault"]
