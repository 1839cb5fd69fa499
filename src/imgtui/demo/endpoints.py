"""The HTTP endpoints of the demo server and `create_app`, which routes to them.

* `POST /v1/images/generations` (JSON), `POST /v1/images/edits` (multipart),
  `POST /v1/responses` (JSON with an `image_generation` tool): streaming or not.
* `GET /v1/models` (cheap, for "test connection"), `GET /files/<name>` (`url` fault mode).
* The same endpoints under `/fault/<mode>/v1/...`, where every request fails in that mode.

What a fault mode changes is looked up in the table of `modes.py` (its `early` reply
before any image work, its stream ending, its non-streaming reply): no mode names here.
"""

from __future__ import annotations

import binascii
import functools
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from imgtui.api.b64 import b64decode
from imgtui.demo import jobs
from imgtui.demo.faults import error_body
from imgtui.demo.frames import Frames, Source, decode_source
from imgtui.demo.modes import Fault, StreamEnd, fault
from imgtui.demo.params import (
    ImageParams,
    Upload,
    bool_field,
    check_auth,
    fault_for,
    image_params,
    read_form,
    read_json,
)
from imgtui.demo.state import DEFAULT_DELAY, ApiError, DemoState, bad_request, new_id, to_b64
from imgtui.demo.streaming import ABORT, EventStream, SSEWriter, abandon, pace, pace_watching

#: Model names listed by GET /v1/models (fault-<mode> names work too but are not listed).
KNOWN_MODELS = ("gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-5", "bench-noise")


async def _early(request: Request, state: DemoState, mode: Fault, stream: bool) -> Response | None:
    """The fault's reply before any image work, or None to go on."""
    return await mode.early(request, state, stream) if mode.early is not None else None


def _images_usage(params: ImageParams, images: int, input_images: int = 0) -> dict:
    text = max(1, len(params.prompt) // 4)
    image_in = 323 * input_images
    output = params.output_tokens() * images
    return {
        "total_tokens": text + image_in + output,
        "input_tokens": text + image_in,
        "output_tokens": output,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
    }


_CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def _partials_to_send(params: ImageParams, mode: Fault) -> int:
    return 1 if mode.one_partial else params.partial_images


# --------------------------------------------------------------------------- Images API


async def _images_endpoint(request: Request, state: DemoState, edit: bool) -> Response:
    """POST /images/generations (JSON) and /images/edits (multipart)."""
    uploads: list[Upload] = []
    if edit:
        fields, uploads = await read_form(request)
        state.record(request, form=fields, files=[u.summary() for u in uploads])
    else:
        fields = await read_json(request)
        state.record(request, json_body=fields)
    check_auth(request, state)

    mode = fault(fault_for(request, fields.get("model")))
    early = await _early(request, state, mode, bool_field(fields, "stream"))
    if early is not None:
        return early

    params = image_params(fields, request, state)
    source = None
    if edit:
        images = [u for u in uploads if u.field in ("image", "image[]")]
        if not images:
            raise bad_request(
                "Missing required parameter: 'image'.",
                param="image",
                code="missing_required_parameter",
            )
        mask = next((u.data for u in uploads if u.field == "mask"), None)
        source = await decode_source(images[0].data, mask, "image")

    prefix = "image_edit" if edit else "image_generation"
    if params.stream and mode.unframed:  # the JSON reply, labelled as a stream
        reply = await _images_json(request, state, params, source, mode)
        return Response(reply.body, status_code=reply.status_code, media_type="text/event-stream")
    if params.stream and mode.streams:
        variant = state.claim_variant(params.prompt)
        events = _images_events(
            request, state, params, Frames(params, source, variant=variant), mode, prefix
        )
        return EventStream(state, _releasing(events, state, params.prompt))
    return await _images_json(request, state, params, source, mode)


async def _releasing(
    events: AsyncIterator[Any], state: DemoState, prompt: str
) -> AsyncIterator[Any]:
    """Pass the stream through; when it ends (or is cancelled), its picture variant is free."""
    try:
        async for item in events:
            yield item
    finally:
        state.release_variant(prompt)


async def _images_json(
    request: Request,
    state: DemoState,
    params: ImageParams,
    source: Source | None,
    mode: Fault,
) -> Response:
    """The non-streaming Images reply: n images in `data[]` (or a failure by fault mode)."""
    if not await pace_watching(request, state, params.delay):
        return await abandon(request)
    instead = mode.images_json(params) if mode.images_json is not None else None
    if instead is not None:
        return instead

    data: list[dict[str, str]] = []
    if not mode.no_images:
        for index in range(params.n):
            image = await Frames(params, source, variant=index).final()
            if mode.image_urls:
                name = state.store_file(
                    image, params.output_format, _CONTENT_TYPES[params.output_format]
                )
                data.append(
                    {
                        "url": f"{request.base_url}files/{name}",
                        "revised_prompt": params.revised_prompt,
                    }
                )
            else:
                data.append({"b64_json": to_b64(image), "revised_prompt": params.revised_prompt})
    body = {
        "created": int(time.time()),
        "data": data,
        **params.meta(),
        "usage": _images_usage(params, len(data), 1 if source else 0),
    }
    return JSONResponse(body)


async def _images_events(
    request: Request,
    state: DemoState,
    params: ImageParams,
    frames: Frames,
    mode: Fault,
    prefix: str,
) -> AsyncIterator[Any]:
    """The SSE events of one streamed image (n is always 1 here: clients send n requests)."""
    sse = SSEWriter(mode.images_style)
    created = int(time.time())
    meta = params.meta()
    partials = _partials_to_send(params, mode)
    interval = params.delay / (partials + 1)  # the image's time, spread over its frames

    for index in range(partials):
        if not await pace(state, interval):
            yield ABORT
            return
        b64 = await frames.partial(index, partials)
        yield sse.event(
            {
                "type": f"{prefix}.partial_image",
                "b64_json": b64,
                "partial_image_index": index,
                "created_at": created,
                **meta,
            }
        )
    if not await pace(state, interval):
        yield ABORT
        return
    if mode.images_end is not None:
        for chunk in mode.images_end(StreamEnd(sse.event, sse.raw, prefix)):
            yield chunk
        return
    final = await frames.final()
    image: dict[str, Any] = {"b64_json": to_b64(final)}
    if mode.completed_url:
        name = state.store_file(final, params.output_format, _CONTENT_TYPES[params.output_format])
        image = {"url": f"{request.base_url}files/{name}"}
    yield sse.event(
        {
            "type": f"{prefix}.completed",
            **image,
            "created_at": created,
            **meta,
            "usage": _images_usage(params, 1, 1 if frames.source else 0),
        }
    )
    end = sse.end()
    if end:
        yield end


# --------------------------------------------------------------------------- Responses API


def _decode_data_url(url: Any, param: str) -> bytes | None:
    """Bytes of a `data:` URL; None for other URLs (the demo server does not fetch)."""
    if not isinstance(url, str) or not url.startswith("data:"):
        return None
    _, _, payload = url.partition(",")
    try:
        return b64decode(payload)
    except (binascii.Error, ValueError):
        raise bad_request(
            "Invalid base64 image_url.", param=param, code="invalid_image_url"
        ) from None


def _image_url_of(part: Mapping[str, Any]) -> Any:
    url = part.get("image_url")
    return url.get("url") if isinstance(url, Mapping) else url


def parse_responses_input(value: Any) -> tuple[str, list[bytes]]:
    """The prompt text and input images (data URLs only) of a Responses `input`."""
    if isinstance(value, str):
        return value, []
    texts: list[str] = []
    images: list[bytes] = []

    def visit(part: Any) -> None:
        if not isinstance(part, Mapping):
            return
        kind = part.get("type")
        if kind in ("input_text", "text", "output_text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "input_image":
            data = _decode_data_url(_image_url_of(part), "input")
            if data:
                images.append(data)
        content = part.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for inner in content:
                visit(inner)

    if isinstance(value, list):
        for item in value:
            visit(item)
    return "\n".join(t for t in texts if t.strip()), images


@dataclass
class _ResponseContext:
    """Everything a Responses reply needs besides the frames."""

    response_id: str
    item_id: str
    body: dict  # the request JSON
    tool: dict  # the image_generation tool, as sent
    params: ImageParams
    action: str  # "generate" or "edit"
    input_images: int
    created_at: int

    def response(self, status: str, output: list[dict], **fields: Any) -> dict:
        """A Response object."""
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "model": self.body.get("model") or "gpt-5",
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": self.body.get("previous_response_id"),
            "tool_choice": self.body.get("tool_choice", "auto"),
            "tools": [self.tool],
            "usage": None,
            "metadata": {},
            **fields,
        }

    def item(self, status: str, result: str | None = None) -> dict:
        """The image_generation_call output item."""
        item: dict[str, Any] = {
            "id": self.item_id,
            "type": "image_generation_call",
            "status": status,
        }
        if result is None:
            item["result"] = None
        else:
            item.update(
                result=result,
                revised_prompt=self.params.revised_prompt,
                action=self.action,
                **self.params.meta(),
            )
        return item

    def usage(self) -> dict:
        text = max(1, len(self.params.prompt) // 4)
        image_in = 323 * self.input_images
        output = self.params.output_tokens() + 40
        return {
            "input_tokens": text + image_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": text + image_in + output,
        }

    def tool_usage(self) -> dict:
        image_tokens = self.params.output_tokens()
        return {
            "image_gen": {
                "input_tokens": 50,
                "output_tokens": image_tokens,
                "total_tokens": 50 + image_tokens,
            }
        }


async def _responses_endpoint(request: Request, state: DemoState) -> Response:
    """POST /responses with an image_generation tool."""
    body = await read_json(request)
    state.record(request, json_body=body)
    check_auth(request, state)

    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    tool_index, tool = next(
        (
            (i, t)
            for i, t in enumerate(tools)
            if isinstance(t, dict) and t.get("type") == "image_generation"
        ),
        (0, None),
    )
    mode = fault(fault_for(request, tool.get("model") if tool else None, body.get("model")))
    stream = bool_field(body, "stream")
    early = await _early(request, state, mode, stream)
    if early is not None:
        return early

    if tool is None:
        raise bad_request(
            'The demo server needs the image_generation tool: tools: [{"type": "image_generation"}].',
            param="tools",
        )
    prompt, input_images = parse_responses_input(body.get("input"))
    if stream and tool.get("partial_images") == 0:
        raise bad_request(
            "Invalid value for 'partial_images': streaming with the image_generation tool requires "
            "partial_images between 1 and 3.",
            param=f"tools[{tool_index}].partial_images",
            code="invalid_value",
        )
    fields = {**tool, "prompt": prompt, "n": 1, "stream": stream}
    params = image_params(
        fields, request, state, prompt_param="input", default_partials=1 if stream else 0
    )

    # What to draw from: an input image, else the previous response's image, else nothing.
    previous_id = body.get("previous_response_id")
    previous = None
    if previous_id is not None:
        previous = state.responses.get(previous_id) if isinstance(previous_id, str) else None
        if previous is None:
            raise bad_request(
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
    mask_field = tool.get("input_image_mask")
    mask = (
        _decode_data_url(_image_url_of(mask_field), "tools.input_image_mask")
        if isinstance(mask_field, Mapping)
        else None
    )
    base_image = input_images[0] if input_images else previous
    source = await decode_source(base_image, mask, "input") if base_image else None

    ctx = _ResponseContext(
        response_id=new_id("resp"),
        item_id=new_id("ig"),
        body=body,
        tool=tool,
        params=params,
        action="edit" if source else "generate",
        input_images=len(input_images),
        created_at=int(time.time()),
    )
    variant = state.claim_variant(params.prompt)  # parallel requests for n images differ
    frames = Frames(params, source, variant=variant)
    if stream and mode.unframed:  # the JSON reply, labelled as a stream
        try:
            reply = await _responses_json(request, state, ctx, frames, mode)
        finally:
            state.release_variant(params.prompt)
        return Response(reply.body, status_code=reply.status_code, media_type="text/event-stream")
    if stream and mode.responses_streams:
        return EventStream(
            state, _releasing(_responses_events(state, ctx, frames, mode), state, params.prompt)
        )
    try:
        return await _responses_json(request, state, ctx, frames, mode)
    finally:
        state.release_variant(params.prompt)


async def _responses_json(
    request: Request, state: DemoState, ctx: _ResponseContext, frames: Frames, mode: Fault
) -> Response:
    """The non-streaming Responses reply: a Response object (or a failure by fault mode)."""
    if not await pace_watching(request, state, ctx.params.delay):
        return await abandon(request)
    instead = mode.responses_json(ctx) if mode.responses_json is not None else None
    if instead is not None:
        return instead

    final = await frames.final()
    state.store_response_image(ctx.response_id, final)
    item = ctx.item("completed", to_b64(final))
    return JSONResponse(
        ctx.response("completed", [item], usage=ctx.usage(), tool_usage=ctx.tool_usage())
    )


async def _responses_events(
    state: DemoState, ctx: _ResponseContext, frames: Frames, mode: Fault
) -> AsyncIterator[Any]:
    """The Responses SSE sequence (PROTOCOL.md §4, steps 1-7) or a faulty variant of it."""
    relay = mode.relay_steps  # relays skip steps 1-3, 5 and 6
    sse = SSEWriter(mode.responses_style)
    sequence = itertools.count()

    def event(payload: dict) -> bytes:
        return sse.event({**payload, "sequence_number": next(sequence)})

    call = {"output_index": 0, "item_id": ctx.item_id}
    if not relay:
        yield event({"type": "response.created", "response": ctx.response("in_progress", [])})
        yield event({"type": "response.in_progress", "response": ctx.response("in_progress", [])})
        yield event(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": ctx.item("in_progress"),
            }
        )
        yield event({"type": "response.image_generation_call.in_progress", **call})
        yield event({"type": "response.image_generation_call.generating", **call})

    partials = _partials_to_send(ctx.params, mode)
    interval = ctx.params.delay / (partials + 1)
    for index in range(partials):
        if not await pace(state, interval):
            yield ABORT
            return
        b64 = await frames.partial(index, partials)
        yield event(
            {
                "type": "response.image_generation_call.partial_image",
                **call,
                "partial_image_index": index,
                "partial_image_b64": b64,
            }
        )
    if not await pace(state, interval):
        yield ABORT
        return
    if mode.responses_end is not None:
        final_item = None
        if mode.end_with_final:
            final = await frames.final()
            state.store_response_image(ctx.response_id, final)
            final_item = ctx.item("completed", to_b64(final))
        end = StreamEnd(
            event,
            sse.raw,
            "response.image_generation_call",
            response=ctx.response,
            item=ctx.item,
            call=call,
            final_item=final_item,
        )
        for chunk in mode.responses_end(end):
            yield chunk
        return

    final = await frames.final()
    state.store_response_image(ctx.response_id, final)
    item = ctx.item("completed", to_b64(final))
    if not relay:
        yield event({"type": "response.image_generation_call.completed", **call})
        yield event({"type": "response.output_item.done", "output_index": 0, "item": item})
    done = ctx.response("completed", [item], usage=ctx.usage(), tool_usage=ctx.tool_usage())
    yield event({"type": "response.completed", "response": done})
    end_chunk = sse.end()
    if end_chunk:
        yield end_chunk


# --------------------------------------------------------------------------- other routes, the app


async def _models_endpoint(request: Request, state: DemoState) -> Response:
    """GET /models: a cheap call for "test connection"."""
    state.record(request)
    check_auth(request, state)
    # Only faults of the HTTP/connection kind make sense here; the others list normally.
    mode = fault(fault_for(request))
    if mode.on_models:
        reply = await _early(request, state, mode, False)
        if reply is not None:
            return reply
    created = 1700000000
    models = [
        {"id": m, "object": "model", "created": created, "owned_by": "imgtui-demo"}
        for m in KNOWN_MODELS
    ]
    model_id = request.path_params.get("model")
    if model_id is not None:
        return JSONResponse(
            {"id": model_id, "object": "model", "created": created, "owned_by": "imgtui-demo"}
        )
    return JSONResponse({"object": "list", "data": models})


async def _files_endpoint(request: Request, state: DemoState) -> Response:
    """GET /files/<name>: images handed out by the `url` fault mode."""
    state.record(request)
    entry = state.files.get(request.path_params["name"])
    if entry is None:
        return JSONResponse(error_body("No such file.", code="not_found"), status_code=404)
    return Response(entry[0], media_type=entry[1])


async def _index_endpoint(request: Request, state: DemoState) -> Response:
    return PlainTextResponse(
        f"imgtui demo server: OpenAI-compatible image API at {request.base_url}v1\n"
    )


def _endpoint(
    handler: Callable[[Request, DemoState], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """Adapt `handler(request, state)` to a Starlette endpoint that turns ApiError into replies."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, request.app.state.demo)
        except ApiError as exc:
            return exc.response()

    return endpoint


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    message = f"Invalid URL ({request.method} {request.url.path})"
    return JSONResponse(error_body(message), status_code=status)


def create_app(
    state: DemoState | None = None, *, delay: float = DEFAULT_DELAY, api_key: str | None = None
) -> Starlette:
    """The demo server's ASGI app. Without `state`, a fresh one with `delay` and `api_key`."""
    state = state if state is not None else DemoState(delay=delay, api_key=api_key)
    generations = _endpoint(functools.partial(_images_endpoint, edit=False))
    edits = _endpoint(functools.partial(_images_endpoint, edit=True))
    responses = _endpoint(_responses_endpoint)
    models = _endpoint(_models_endpoint)

    routes = [Route("/", _endpoint(_index_endpoint), methods=["GET"])]
    for prefix in ("/v1", "/fault/{fault}/v1"):
        routes += [
            Route(f"{prefix}/images/generations", generations, methods=["POST"]),
            Route(f"{prefix}/images/edits", edits, methods=["POST"]),
            Route(f"{prefix}/responses", responses, methods=["POST"]),
            Route(f"{prefix}/models", models, methods=["GET"]),
            Route(f"{prefix}/models/{{model}}", models, methods=["GET"]),
        ]
    routes.append(Route("/files/{name}", _endpoint(_files_endpoint), methods=["GET"]))
    routes += jobs.routes()  # async mode: sub2api, new-api style tasks, fal.ai queue

    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.demo = state
    app.state.jobs = jobs.JobTable()
    return app
