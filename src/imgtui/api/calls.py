"""Request bodies: the HTTP calls that serve one `ImageRequest` (JSON, or multipart for edits).

n > 1 with streaming (and every Responses call) becomes n parallel single-image calls, one
per slot: stream events carry no image-slot index (PROTOCOL.md §4). Shapes follow the
OpenAI SDKs: JSON for generations and the Responses tool; multipart for edits, one image
as `image`, several as repeated `image[]`, scalar fields as form fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from imgtui.api.b64 import b64encode
from imgtui.api.request import Connection, ImageRequest, InputImage, image_params

#: Paths of the calls, relative to the base URL.
GENERATIONS = "/images/generations"
EDITS = "/images/edits"
RESPONSES = "/responses"
MODELS = "/models"


@dataclass
class HttpCall:
    """One HTTP request, ready to send: a path, a JSON or multipart body, the slots it fills."""

    path: str
    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None
    responses: bool = False  # parse as a Responses API reply
    slots: list[int] = field(default_factory=lambda: [0])


def endpoint_url(conn: Connection, path: str) -> str:
    """The URL of `path` under the connection's base URL, without a query: the query goes
    in `request_params` (a base URL pasted with `?api-version=...` must not end up as
    `...?api-version=.../images/generations`)."""
    return conn.base_url.partition("?")[0].rstrip("/") + path


def request_params(conn: Connection) -> dict[str, str] | None:
    """Query parameters of every request: the base URL's own query, then the configured ones."""
    params = dict(parse_qsl(urlsplit(conn.base_url).query, keep_blank_values=True))
    params.update(conn.query)
    return params or None


def request_headers(conn: Connection) -> dict[str, str]:
    """Headers of every API request: the Bearer key (if any), then the configured headers."""
    headers = {"User-Agent": "imgtui"}
    if conn.api_key:
        headers["Authorization"] = f"Bearer {conn.api_key}"
    headers.update(conn.headers)
    return headers


def _data_url(img: InputImage) -> str:
    return f"data:{img.mime};base64," + b64encode(img.data)


def build_calls(conn: Connection, req: ImageRequest) -> list[HttpCall]:
    """The HTTP requests that serve `req`, each with the slots it fills."""
    parallel = req.stream or conn.api_mode == "responses"
    per_call = 1 if parallel else req.n
    slot_groups = [[i] for i in range(req.n)] if parallel else [list(range(req.n))]
    return [_build_call(conn, req, per_call, slots) for slots in slot_groups]


MASKED = "***"
_DATA_URL = re.compile(r"^data:([\w./+-]+);base64,(.*)$", re.DOTALL)


def describe_calls(conn: Connection, calls: list[HttpCall]) -> list[dict[str, Any]]:
    """The calls as they are sent, for the detail view and the history: method, URL
    (without its query), query, headers and body. Never a secret: the Authorization
    header, every configured header value and every query value are `***`; input images
    (multipart files, data URLs) are reduced to their type and size."""
    query = {name: MASKED for name in request_params(conn) or {}}
    headers = {
        name: ("Bearer " + MASKED if name == "Authorization" else MASKED)
        if name == "Authorization" or name in conn.headers
        else value
        for name, value in request_headers(conn).items()
    }
    out = []
    for call in calls:
        entry: dict[str, Any] = {
            "method": "POST",
            "url": endpoint_url(conn, call.path),
            "headers": headers,
        }
        if query:
            entry["query"] = query
        if call.json is not None:
            entry["json"] = _without_images(call.json)
        if call.data is not None:
            entry["form"] = dict(call.data)
        if call.files:
            entry["files"] = [
                {"field": field, "filename": name, "type": mime, "bytes": len(data)}
                for field, (name, data, mime) in call.files
            ]
        out.append(entry)
    return out


def _without_images(value: Any) -> Any:
    """`value` with every base64 data URL replaced by `data:<type>;base64,… (N bytes)`."""
    if isinstance(value, dict):
        return {k: _without_images(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_images(v) for v in value]
    if isinstance(value, str):
        m = _DATA_URL.match(value)
        if m:
            size = len(m[2]) * 3 // 4 - m[2][-2:].count("=")
            return f"data:{m[1]};base64,… ({size:,} bytes)"
    return value


def prompt_with_size(prompt: str, size: str) -> str:
    """The prompt with the size written into it (a profile's `size_in_prompt`, the
    playground's Codex-CLI compatibility, for relays that refuse `size`)."""
    return f"{prompt.rstrip()}\n\nImage size: {size}."


def _policy(conn: Connection, fields: dict[str, Any], prompt: str) -> tuple[dict[str, Any], str]:
    """The profile's parameter policy: `size_in_prompt` moves `size` into the prompt;
    `omit_params` are never sent (the model and the prompt always are)."""
    if conn.size_in_prompt and "size" in fields:
        prompt = prompt_with_size(prompt, str(fields.pop("size")))
    for name in conn.omit_params:
        if name not in ("model", "prompt", "type"):
            fields.pop(name, None)
    return fields, prompt


def _build_call(conn: Connection, req: ImageRequest, n: int, slots: list[int]) -> HttpCall:
    params = image_params(req)
    if conn.api_mode == "responses":
        tool: dict[str, Any] = {"type": "image_generation", "model": req.model, **params}
        if req.stream:
            # The Responses tool has rejected stream=true with 0 partials.
            tool["partial_images"] = max(1, req.partial_images)
        if req.mask is not None:
            tool["input_image_mask"] = {"image_url": _data_url(req.mask)}
        tool, prompt = _policy(conn, tool, req.prompt)
        content: list[dict[str, Any]] = [{"type": "input_text", "text": prompt}]
        content += [{"type": "input_image", "image_url": _data_url(img)} for img in req.images]
        body: dict[str, Any] = {
            "model": conn.mainline_model,
            "input": [{"role": "user", "content": content}],
            "tools": [tool],
            "tool_choice": {"type": "image_generation"},
            "stream": req.stream,
        }
        if req.previous_response_id:
            body["previous_response_id"] = req.previous_response_id
        return HttpCall(RESPONSES, json=body, responses=True, slots=slots)

    fields: dict[str, Any] = {"model": req.model, "prompt": req.prompt, **params}
    if n != 1:
        fields["n"] = n
    if req.stream:
        fields["stream"] = True
        fields["partial_images"] = req.partial_images
    fields, prompt = _policy(conn, fields, req.prompt)
    fields["prompt"] = prompt
    if not req.is_edit:
        return HttpCall(GENERATIONS, json=fields, slots=slots)
    svg = fields.pop("svg", None)
    data = {
        k: ("true" if v is True else "false" if v is False else str(v)) for k, v in fields.items()
    }
    if isinstance(svg, dict):  # multipart nests objects as svg[model], svg[reasoning][effort]
        if "model" in svg:
            data["svg[model]"] = str(svg["model"])
        if "reasoning" in svg:
            data["svg[reasoning][effort]"] = str(svg["reasoning"]["effort"])
    name = "image" if len(req.images) == 1 else "image[]"
    files = [(name, (img.name, img.data, img.mime)) for img in req.images]
    if req.mask is not None:
        files.append(("mask", (req.mask.name, req.mask.data, req.mask.mime)))
    if req.markup is not None:
        files.append(("markup", (req.markup.name, req.markup.data, req.markup.mime)))
    return HttpCall(EDITS, data=data, files=files, slots=slots)
