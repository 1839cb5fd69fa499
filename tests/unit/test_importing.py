"""`imgtui import`: tasks back from recipe-carrying images (imgtui.importing)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from imgtui.api.events import Completed
from imgtui.importing import import_images
from imgtui.recipe import Recipe, embed
from imgtui.store import Store
from imgtui.tasks import SlotStatus, Status, Task, apply


def image(color, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    s.open()
    yield s
    s.close()


@pytest.fixture
def fresh(tmp_path: Path):
    s = Store(tmp_path / "elsewhere")
    s.open()
    yield s
    s.close()


def finished_task(store: Store) -> Task:
    task = Task(
        prompt="a lighthouse in a storm",
        params={"model": "gpt-image-2", "size": "1536x1024", "quality": "high", "n": 2},
        profile_name="work relay",
        parent_id="0123456789ab",
    )
    task.start()
    apply(task, Completed(0, image("navy"), revised_prompt="A lighthouse", response_id="r0"))
    apply(task, Completed(1, image("teal", "JPEG"), response_id="r1"))
    store.write_image(task, 0, image("navy"))
    store.write_image(task, 1, image("teal", "JPEG"))
    store.save(task)
    return task


def saved_copies(task: Task, folder: Path) -> list[Path]:
    """What "save" writes: each image with its recipe inside."""
    out = []
    for slot, source in enumerate(task.images):
        dest = folder / f"sent-by-mail-{slot}{source.suffix}"
        dest.write_bytes(embed(source.read_bytes(), Recipe.from_task(task, slot)))
        out.append(dest)
    return out


def test_saved_images_imported_elsewhere_recreate_their_task(tmp_path, store, fresh):
    task = finished_task(store)
    files = saved_copies(task, tmp_path)
    report = import_images(reversed(files), fresh)  # order does not matter
    assert report.added == [task.id] and not report.references and not report.errors
    copy = fresh.get(task.id)
    assert copy.prompt == task.prompt and copy.profile_name == "work relay"
    assert dict(copy.params) == dict(task.params)
    assert copy.parent_id == "0123456789ab"
    assert copy.status is Status.DONE
    assert [s.status for s in copy.slots] == [SlotStatus.DONE, SlotStatus.DONE]
    assert copy.slots[0].revised_prompt == "A lighthouse"
    assert [s.response_id for s in copy.slots] == ["r0", "r1"]
    assert [p.read_bytes() for p in copy.images] == [f.read_bytes() for f in files]
    again = import_images(files, fresh)
    assert again.added == [] and again.skipped == files


def test_one_image_of_two_comes_back_with_the_other_slot_empty(tmp_path, store, fresh):
    task = finished_task(store)
    files = saved_copies(task, tmp_path)
    import_images([files[1]], fresh)
    copy = fresh.get(task.id)
    assert [s.status for s in copy.slots] == [SlotStatus.FAILED, SlotStatus.DONE]
    assert copy.slots[1].image_path.read_bytes() == files[1].read_bytes()


def test_plain_images_are_edit_references_and_junk_is_reported(tmp_path, fresh):
    plain = tmp_path / "photo.png"
    plain.write_bytes(image("red"))
    junk = tmp_path / "notes.txt"
    junk.write_text("hello")
    report = import_images([plain, junk, tmp_path / "missing.png"], fresh)
    assert report.added == []
    assert report.references == [plain]
    assert [p for p, _ in report.errors] == [junk, tmp_path / "missing.png"]
    assert fresh.load() == []


def test_a_recipe_without_a_task_id_makes_a_new_task(tmp_path, fresh):
    path = tmp_path / "x.png"
    path.write_bytes(embed(image("red"), Recipe(prompt="hand made", params={"size": "auto"})))
    report = import_images([path], fresh)
    (task_id,) = report.added
    assert fresh.get(task_id).prompt == "hand made"
