"""The demo server's side of today's image API (shared/OPENAI-IMAGES.md, 2026-11-30).

- `ROSTER`: what `GET /models` lists: every model of imgtui's family table with its
  `shutdown_date` (the real API keeps listing a deprecated model until it is shut down;
  the demo lists the shut-down ones too, so clients can be tested on them), the mainline
  models a Responses client picks from, and the benchmark model.
- `strict_check`: the `strict` fault mode, a picky provider: any parameter the chosen model
  doesn't take, or a value it doesn't accept, is refused with HTTP 400 naming the
  parameter (the checks are `imgtui.models.rules`, the same table the client uses). A
  model the table doesn't know takes only `prompt`, `model` and `n`, the way xAI answers
  "Argument not supported: size".
- `gif_bytes` and `svg_bytes`: the GIF (a few frames, the picture panning one loop) and
  SVG (vector shapes from the prompt) outputs, and `svg_usage`.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from imgtui.api.request import RequestError
from imgtui.demo.params import svg_object
from imgtui.demo.state import ApiError, bad_request
from imgtui.models import FAMILIES, check_params, lookup

#: Mainline (Responses API) models the demo lists besides the image models.
MAINLINE_MODELS = ("gpt-5.6-terra", "gpt-6.1-sol")
#: The text model that writes SVGs when the request names none.
SVG_AUTHOR = "gpt-5.6-terra"
_CREATED = 1700000000


def roster(extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The `data` of `GET /models`: image models with `shutdown_date`, then the others."""
    out = [
        {
            "id": model_id,
            "object": "model",
            "created": _CREATED,
            "owned_by": "imgtui-demo",
            "shutdown_date": spec.shutdown.isoformat() if spec.shutdown else None,
        }
        for spec in FAMILIES
        for model_id in spec.ids
    ]
    out += [
        {"id": m, "object": "model", "created": _CREATED, "owned_by": "imgtui-demo"}
        for m in (*MAINLINE_MODELS, *extra)
    ]
    return out


def model_object(model_id: str) -> dict[str, Any]:
    """`GET /models/{id}`: the roster's entry, or a plain object for other ids."""
    for entry in roster():
        if entry["id"] == model_id:
            return entry
    return {"id": model_id, "object": "model", "created": _CREATED, "owned_by": "imgtui-demo"}


# -- strict mode --------------------------------------------------------------------------

_NOT_PARAMS = ("prompt", "model", "image", "image[]", "mask", "markup")
_INT_FIELDS = ("n", "output_compression", "partial_images", "frame_count", "frame_duration_ms")
UNKNOWN_MODEL_TAKES = ("n",)


def wire_params(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The image parameters of a request body (JSON values, or multipart strings with
    `svg[model]`-style nested fields), typed as JSON would carry them."""
    out: dict[str, Any] = {}
    svg = svg_object(fields)
    if svg is not None:
        out["svg"] = svg
    for name, raw in fields.items():
        if name in _NOT_PARAMS or name.startswith("svg"):
            continue
        value: Any = raw
        if isinstance(raw, str) and name in _INT_FIELDS and raw.lstrip("-").isdigit():
            value = int(raw)
        elif isinstance(raw, str) and name == "stream":
            value = raw.strip().lower() in ("true", "1")
        out[name] = value
    return out


def strict_check(
    fields: Mapping[str, Any], *, inputs: int = 0, mask: bool = False, markup: bool = False
) -> None:
    """Raise ApiError 400 for the first parameter the request's model doesn't take."""
    model = fields.get("model")
    params = wire_params(fields)
    if not isinstance(model, str) or lookup(model) is None:
        for name in params:
            if name not in UNKNOWN_MODEL_TAKES:
                raise bad_request(
                    f"Argument not supported: {name}", param=name, code="unknown_parameter"
                )
        return
    try:
        check_params(model, params, inputs=inputs, mask=mask, markup=markup)
    except RequestError as exc:
        raise strict_error(exc) from None


def strict_error(exc: RequestError) -> ApiError:
    """OpenAI's shape for a parameter a model refuses (§6: `invalid_request_error` with
    `param` set; the exact text is not published)."""
    name = exc.field
    if exc.message.startswith("not an image parameter"):
        return bad_request(f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
    return bad_request(
        f"Invalid value for '{name}': {exc.message}", param=name, code="invalid_value"
    )


# -- GIF and SVG outputs ------------------------------------------------------------------


def gif_bytes(picture: Any, frames: int, duration_ms: int) -> bytes:
    """An animated GIF of `frames` frames: `picture` (a Pillow image) panning one full
    loop, `duration_ms` per frame (rounded to 10 ms like the API), looping forever."""
    from PIL import ImageChops

    width = picture.width
    rgb = picture.convert("RGB")
    images = [ImageChops.offset(rgb, width * i // frames, 0) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(
        buf,
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(10, round(duration_ms / 10) * 10),
        loop=0,
        disposal=1,
    )
    return buf.getvalue()


def svg_bytes(prompt: str, width: int, height: int) -> bytes:
    """An SVG drawn from the prompt: a gradient and a few shapes, the prompt as its title."""
    digest = hashlib.sha256(prompt.encode()).digest()

    def colour(i: int) -> str:
        return "#" + digest[i : i + 3].hex()

    shapes = []
    for k in range(4):
        cx = width * (0.2 + 0.6 * digest[10 + k] / 255)
        cy = height * (0.2 + 0.6 * digest[14 + k] / 255)
        r = min(width, height) * (0.08 + 0.2 * digest[18 + k] / 255)
        shapes.append(
            f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{r:.0f}" fill="{colour(3 * k + 6)}" '
            f'fill-opacity="0.85"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f"<title>{escape(prompt[:200])}</title>"
        '<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{colour(0)}"/><stop offset="1" stop-color="{colour(3)}"/>'
        "</linearGradient></defs>"
        f'<rect width="{width}" height="{height}" fill="url(#bg)"/>' + "".join(shapes) + "</svg>"
    ).encode()


def svg_usage(prompt: str, svg: object) -> dict[str, Any]:
    """The `svg_usage` of an SVG reply (§3): the author model's tokens."""
    author = svg.get("model") if isinstance(svg, Mapping) else None
    text = max(1, len(prompt) // 4)
    output, reasoning = 1800, 600
    return {
        "input_tokens": text + 700,
        "model": author if isinstance(author, str) and author else SVG_AUTHOR,
        "output_tokens": output,
        "reasoning_tokens": reasoning,
        "total_tokens": text + 700 + output,
    }
