"""A recipe inside every saved image: how it was made, readable back from the file alone.

A recipe is a small JSON object: prompt, revised prompt, request parameters, model, API
mode, profile *name* (never a key, header or query value), response id, parent task and
task id. It travels inside the image file, so "reuse" works on an image that went through
chat or e-mail:

- every format carries it as the XMP property `imgtui:recipe` (namespace `RECIPE_NS`),
  written by exiv2 (pyexiv2): in a PNG that is an iTXt text chunk (`XML:com.adobe.xmp`),
  in a JPEG an APP1 segment, in a WebP an XMP chunk. Only metadata is added: the image
  data (PNG IDAT, JPEG scan, WebP VP8) stays byte for byte as the server sent it.

`read()` also accepts a PNG iTXt chunk with the keyword `imgtui:recipe` holding the JSON
(what another tool can write most easily).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgtui.tasks import Task

RECIPE_KEY = "imgtui:recipe"
RECIPE_NS = "https://imgtui.invalid/ns/recipe/1.0/"
RECIPE_VERSION = 1
_XMP_KEY = "Xmp.imgtui.recipe"
_SECRET_RE = re.compile(
    r"(?i)^(api[_-]?key|x-api-key|authorization|key|secret|password|token|access[_-]?token)$"
)
_MAX_JSON = 512 * 1024  # a recipe is a few KB; refuse anything absurd from a foreign file


class RecipeError(ValueError):
    """The image cannot carry a recipe (unknown format, unreadable file)."""


@dataclass(frozen=True)
class Recipe:
    """How one image was made. `params` are the request parameters as asked (JSON-safe)."""

    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    revised_prompt: str | None = None
    model: str = ""
    api_mode: str = "images"
    profile_name: str = ""
    response_id: str | None = None
    parent_id: str | None = None
    task_id: str | None = None
    slot: int = 0
    created_at: float | None = None
    version: int = RECIPE_VERSION

    def __post_init__(self) -> None:
        clean = {k: v for k, v in self.params.items() if not _SECRET_RE.match(str(k))}
        object.__setattr__(self, "params", clean)

    def to_json(self) -> str:
        return json.dumps(
            {"generator": "imgtui", **asdict(self)}, ensure_ascii=False, sort_keys=True
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Recipe:
        """Parse a recipe; unknown keys are ignored (newer writers), wrong types rejected.

        Raises RecipeError when the text is not a recipe object with a string prompt.
        """
        if len(text) > _MAX_JSON:
            raise RecipeError("recipe too large")
        try:
            obj = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RecipeError(f"recipe is not JSON: {exc}") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("prompt"), str):
            raise RecipeError("recipe has no prompt")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in obj or obj[f.name] is None:
                continue
            value = obj[f.name]
            expected: dict[str, type | tuple[type, ...]] = {
                "params": dict,
                "slot": int,
                "version": int,
                "created_at": (int, float),
            }
            want = expected.get(f.name, str)
            if not isinstance(value, want) or isinstance(value, bool):
                raise RecipeError(f"recipe field {f.name!r} has the wrong type")
            kwargs[f.name] = value
        return cls(**kwargs)

    @classmethod
    def from_task(cls, task: Task, slot: int = 0) -> Recipe:
        """The recipe of slot `slot` of a task (its revised prompt and response id)."""
        s = task.slots[slot] if 0 <= slot < len(task.slots) else None
        return cls(
            prompt=task.prompt,
            params=dict(task.params),
            revised_prompt=(s.revised_prompt if s else None) or task.revised_prompt,
            model=task.model,
            api_mode=task.api_mode,
            profile_name=task.profile_name,
            response_id=(s.response_id if s else None) or task.response_id,
            parent_id=task.parent_id,
            task_id=task.id,
            slot=slot,
            created_at=task.created_at,
        )


def embed(data: bytes, recipe: Recipe) -> bytes:
    """`data` (PNG, JPEG or WebP bytes) with `recipe` written in; an older recipe is replaced.

    Raises RecipeError for other formats or unreadable files.
    """
    if _kind(data) is None:
        raise RecipeError("only PNG, JPEG and WebP images can carry a recipe")
    return _embed_xmp(data, recipe.to_json())


def read(data: bytes) -> Recipe | None:
    """The recipe inside image bytes, or None when there is none (or it is malformed)."""
    kind = _kind(data)
    if kind is None:
        return None
    text = _xmp_text(data)
    if text is None and kind == "png":
        text = _png_text(data)
    if text is None:
        return None
    try:
        return Recipe.from_json(text)
    except RecipeError:
        return None


def read_file(path: str | Path) -> Recipe | None:
    """The recipe inside an image file, or None. Raises OSError when the file is unreadable."""
    return read(Path(path).expanduser().read_bytes())


def write_file(path: str | Path, data: bytes, recipe: Recipe) -> None:
    """Write `data` with `recipe` embedded to `path` (the caller chooses a free name)."""
    Path(path).write_bytes(embed(data, recipe))


# -- formats ------------------------------------------------------------------------------


def _kind(data: bytes) -> str | None:
    from imgtui.api.request import sniff_mime

    mime = sniff_mime(data)
    return {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}.get(mime or "")


def _png_text(data: bytes) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # text chunks after the image data are read only by load()
            value = getattr(im, "text", {}).get(RECIPE_KEY)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return str(value) if value is not None else None


_ns_registered = False


def _exiv2():
    """pyexiv2 with our XMP namespace registered and its console logging off."""
    global _ns_registered
    import pyexiv2

    if not _ns_registered:
        pyexiv2.set_log_level(4)  # exiv2 would print warnings about foreign files to stderr
        try:
            pyexiv2.registerNs(RECIPE_NS, "imgtui")
        except Exception:  # already registered by another copy of this module
            pass
        _ns_registered = True
    return pyexiv2


def _embed_xmp(data: bytes, text: str) -> bytes:
    exiv2 = _exiv2()
    try:
        with exiv2.ImageData(data) as img:
            img.modify_xmp({_XMP_KEY: text})
            return bytes(img.get_bytes())
    except (RuntimeError, ValueError) as exc:
        raise RecipeError(f"cannot write XMP: {exc}") from None


def _xmp_text(data: bytes) -> str | None:
    exiv2 = _exiv2()
    try:
        with exiv2.ImageData(data) as img:
            value = img.read_xmp().get(_XMP_KEY)
    except (RuntimeError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, str) else None
