"""`imgtui import FILE...`: tasks back from images that carry a recipe (`imgtui.recipe`).

An image saved by imgtui carries its prompt, parameters, model, profile name, revised
prompt, response id, parent and task id. Importing it recreates that task in history, with
the image as its result, so "reuse" and "refine" work on an image that travelled by chat
or e-mail. Images of one task (n > 1) come back into the same task, each in its slot; an
image whose task is already in history is skipped. An image without a recipe is not a
task: it is returned as a reference for an edit (`ImportReport.references`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from imgtui.recipe import Recipe, read

_TASK_ID = re.compile(r"^[0-9a-f]{12}$")
MAX_FILE = 128 * 1024 * 1024
MAX_N = 10  # images per task (the API's limit for n)


class TaskSink(Protocol):
    """What `import_images` needs from the history store."""

    def get(self, task_id: str) -> Any: ...
    def save(self, task: Any) -> None: ...
    def write_image(self, task: Any, slot: int, data: bytes) -> Path: ...


@dataclass
class ImportReport:
    """Tasks added (ids), images skipped (already in history), plain images (edit
    references), and files that could not be read (path, reason)."""

    added: list[str] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    references: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


def import_images(paths: Iterable[str | Path], store: TaskSink) -> ImportReport:
    """Recreate tasks from recipe-carrying images (see the module docstring)."""
    from imgtui.api.request import sniff_mime

    report = ImportReport()
    groups: dict[str, list[tuple[Recipe, bytes, Path]]] = {}
    order: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            if path.stat().st_size > MAX_FILE:
                raise OSError(f"larger than {MAX_FILE // 2**20} MiB")
            data = path.read_bytes()
        except OSError as exc:
            report.errors.append((path, getattr(exc, "strerror", None) or str(exc)))
            continue
        if sniff_mime(data) is None:
            report.errors.append((path, "not a PNG, JPEG, WebP or GIF image"))
            continue
        recipe = read(data)
        if recipe is None:
            report.references.append(path)
            continue
        key = recipe.task_id if recipe.task_id and _TASK_ID.match(recipe.task_id) else None
        key = key or f"file:{path}"
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((recipe, data, path))
    for key in order:
        members = groups[key]
        task_id = None if key.startswith("file:") else key
        if task_id is not None and store.get(task_id) is not None:
            report.skipped.extend(p for _, _, p in members)
            continue
        recipes = [r for r, _, _ in members]
        task = task_from_recipe(recipes, task_id)
        for slot, (_, data, _) in zip(_slots(recipes), members, strict=True):
            store.write_image(task, slot, data)
        store.save(task)
        report.added.append(task.id)
    return report


def _slots(recipes: list[Recipe]) -> list[int]:
    """The slot of each image of one task: its recipe's slot number when those are
    distinct (the usual case), else the order the files were given in."""
    numbers = [r.slot for r in recipes]
    if len(set(numbers)) == len(numbers) and all(0 <= n < MAX_N for n in numbers):
        return numbers
    return list(range(len(recipes)))


def task_from_recipe(recipes: Recipe | list[Recipe], task_id: str | None = None):
    """A finished `Task` as the recipe(s) describe it (images of one task): one done slot
    per recipe, any other slot of the asked `n` failed (its image was not imported)."""
    from imgtui.api.events import ImageMeta
    from imgtui.tasks import ImageParams, Slot, SlotStatus, Status, Task

    members = recipes if isinstance(recipes, list) else [recipes]
    recipe = members[0]
    params = dict(recipe.params)
    if recipe.model:
        params["model"] = recipe.model
    slots = _slots(members)
    asked = params.get("n")
    asked = asked if isinstance(asked, int) and not isinstance(asked, bool) else 1
    count = max(min(max(asked, 1), MAX_N), max(slots) + 1)
    params["n"] = count
    kwargs: dict[str, Any] = {}
    if task_id is not None:
        kwargs["id"] = task_id
    task = Task(
        prompt=recipe.prompt,
        params=ImageParams.from_json(params),
        profile_name=recipe.profile_name,
        api_mode=recipe.api_mode if recipe.api_mode in ("images", "responses") else "images",
        parent_id=recipe.parent_id,
        **kwargs,
    )
    if recipe.created_at is not None:
        task.created_at = recipe.created_at
    task.status = Status.DONE
    task.started_at = task.finished_at = task.created_at
    by_slot = dict(zip(slots, members, strict=True))
    task.slots = []
    for index in range(count):
        r = by_slot.get(index)
        task.slots.append(
            Slot(
                status=SlotStatus.DONE if r is not None else SlotStatus.FAILED,
                revised_prompt=r.revised_prompt if r else None,
                response_id=r.response_id if r else None,
                meta=ImageMeta(output_format=params.get("output_format")),
            )
        )
    return task
