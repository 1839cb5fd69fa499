"""The image request model and its validation.

Everything a user can ask for, checked before a byte is sent. Model and quality
stay free strings: new ones appear faster than any list could follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

ApiMode = Literal["images", "responses"]
API_MODES: tuple[str, ...] = ("images", "responses")

FORMATS = ("png", "jpeg", "webp", "gif", "svg")
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
FIDELITIES = ("low", "high")
MAX_PROMPT = 32_000
MAX_W, MAX_H = 3840, 2160

_SIZE_RE = re.compile(r"^(\d+)x(\d+)$")
# Magic numbers of the image types the APIs accept as input.
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"RIFF", "image/webp"),  # checked further below (WEBP at offset 8)
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class RequestError(ValueError):
    """One invalid field: `field` names it, the message says what is accepted."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def sniff_mime(data: bytes) -> str | None:
    """The MIME type of image bytes, from their magic number, or None."""
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            if mime == "image/webp" and data[8:12] != b"WEBP":
                continue
            return mime
    return None


_EXT_BY_MIME = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def image_extension(data: bytes, default: str = "png") -> str:
    """The file extension (no dot) for image bytes, from their magic number (`svg` for SVG
    markup), else `default`."""
    mime = sniff_mime(data)
    if mime is None:
        head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
            return "svg"
    return _EXT_BY_MIME.get(mime or "", default)


@dataclass(frozen=True)
class InputImage:
    """An input image for edits: its bytes, a file name and a MIME type."""

    data: bytes
    name: str = "image.png"
    mime: str = "image/png"

    @classmethod
    def load(cls, source: str | Path | bytes, field: str = "image") -> InputImage:
        """Read and check an input image from a path or raw bytes."""
        if isinstance(source, bytes):
            data, name = source, "image.png"
        else:
            path = Path(source).expanduser()
            if not path.is_file():
                raise RequestError(field, f"no such file: {path}")
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise RequestError(field, f"cannot read {path}: {exc.strerror}") from None
            name = path.name
        mime = sniff_mime(data)
        if mime is None:
            raise RequestError(field, f"{name} is not a PNG, JPEG, WebP or GIF image")
        return cls(data=data, name=name, mime=mime)


def parse_size(size: str) -> tuple[int, int] | None:
    """`"1536x1024"` -> (1536, 1024); `"auto"` -> None. Raises RequestError."""
    if size == "auto":
        return None
    m = _SIZE_RE.match(size.strip().lower())
    if not m:
        raise RequestError("size", f"{size!r} is not 'auto' or WIDTHxHEIGHT (e.g. 1024x1024)")
    w, h = int(m.group(1)), int(m.group(2))
    if w <= 0 or h <= 0:
        raise RequestError("size", "width and height must be positive")
    if w % 16 or h % 16:
        raise RequestError("size", f"{w}x{h}: both sides must be multiples of 16")
    if max(w, h) > 3 * min(w, h):
        raise RequestError("size", f"{w}x{h}: the long side may be at most 3 times the short side")
    if max(w, h) > MAX_W or min(w, h) > MAX_H:
        raise RequestError("size", f"{w}x{h}: at most {MAX_W}x{MAX_H}")
    return w, h


@dataclass(frozen=True)
class ImageRequest:
    """What to generate. `images` non-empty makes it an edit (or Responses input images)."""

    prompt: str
    model: str = "gpt-image-1"
    n: int = 1
    size: str = "auto"
    quality: str = "auto"
    background: str = "auto"
    output_format: str = "png"
    output_compression: int | None = None
    moderation: str | None = None
    input_fidelity: str | None = None
    partial_images: int = 2
    stream: bool = True
    images: tuple[InputImage, ...] = ()
    mask: InputImage | None = None
    previous_response_id: str | None = None
    # today's API (shared/OPENAI-IMAGES.md §2): None = not set, not sent
    complexity: str | None = None
    frame_count: int | None = None  # GIF only, 2-16
    frame_duration_ms: int | None = None  # GIF only
    svg_model: str | None = None  # SVG only: the text model that writes the SVG
    svg_effort: str | None = None  # SVG only: that model's reasoning effort
    safety_identifier: str | None = None
    markup: InputImage | None = None  # edits: a transparent PNG overlay the size of image 1

    @property
    def is_edit(self) -> bool:
        return bool(self.images)

    def with_(self, **changes: object) -> ImageRequest:
        return replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> ImageRequest:
        """Raise RequestError for the first invalid field; return self when valid."""
        if not self.prompt.strip():
            raise RequestError("prompt", "is empty")
        if len(self.prompt) > MAX_PROMPT:
            raise RequestError(
                "prompt", f"is {len(self.prompt):,} characters; at most {MAX_PROMPT:,}"
            )
        if not self.model.strip():
            raise RequestError("model", "is empty")
        if not 1 <= self.n <= 10:
            raise RequestError("n", f"{self.n}: must be 1 to 10")
        parse_size(self.size)
        if not self.quality.strip():
            raise RequestError("quality", "is empty (use 'auto')")
        if self.output_format not in FORMATS:
            raise RequestError(
                "output_format", f"{self.output_format!r}: must be one of {', '.join(FORMATS)}"
            )
        if self.background not in BACKGROUNDS:
            raise RequestError(
                "background", f"{self.background!r}: must be one of {', '.join(BACKGROUNDS)}"
            )
        if self.background == "transparent" and self.output_format == "jpeg":
            raise RequestError("background", "transparent needs output_format png or webp")
        if self.output_compression is not None:
            if not 0 <= self.output_compression <= 100:
                raise RequestError(
                    "output_compression", f"{self.output_compression}: must be 0 to 100"
                )
            if self.output_format == "png":
                raise RequestError("output_compression", "only applies to jpeg or webp output")
        if self.moderation is not None and self.moderation not in MODERATIONS:
            raise RequestError("moderation", f"{self.moderation!r}: must be auto or low")
        if self.input_fidelity is not None and self.input_fidelity not in FIDELITIES:
            raise RequestError("input_fidelity", f"{self.input_fidelity!r}: must be low or high")
        if not 0 <= self.partial_images <= 3:
            raise RequestError("partial_images", f"{self.partial_images}: must be 0 to 3")
        if len(self.images) > 16:
            raise RequestError("images", f"{len(self.images)} input images; at most 16")
        if self.mask is not None:
            if not self.images:
                raise RequestError("mask", "needs at least one input image")
            if self.mask.mime != "image/png":
                raise RequestError("mask", "must be a PNG with an alpha channel")
        if self.markup is not None:
            if not self.images:
                raise RequestError("markup", "needs at least one input image")
            if self.mask is not None:
                raise RequestError("markup", "cannot be combined with mask: send one or the other")
            if self.markup.mime != "image/png":
                raise RequestError("markup", "must be a PNG with transparent pixels")
        return self


# API defaults (shared/OPENAI-IMAGES.md §2): a value equal to one of these is not sent.
API_DEFAULTS: dict[str, object] = {
    "size": "auto",
    "quality": "auto",
    "background": "auto",
    "output_format": "png",
    "moderation": "auto",
}


def image_params(req: ImageRequest) -> dict[str, object]:
    """The image parameters to send (shared by the Images API and the Responses tool):
    only what the user set, and nothing that restates the API's default (`API_DEFAULTS`),
    so a relay that refuses a parameter never receives one nobody asked for."""
    values: dict[str, object | None] = {
        "size": req.size,
        "quality": req.quality,
        "background": req.background,
        "output_format": req.output_format,
        "output_compression": req.output_compression,
        "moderation": req.moderation,
        "input_fidelity": req.input_fidelity if req.images else None,
        "complexity": req.complexity,
        "safety_identifier": req.safety_identifier,
    }
    if req.output_format == "gif":
        values["frame_count"] = req.frame_count
        values["frame_duration_ms"] = req.frame_duration_ms
    if req.output_format == "svg" and (req.svg_model or req.svg_effort):
        svg: dict[str, object] = {}
        if req.svg_model:
            svg["model"] = req.svg_model
        if req.svg_effort:
            svg["reasoning"] = {"effort": req.svg_effort}
        values["svg"] = svg
    return {
        name: value
        for name, value in values.items()
        if value is not None and value != API_DEFAULTS.get(name)
    }


@dataclass(frozen=True)
class Connection:
    """Where and how to send: one provider profile, resolved (key included)."""

    base_url: str
    api_key: str | None = None
    api_mode: ApiMode = "images"
    mainline_model: str = "gpt-5"
    timeout: float = 600.0
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    max_retries: int = 2
    deadline: float | None = 900.0  # seconds a whole request may take (None: no bound)
    omit_params: tuple[str, ...] = ()  # parameters never sent to this endpoint
    size_in_prompt: bool = False  # the size goes into the prompt text instead of `size`

    def secrets(self) -> list[str]:
        """Every value that must never be shown: the key, each header and query value."""
        from urllib.parse import parse_qsl, urlsplit

        in_url = [v for _, v in parse_qsl(urlsplit(self.base_url).query)]
        values = [self.api_key or "", *self.headers.values(), *self.query.values(), *in_url]
        return [v for v in values if v]

    def __repr__(self) -> str:  # never leak the key through a repr in a log or traceback
        key = "set" if self.api_key else "none"
        return (
            f"Connection(base_url={self.base_url!r}, api_mode={self.api_mode!r}, api_key=<{key}>)"
        )
