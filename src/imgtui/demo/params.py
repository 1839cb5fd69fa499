"""Request parsing and validation, shared by the Images and Responses endpoints.

Field values come either from JSON (typed) or from multipart forms (strings); the helpers
accept both. Errors are raised as `ApiError`s shaped like the real API's.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from imgtui.demo import faults
from imgtui.demo.faults import error_body
from imgtui.demo.modes import FAULT_MODES
from imgtui.demo.state import ApiError, DemoState, bad_request
from imgtui.models import DEFAULT_MODEL

# Size limits (newer models accept any WxH up to 3840x2160); absurd sizes are clamped.
MIN_SIDE = 16
MAX_SIDE = 3840
MAX_PIXELS = 3840 * 2160
DEFAULT_SIZE = (1024, 1024)


async def read_json(request: Request) -> dict:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise bad_request(
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON payload."
        )
    return data


@dataclass
class Upload:
    """A file part of a multipart request, read into memory."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    def summary(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": len(self.data),
        }


async def read_form(request: Request) -> tuple[dict[str, str], list[Upload]]:
    """Scalar fields (last value wins) and file parts, in order, of a multipart body."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise bad_request(
            f"Invalid Content-Type header ({content_type or 'none'}), expected multipart/form-data.",
            code="invalid_content_type",
        )
    fields: dict[str, str] = {}
    uploads: list[Upload] = []
    form = await request.form(max_part_size=4 * 1024 * 1024)
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads.append(Upload(name, value.filename, value.content_type, await value.read()))
            else:
                fields[name] = value
    finally:
        await form.close()
    return fields, uploads


def _int_field(fields: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_request(
            f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type"
        )
    try:
        number = int(value)
    except ValueError:
        raise bad_request(
            f"Invalid type for '{name}': expected an integer.", param=name, code="invalid_type"
        ) from None
    if number < low:
        raise bad_request(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got {number} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if number > high:
        raise bad_request(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got {number} instead.",
            param=name,
            code="integer_above_max_value",
        )
    return number


def bool_field(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def _str_field(fields: Mapping[str, Any], name: str, default: str) -> str:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise bad_request(
            f"Invalid type for '{name}': expected a string.", param=name, code="invalid_type"
        )
    return value


def parse_size(value: Any) -> tuple[int, int]:
    """`auto`/missing -> 1024x1024; `WxH` -> (W, H) clamped to sane limits; else ApiError."""
    if value is None or value == "" or value == "auto":
        return DEFAULT_SIZE
    match = (
        re.fullmatch(r"\s*(\d{1,7})\s*[xX]\s*(\d{1,7})\s*", value)
        if isinstance(value, str)
        else None
    )
    if not match:
        raise bad_request(
            f"Invalid value: '{value}'. Supported values are: 'auto' or 'WIDTHxHEIGHT' (e.g. '1024x1024').",
            param="size",
            code="invalid_value",
        )
    width = min(MAX_SIDE, max(MIN_SIDE, int(match[1])))
    height = min(MAX_SIDE, max(MIN_SIDE, int(match[2])))
    if width * height > MAX_PIXELS:
        scale = math.sqrt(MAX_PIXELS / (width * height))
        width, height = max(MIN_SIDE, int(width * scale)), max(MIN_SIDE, int(height * scale))
    return width, height


def _request_delay(request: Request, state: DemoState) -> float:
    """The server's delay, or the request's `x-demo-delay` header when it is a number."""
    header = request.headers.get("x-demo-delay")
    if header is not None:
        try:
            value = float(header)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            return max(0.0, value)
    return state.delay


@dataclass(frozen=True)
class ImageParams:
    """The normalized parameters of one image request (either API)."""

    prompt: str
    model: str
    n: int
    width: int
    height: int
    quality: str
    background: str
    output_format: str
    output_compression: int | None
    partial_images: int
    stream: bool
    delay: float
    variant: int
    # today's API (shared/OPENAI-IMAGES.md §2): GIF frames, the SVG author, the end-user id
    complexity: str | None = None
    frame_count: int = 9
    frame_duration_ms: int = 200
    safety_identifier: str | None = None
    user: str | None = None
    svg: Mapping[str, Any] | None = None
    hold: str | None = None  # `x-demo-hold: NAME`: the final image waits for gate NAME

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def revised_prompt(self) -> str:
        return f"A detailed rendering of: {self.prompt}"

    def meta(self) -> dict[str, str]:
        """What the server reports it produced (the resolved values, never `auto`)."""
        return {
            "size": self.size,
            "quality": self.quality,
            "background": self.background,
            "output_format": self.output_format,
        }

    def output_tokens(self) -> int:
        """Roughly what the real API charges per image."""
        rates = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320}
        per_megapixel = rates.get(self.quality, 1056)
        return max(1, round(per_megapixel * self.width * self.height / (1024 * 1024)))


@dataclass(frozen=True)
class Param:
    """One request parameter the demo server reads: how to read it and what it accepts.

    `kind` is "str", "int" (within `low`..`high`) or "bool". `choices`, when set, are the
    accepted values (after `lower` and `aliases`); `resolve` maps a value to what the
    server reports having used (`auto` -> `high`); `optional` parameters are None when
    missing. A new parameter is one row here and one field of `ImageParams`.
    """

    name: str
    kind: str = "str"
    default: Any = None
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    resolve: Mapping[str, str] = field(default_factory=dict)
    lower: bool = False
    optional: bool = False

    def read(self, fields: Mapping[str, Any], default: Any = None) -> Any:
        """The normalized value in `fields` (JSON or multipart strings); raises ApiError."""
        if self.optional and fields.get(self.name) in (None, ""):
            return None
        fallback = self.default if default is None else default
        if self.kind == "int":
            return _int_field(fields, self.name, fallback, self.low, self.high)
        if self.kind == "bool":
            return bool_field(fields, self.name)
        value = _str_field(fields, self.name, fallback)
        if self.lower:
            value = value.lower()
        value = self.aliases.get(value, value)
        if self.choices and value not in self.choices:
            listed = ", ".join(f"'{c}'" for c in self.choices[:-1]) + f", and '{self.choices[-1]}'"
            raise bad_request(
                f"Invalid value: '{value}'. Supported values are: {listed}.",
                param=self.name,
                code="invalid_value",
            )
        return self.resolve.get(value, value)


#: The parameters of both APIs besides `prompt` and `size`, in the order they are checked.
PARAMS: tuple[Param, ...] = (
    Param("output_format", default="png", choices=("png", "jpeg", "webp", "gif", "svg"), aliases={"jpg": "jpeg"}, lower=True),
    Param("background", default="auto", resolve={"auto": "opaque"}),
    Param("quality", default="auto", resolve={"auto": "high"}),
    Param("output_compression", "int", 100, 0, 100, optional=True),
    Param("model", default=DEFAULT_MODEL),
    Param("n", "int", 1, 1, 10),
    Param("partial_images", "int", 0, 0, 3),
    Param("stream", "bool", False),
    Param("complexity", choices=("low", "medium", "high"), optional=True),
    Param("frame_count", "int", 9, 2, 16),
    Param("frame_duration_ms", "int", 200, 1, 655_350),
    Param("safety_identifier", optional=True),
    Param("user", optional=True),
)  # fmt: skip

#: Rules across parameters: (when the values break it, message, the parameter named).
RULES: tuple[tuple[Callable[[Mapping[str, Any]], bool], str, str], ...] = (
    (
        lambda v: v["background"] == "transparent" and v["output_format"] == "jpeg",
        "Transparent background is not supported for jpeg output; use png or webp.",
        "background",
    ),
    (
        lambda v: v["background"] == "transparent" and v["output_format"] in ("gif", "svg"),
        "Transparent background is not supported for this output format; use png or webp.",
        "background",
    ),
    (
        lambda v: v["stream"] and v["output_format"] in ("gif", "svg"),
        "Streaming is not supported for GIF or SVG output.",
        "stream",
    ),
    (lambda v: v["output_format"] == "svg" and v["n"] != 1, "SVG output requires n=1.", "n"),
)


def image_params(
    fields: Mapping[str, Any],
    request: Request,
    state: DemoState,
    *,
    prompt_param: str = "prompt",
    default_partials: int = 0,
) -> ImageParams:
    """Validate and normalize request fields (JSON values or multipart strings) by `PARAMS`
    and `RULES`; errors are ApiErrors worded like the real API's."""
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise bad_request(
            f"Missing required parameter: '{prompt_param}'.",
            param=prompt_param,
            code="missing_required_parameter",
        )
    if len(prompt) > 32000:
        raise bad_request(
            f"Invalid '{prompt_param}': string too long. Expected a string with maximum length 32000.",
            param=prompt_param,
            code="string_above_max_length",
        )
    width, height = parse_size(fields.get("size"))
    defaults = {"partial_images": default_partials}
    values = {p.name: p.read(fields, defaults.get(p.name)) for p in PARAMS}
    for broken, message, param in RULES:
        if broken(values):
            raise bad_request(message, param=param, code="invalid_value")
    variant_header = request.headers.get("x-demo-variant", "0")
    return ImageParams(
        prompt=prompt,
        width=width,
        height=height,
        delay=_request_delay(request, state),
        variant=int(variant_header) if variant_header.lstrip("-").isdigit() else 0,
        svg=svg_object(fields),
        hold=request.headers.get("x-demo-hold") or None,
        **values,
    )


def svg_object(fields: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The `svg` object of a JSON body, or of multipart `svg[model]`/`svg[reasoning][effort]`."""
    value = fields.get("svg")
    if isinstance(value, Mapping):
        return value
    model = fields.get("svg[model]")
    effort = fields.get("svg[reasoning][effort]")
    if model is None and effort is None:
        return None
    out: dict[str, Any] = {}
    if model is not None:
        out["model"] = model
    if effort is not None:
        out["reasoning"] = {"effort": effort}
    return out


def check_auth(request: Request, state: DemoState) -> None:
    """With an api_key configured, require `Authorization: Bearer <key>` (or `api-key: <key>`)."""
    if state.api_key is None:
        return
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth[:7].lower() == "bearer " else request.headers.get("api-key")
    if token == state.api_key:
        return
    if not token:
        message = (
            "You didn't provide an API key. You need to provide your API key in an Authorization "
            "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        )
    else:
        message = f"Incorrect API key provided: {token[:3]}...{token[-4:]}"
    raise ApiError(401, error_body(message, code="invalid_api_key"))


def fault_for(request: Request, *models: Any) -> str | None:
    """The fault mode of this request: path prefix first, then `fault-<mode>` model names."""
    mode = request.path_params.get("fault")
    if mode is None:
        for model in models:
            if isinstance(model, str) and model.startswith(faults.FAULT_MODEL_PREFIX):
                mode = model[len(faults.FAULT_MODEL_PREFIX) :]
                break
    if mode is None:
        return None
    if mode not in FAULT_MODES:
        raise ApiError(400, faults.unknown_mode_error(mode, FAULT_MODES))
    return mode
