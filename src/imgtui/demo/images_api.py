"""The Images API of the demo server: `POST /images/generations` (JSON) and
`POST /images/edits` (multipart), streaming (one image per request, as clients send n
requests) or not (n images in `data[]`). Fault modes change replies through `modes.py`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imgtui.demo import today
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
from imgtui.demo.state import DemoState, bad_request, to_b64
from imgtui.demo.streaming import (
    ABORT,
    EventStream,
    SSEWriter,
    abandon,
    hold,
    pace,
    pace_watching,
    releasing,
)

CONTENT_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}


def images_usage(params: ImageParams, images: int, input_images: int = 0) -> dict:
    text = max(1, len(params.prompt) // 4)
    image_in = 323 * input_images
    output = params.output_tokens() * images
    return {
        "total_tokens": text + image_in + output,
        "input_tokens": text + image_in,
        "output_tokens": output,
        "input_tokens_details": {"text_tokens": text, "image_tokens": image_in},
    }


async def images_endpoint(request: Request, state: DemoState, edit: bool) -> Response:
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
    early = await mode.early_reply(request, state, bool_field(fields, "stream"))
    if early is not None:
        return early

    images = [u for u in uploads if u.field in ("image", "image[]")]
    mask = next((u.data for u in uploads if u.field == "mask"), None)
    if mode.strict:
        markup = any(u.field == "markup" for u in uploads)
        today.strict_check(fields, inputs=len(images), mask=mask is not None, markup=markup)
    params = image_params(fields, request, state)
    source = None
    if edit:
        if not images:
            raise bad_request(
                "Missing required parameter: 'image'.",
                param="image",
                code="missing_required_parameter",
            )
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
        return EventStream(state, releasing(events, state, params.prompt))
    return await _images_json(request, state, params, source, mode)


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
                    image, params.output_format, CONTENT_TYPES[params.output_format]
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
        "usage": images_usage(params, len(data), 1 if source else 0),
    }
    if params.safety_identifier or params.user:
        body["safety_identifier"] = params.safety_identifier or params.user
    if params.output_format == "svg" and data:
        body["svg_usage"] = today.svg_usage(params.prompt, params.svg)
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
    partials = mode.partials(params)
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
    if params.hold and not await hold(state, params.hold):
        yield ABORT
        return
    if mode.images_end is not None and (
        not mode.first_only or state.next_of_first_fails(mode.first_only)
    ):
        for chunk in mode.images_end(StreamEnd(sse.event, sse.raw, prefix)):
            yield chunk
        return
    final = await frames.final()
    image: dict[str, Any] = {"b64_json": to_b64(final)}
    if mode.completed_url:
        name = state.store_file(final, params.output_format, CONTENT_TYPES[params.output_format])
        image = {"url": f"{request.base_url}files/{name}"}
    yield sse.event(
        {
            "type": f"{prefix}.completed",
            **image,
            "created_at": created,
            **meta,
            "usage": images_usage(params, 1, 1 if frames.source else 0),
        }
    )
    end = sse.end()
    if end:
        yield end
