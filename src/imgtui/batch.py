"""Batch files for `imgtui generate --from FILE` and the app's batch mode.

One prompt per line, or one JSON object per line with per-prompt parameters:

    a red fox in the snow
    # comments and blank lines are skipped
    {"prompt": "a castle at dusk", "size": "1536x1024", "quality": "high", "n": 2}
    {"prompt": "a sticker of a cat", "transparent": "local"}

JSON keys are the request parameter names (`model`, `size`, `quality`, `n`,
`output_format`, `background`, `output_compression`, `moderation`, `input_fidelity`,
`partial_images`, `stream`), plus `transparent` (native | local), `profile` (a profile
name) and `images` / `mask` (file paths, relative to the batch file: an edit). A line that
starts with `{` must be valid JSON; unknown keys and wrong types are errors naming the
line, so a typo never silently runs 20 paid requests with the wrong settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ITEMS = 1000

_INT = ("n", "output_compression", "partial_images")
_STR = (
    "model",
    "size",
    "quality",
    "output_format",
    "background",
    "moderation",
    "input_fidelity",
    "transparent",
    "profile",
    "mask",
)
_BOOL = ("stream",)
_LIST = ("images",)


class BatchError(ValueError):
    """A batch file line that cannot be used: `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class BatchItem:
    """One prompt of a batch and its parameters (only the ones the line sets)."""

    prompt: str
    params: dict[str, Any] = field(default_factory=dict)
    line: int = 0


def parse_batch(text: str, base: Path | None = None) -> list[BatchItem]:
    """The prompts of a batch file's text. Paths in `images`/`mask` are made absolute
    against `base` (the batch file's folder). Raises BatchError for the first bad line, or
    when there are no prompts or more than MAX_ITEMS."""
    items: list[BatchItem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            items.append(_json_item(line, number, base))
        else:
            items.append(BatchItem(prompt=line, line=number))
        if len(items) > MAX_ITEMS:
            raise BatchError(number, f"more than {MAX_ITEMS} prompts in one batch")
    if not items:
        raise BatchError(0, "no prompts (one per line, or JSON lines with a prompt)")
    return items


def read_batch(path: str | Path) -> list[BatchItem]:
    """`parse_batch` of a file (UTF-8). Raises OSError when unreadable, BatchError if bad."""
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BatchError(0, f"{p.name} is not UTF-8 text ({exc.reason})") from None
    return parse_batch(text, base=p.parent)


def _json_item(line: str, number: int, base: Path | None) -> BatchItem:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise BatchError(number, f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise BatchError(number, "a JSON line must be an object with a prompt")
    prompt = obj.pop("prompt", None)
    if not isinstance(prompt, str) or not prompt.strip():
        raise BatchError(number, "missing prompt")
    params: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _INT:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif key in _STR:
            ok = isinstance(value, str)
        elif key in _BOOL:
            ok = isinstance(value, bool)
        elif key in _LIST:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            known = ", ".join(sorted((*_INT, *_STR, *_BOOL, *_LIST)))
            raise BatchError(number, f"unknown key {key!r} (known: prompt, {known})")
        if not ok:
            raise BatchError(number, f"{key!r} has the wrong type")
        params[key] = value
    if "transparent" in params and params["transparent"] not in ("native", "local"):
        raise BatchError(number, "'transparent' must be native or local")
    if base is not None:
        if "images" in params:
            params["images"] = [str((base / p).expanduser()) for p in params["images"]]
        if "mask" in params:
            params["mask"] = str((base / params["mask"]).expanduser())
    return BatchItem(prompt=prompt.strip(), params=params, line=number)
