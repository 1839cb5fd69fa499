"""Checking the parameters of one request against the API's rules and the model's family.

`check_params` takes the parameters exactly as they would be sent (the API's wire names:
`size`, `quality`, `complexity`, `output_format`, `frame_count`, `svg`, ...) and only those
the user set, so it works for any request model and for the demo server's strict mode.
Errors are `RequestError(field, message)`: the field is the API parameter's name and the
message names the accepted values. Rules and their sources (shared/OPENAI-IMAGES.md):

- API-wide (§2, §2.1, §2.2): `n` 1-10; `output_compression` 0-100 and only with jpeg/webp;
  `transparent` needs png or webp; `partial_images` 0-3; `frame_count` 2-16 and
  `frame_duration_ms` only with gif; `svg` only with svg; GIF and SVG never stream; SVG
  needs n=1; GIF takes no mask and no compression; `markup` needs an input image and
  cannot be combined with `mask`; at most 16 input images; `input_fidelity` only on edits.
- Per model family: see `imgtui.models.catalog`.

A model the table does not know gets the API-wide checks only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from imgtui.api.request import RequestError
from imgtui.models.catalog import (
    BACKGROUNDS,
    COMPLEXITIES,
    FORMATS_ALL,
    MODERATIONS,
    SVG_EFFORTS,
    ModelSpec,
    lookup,
    shutdown_notice,
)
from imgtui.models.sizes import (
    GIF_DEFAULT_FRAMES,
    GIF_FRAMES,
    Snapped,
    check_size,
    gif_rule,
    parse_size_spec,
    parse_wxh,
    resolve_size,
)

#: The image parameters imgtui can send, by their API names.
PARAMS: tuple[str, ...] = (
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "input_fidelity",
    "complexity",
    "n",
    "stream",
    "partial_images",
    "frame_count",
    "frame_duration_ms",
    "svg",
    "safety_identifier",
    "user",
)
FIDELITIES = ("low", "high")
MAX_FRAME_MS = 655_350  # the GIF encoder's cap per frame (§2 frame_duration_ms)
MAX_INPUTS = 16


def _one_of(field: str, value: object, accepted: tuple[str, ...], model: str = "") -> None:
    if value not in accepted:
        who = f"{model} takes" if model else "accepted values are"
        raise RequestError(field, f"{value!r}: {who} {', '.join(accepted)}")


def _int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(field, f"{value!r}: must be a whole number from {low} to {high}")
    if not low <= value <= high:
        raise RequestError(field, f"{value}: must be {low} to {high}")
    return value


def accepted(model: str, param: str) -> tuple[str, ...] | None:
    """The values `model` takes for a string parameter; () when it takes none of them;
    None when the table does not know the model or the parameter has no value list."""
    spec = lookup(model)
    if spec is None:
        return None
    table: dict[str, tuple[str, ...]] = {
        "quality": spec.qualities,
        "output_format": spec.formats,
        "complexity": COMPLEXITIES if spec.complexity else (),
        "input_fidelity": spec.input_fidelity,
        "background": BACKGROUNDS if spec.transparency != "no" else ("auto", "opaque"),
        "moderation": MODERATIONS,
    }
    return table.get(param)


def takes(model: str, param: str) -> bool | None:
    """Whether `model` takes `param` at all (None: a model the table doesn't know)."""
    spec = lookup(model)
    if spec is None:
        return None
    if param == "markup":
        return spec.markup
    if param in ("stream", "partial_images"):
        return spec.streaming
    if param in ("frame_count", "frame_duration_ms"):
        return spec.gif
    if param == "svg":
        return spec.svg
    values = accepted(model, param)
    return bool(values) if values is not None else param in PARAMS


def snap_size(
    model: str, text: str, *, output_format: str = "png", frame_count: int | None = None
) -> Snapped:
    """The size to send for the picker's or `-s`'s `text` (`auto`, `WxH`, `A:B@TIER`)
    with `model`: snapped to the family's size rule (a GIF frame's cap for `frame_count`
    frames, 9 when unset, with `output_format` gif), with notices saying what changed.
    Raises RequestError("size") when `text` is none of those forms."""
    spec = lookup(model)
    frames = (frame_count or GIF_DEFAULT_FRAMES) if output_format == "gif" else None
    return resolve_size(parse_size_spec(text), spec.sizes if spec else None, frames=frames)


def check_params(
    model: str,
    params: Mapping[str, object],
    *,
    inputs: int = 0,
    mask: bool = False,
    markup: bool = False,
    today: date | None = None,
    shutdown: date | None = None,
) -> list[str]:
    """Check the parameters to send with `model`; raise RequestError for the first problem.

    `params` holds API parameter names -> values, only those that will be sent. `inputs`
    is the number of input images (an edit when > 0), `mask`/`markup` whether those files
    go along. Returns warnings that do not block: an experimental size, transparency in
    preview, and (with `today`) a model shut down or shutting down within 30 days
    (`shutdown` overrides the table's date, e.g. from the provider's `GET /models`).
    """
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise RequestError(unknown[0], f"not an image parameter imgtui knows ({', '.join(PARAMS)})")
    spec = lookup(model)
    warnings: list[str] = []
    fmt = params.get("output_format", "png")
    _one_of("output_format", fmt, FORMATS_ALL)
    n = _int("n", params.get("n", 1), 1, 10)
    streaming = params.get("stream") is True
    _check_edit_inputs(inputs, mask, markup, fmt)
    if "output_compression" in params:
        _int("output_compression", params["output_compression"], 0, 100)
        if fmt not in ("jpeg", "webp"):
            raise RequestError(
                "output_compression", f"only applies to jpeg or webp output, not {fmt}"
            )
    background = params.get("background", "auto")
    _one_of("background", background, BACKGROUNDS)
    if background == "transparent" and fmt not in ("png", "webp"):
        raise RequestError("background", f"transparent needs output_format png or webp, not {fmt}")
    if "moderation" in params:
        _one_of("moderation", params["moderation"], MODERATIONS)
    if "input_fidelity" in params:
        if not inputs:
            raise RequestError("input_fidelity", "only applies to edits (with input images)")
        _one_of("input_fidelity", params["input_fidelity"], FIDELITIES)
    if "complexity" in params:
        _one_of("complexity", params["complexity"], COMPLEXITIES)
    if "quality" in params and (
        not isinstance(params["quality"], str) or not params["quality"].strip()
    ):
        raise RequestError("quality", "is empty (use auto)")
    if "partial_images" in params:
        _int("partial_images", params["partial_images"], 0, 3)
    frames = _check_gif(params, fmt, streaming)
    _check_svg(params, fmt, n, streaming)
    for name in ("safety_identifier", "user"):
        if name in params and (not isinstance(params[name], str) or not params[name]):
            raise RequestError(name, "must be a non-empty string")
    if spec is None:
        if "size" in params:
            parse_wxh(str(params["size"]))
        return warnings
    warnings += _check_family(model, spec, params, n, frames, streaming, inputs, markup)
    if today is not None:
        notice = shutdown_notice(model, shutdown or spec.shutdown, today)
        if notice:
            warnings.append(notice)
    return warnings


def _check_edit_inputs(inputs: int, mask: bool, markup: bool, fmt: object) -> None:
    if inputs > MAX_INPUTS:
        raise RequestError("image", f"{inputs} input images; at most {MAX_INPUTS}")
    if mask and not inputs:
        raise RequestError("mask", "needs at least one input image")
    if markup and not inputs:
        raise RequestError("markup", "needs at least one input image (it is drawn over the first)")
    if markup and mask:
        raise RequestError("markup", "cannot be combined with mask: send one or the other")
    if mask and fmt == "gif":
        raise RequestError("mask", "GIF output takes no mask")


def _check_gif(params: Mapping[str, object], fmt: object, streaming: bool) -> int | None:
    """The GIF's frame count (None when not a GIF); raises for GIF-only misuse."""
    if fmt != "gif":
        for name in ("frame_count", "frame_duration_ms"):
            if name in params:
                raise RequestError(name, f"only applies to output_format gif, not {fmt}")
        return None
    frames = GIF_DEFAULT_FRAMES
    if "frame_count" in params:
        frames = _int("frame_count", params["frame_count"], *GIF_FRAMES)
    if "frame_duration_ms" in params:
        _int("frame_duration_ms", params["frame_duration_ms"], 1, MAX_FRAME_MS)
    if streaming:
        raise RequestError("stream", "GIF output does not stream: send it without stream")
    if params.get("partial_images"):
        raise RequestError("partial_images", "GIF output has no partial images")
    return frames


def _check_svg(params: Mapping[str, object], fmt: object, n: int, streaming: bool) -> None:
    if fmt != "svg":
        if "svg" in params:
            raise RequestError("svg", f"only applies to output_format svg, not {fmt}")
        return
    if n != 1:
        raise RequestError("n", f"{n}: SVG output needs n=1")
    if streaming:
        raise RequestError("stream", "SVG output does not stream: send it without stream")
    if params.get("partial_images"):
        raise RequestError("partial_images", "SVG output has no partial images")
    svg = params.get("svg")
    if svg is None:
        return
    if not isinstance(svg, Mapping):
        raise RequestError("svg", "must be an object {model, reasoning: {effort}}")
    extra = sorted(set(svg) - {"model", "reasoning"})
    if extra:
        raise RequestError(f"svg.{extra[0]}", "unknown; svg takes model and reasoning")
    if "model" in svg and (not isinstance(svg["model"], str) or not svg["model"].strip()):
        raise RequestError("svg.model", "must name the text model that writes the SVG")
    reasoning = svg.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, Mapping) or set(reasoning) - {"effort"}:
            raise RequestError("svg.reasoning", "must be an object {effort}")
        _one_of("svg.reasoning.effort", reasoning.get("effort"), SVG_EFFORTS)


def _check_family(
    model: str,
    spec: ModelSpec,
    params: Mapping[str, object],
    n: int,
    frames: int | None,
    streaming: bool,
    inputs: int,
    markup: bool,
) -> list[str]:
    """The checks of `spec`'s family; returns non-blocking warnings."""
    warnings: list[str] = []
    fmt = params.get("output_format", "png")
    _one_of("output_format", fmt, spec.formats, model)
    if "quality" in params:
        _one_of("quality", params["quality"], spec.qualities, model)
    if "complexity" in params and not spec.complexity:
        raise RequestError("complexity", f"{model} takes no complexity (it is 2.6 only): omit it")
    if "input_fidelity" in params:
        if not spec.input_fidelity:
            raise RequestError("input_fidelity", f"{model} takes no input_fidelity: omit it")
        _one_of("input_fidelity", params["input_fidelity"], spec.input_fidelity, model)
    if markup and not spec.markup:
        raise RequestError("markup", f"{model} takes no markup (GPT Image 2.5 and 2.6 do)")
    if n > spec.max_n:
        raise RequestError("n", f"{n}: {model} makes at most {spec.max_n}")
    if inputs > spec.max_inputs:
        raise RequestError(
            "image", f"{inputs} input images; {model} takes at most {spec.max_inputs}"
        )
    if (streaming or params.get("partial_images")) and not spec.streaming:
        raise RequestError("stream", f"{model} does not stream")
    if params.get("background") == "transparent":
        if spec.transparency == "no":
            raise RequestError("background", f"{model} takes no transparent background")
        if spec.transparency == "preview":
            warnings.append(f"transparent backgrounds are in preview on {model}")
    if "size" in params:
        wh = parse_wxh(str(params["size"]))
        if wh is not None:
            rule = gif_rule(spec.sizes, frames) if frames is not None else spec.sizes
            warnings += check_size(*wh, rule, model)
    return warnings
