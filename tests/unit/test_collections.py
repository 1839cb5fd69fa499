"""Named collections in the store (a task can be in several); they survive export/import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from imgtui.api.events import Completed
from imgtui.backup import import_backup, read_backup
from imgtui.store import Store, StoreError, TaskFilter
from imgtui.tasks import Task, apply


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    s.open()
    yield s
    s.close()


def done(store: Store, prompt: str) -> Task:
    task = Task(prompt=prompt, params={"model": "gpt-image-2"})
    task.start()
    apply(task, Completed(0, png()))
    store.write_image(task, 0, png())
    store.save(task)
    return task


def test_a_task_can_be_in_several_collections(store):
    a, b, c = (done(store, p) for p in ("a fox", "a cat", "a dog"))
    assert store.add_to_collection("Stickers", [a.id, b.id, "nothere0000"]) == 2
    assert store.add_to_collection("  Animals ", [a.id, c.id]) == 2
    assert store.add_to_collection("Stickers", [a.id]) == 0  # already there
    assert store.collections() == {"Animals": 2, "Stickers": 2}
    assert store.collections_of(a.id) == ["Animals", "Stickers"]
    assert [t.prompt for t in store.load(where=TaskFilter(collection="Stickers"))] == [
        "a cat",
        "a fox",
    ]
    assert store.count(TaskFilter(collection="Animals")) == 2
    assert store.remove_from_collection("Stickers", [b.id]) == 1
    store.delete(a.id)
    assert store.collections() == {"Animals": 1}
    assert store.remove_from_collection("Animals") == 1
    assert store.collections() == {}
    with pytest.raises(StoreError, match="collection name"):
        store.add_to_collection("two\nlines", [c.id])


def test_collections_travel_in_an_export(tmp_path, store):
    a = done(store, "a fox")
    store.add_to_collection("Stickers", [a.id])
    store.export_zip(tmp_path / "export.zip")
    other = Store(tmp_path / "other")
    other.open()
    try:
        with read_backup(tmp_path / "export.zip") as backup:
            import_backup(backup, other)
        assert other.collections() == {"Stickers": 1}
    finally:
        other.close()
