"""Export: a task's images to a folder under readable names, or the whole history as a zip
(images plus a JSON manifest: prompts, parameters, status, timings, usage; never a key)."""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from imgtui.api.request import image_extension
from imgtui.store.errors import StoreError
from imgtui.store.files import IMAGES, copy_unique, slugify, write_unique
from imgtui.tasks import Slot, Task

__all__ = ["export_images", "export_zip", "manifest_entry"]


def export_images(task: Task, folder: Path, slots: Iterable[int] | None = None) -> list[Path]:
    """Copy the task's images to `folder` as `<prompt-slug>-<date>-<slot>.<ext>` (a slot
    with no final image gives its preview, `…-partial`). Never overwrites: `-2`, `-3`…

    A final image carries its recipe (`imgtui.recipe`: prompt, parameters, model, profile
    name, revised prompt, response id, parent and task id; the image data itself is left as
    the server sent it). A locally keyed transparent image comes with its untouched
    original, `…-original`. A final image that only lives in memory (no file could take
    it, issue 10.5) is written from there. `slots`: only these images (0-based), e.g. the
    one shown in the detail view; default all."""
    wanted = None if slots is None else set(slots)
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create {folder}: {exc.strerror or exc}") from None
    base = (
        f"{slugify(task.prompt)}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(task.created_at))}"
    )
    out: list[Path] = []
    for i, slot in enumerate(task.slots):
        if wanted is not None and i not in wanted:
            continue
        source, partial = slot_file(slot)
        if source is None and slot.image:
            ext = image_extension(slot.image, default="bin")
            out.append(write_unique(folder, f"{base}-{i + 1}", ext, slot.image))
            continue
        if source is None:
            continue
        stem = f"{base}-{i + 1}" + ("-partial" if partial else "")
        if partial:
            out.append(copy_unique(source, folder, stem, source.suffix))
            continue
        out.append(_with_recipe(task, i, source, folder, stem))
        original = slot.original_path
        if original is not None and Path(original).is_file():
            out.append(_with_recipe(task, i, Path(original), folder, f"{stem}-original"))
    return out


def _with_recipe(task: Task, slot: int, source: Path, folder: Path, stem: str) -> Path:
    """`source` written to `folder` with the task's recipe inside; a plain copy when the
    file cannot carry one (GIF, or not readable as an image)."""
    from imgtui.recipe import Recipe, RecipeError, embed

    try:
        data = embed(source.read_bytes(), Recipe.from_task(task, slot))
    except (RecipeError, OSError):
        return copy_unique(source, folder, stem, source.suffix)
    return write_unique(folder, stem, source.suffix, data)


def export_zip(
    tasks: list[Task], path: Path, collections: dict[str, list[str]] | None = None
) -> int:
    """Write the tasks' image files and a `manifest.json` (params, prompt, status,
    timings, usage, file names; never a key) to a zip at `path`. Returns the task count."""
    path = Path(path).expanduser()
    manifest: dict[str, Any] = {
        "format": "imgtui-history",
        "version": 1,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "tasks": [],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for task in tasks:
                files = []
                for i, slot in enumerate(task.slots):
                    source, partial = slot_file(slot)
                    if source is None:
                        continue
                    arcname = f"{IMAGES}/{task.id}/{source.name}"
                    zf.write(
                        source, arcname, compress_type=zipfile.ZIP_STORED
                    )  # images are compressed already
                    files.append({"slot": i, "file": arcname, "partial": partial})
                    original = slot.original_path
                    if original is not None and Path(original).is_file():
                        arcname = f"{IMAGES}/{task.id}/{Path(original).name}"
                        zf.write(original, arcname, compress_type=zipfile.ZIP_STORED)
                        files.append({"slot": i, "file": arcname, "original": True})
                entry = manifest_entry(task, files)
                if collections and collections.get(task.id):
                    entry["collections"] = collections[task.id]
                manifest["tasks"].append(entry)
            zf.writestr(
                "manifest.json",
                json.dumps(manifest, indent=2, ensure_ascii=False),
                zipfile.ZIP_DEFLATED,
            )
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(tasks)

    # -- thumbnails --------------------------------------------------------------------


def slot_file(slot: Slot) -> tuple[Path | None, bool]:
    """The slot's final image file if it exists, else its preview frame; and whether partial."""
    if slot.image_path is not None and Path(slot.image_path).is_file():
        return Path(slot.image_path), False
    if slot.partial_path is not None and Path(slot.partial_path).is_file():
        return Path(slot.partial_path), True
    return None, False


def manifest_entry(task: Task, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": task.id,
        "prompt": task.prompt,
        "revised_prompt": task.revised_prompt,
        "params": task.params.to_json(),  # typed fields only: never a key
        "profile_name": task.profile_name,  # the name only: keys live in the config, never here
        "api_mode": task.api_mode,
        "status": task.status.value,
        "starred": task.starred,
        "parent_id": task.parent_id,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "first_partial_at": task.first_partial_at,
        "finished_at": task.finished_at,
        "elapsed": round(task.elapsed(), 3) if task.finished_at is not None else None,
        "usage": task.usage,
        "error": (
            {"kind": task.error_kind, "message": task.error_message, "hint": task.error_hint}
            if task.error_message
            else None
        ),
        "slots": [
            {
                "status": s.status.value,
                "meta": {k: v for k, v in asdict(s.meta).items() if v is not None},
                "revised_prompt": s.revised_prompt,
                "usage": s.usage,
                "response_id": s.response_id,
            }
            for s in task.slots
        ],
        "files": files,
    }
