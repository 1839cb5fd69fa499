"""The Responses API of the demo server: `POST /responses` with an `image_generation`
tool, the event sequence of PROTOCOL.md §4 (or what relays send), `previous_response_id`
continuations, input images and masks as data URLs. Fault modes act through `modes.py`.
"""

from __future__ import annotations

import binascii
import itertools
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imgtui.api.b64 import b64decode
from imgtui.demo import today
from imgtui.demo.frames import Frames, decode_source
from imgtui.demo.modes import Fault, StreamEnd, fault
from imgtui.demo.params import (
    ImageParams,
    bool_field,
    check_auth,
    fault_for,
    image_params,
    read_json,
)
from imgtui.demo.state import DemoState, bad_request, new_id, to_b64
from imgtui.demo.streaming import (
    ABORT,
    EventStream,
    SSEWriter,
    abandon,
    pace,
    pace_watching,
    releasing,
)

#: Fields of the image_generation tool that are not image parameters (strict mode).
TOOL_NOT_PARAMS = ("type", "action", "input_image_mask")


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
            if self.params.output_format == "svg":  # the SVG author's tokens (§5 output item)
                item["svg_usage"] = today.svg_usage(self.params.prompt, self.params.svg)
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
        text = max(1, len(self.params.prompt) // 4)
        image_in = 323 * self.input_images
        return {
            "image_gen": {
                "input_tokens": text + image_in,
                "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
                "output_tokens": image_tokens,
                "output_tokens_details": {"image_tokens": image_tokens, "text_tokens": 0},
                "total_tokens": text + image_in + image_tokens,
            }
        }


async def responses_endpoint(request: Request, state: DemoState) -> Response:
    """POST /responses with an image_generation tool."""
    body = await read_json(request)
    state.record(request, json_body=body)
    check_auth(request, state)

    tools = body["tools"] if isinstance(body.get("tools"), list) else []
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
    early = await mode.early_reply(request, state, stream)
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
    if mode.strict:
        tool_params = {k: v for k, v in tool.items() if k not in TOOL_NOT_PARAMS}
        today.strict_check(tool_params | {"stream": stream}, inputs=len(input_images))
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
            state, releasing(_responses_events(state, ctx, frames, mode), state, params.prompt)
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

    partials = mode.partials(ctx.params)
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
