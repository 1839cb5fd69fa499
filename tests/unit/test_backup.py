"""Backups (imgtui.backup): playground backup zips (manifest version 3) and imgtui's own
export, read and written into a real store."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from imgtui.api.events import Completed
from imgtui.backup import (
    BackupError,
    import_backup,
    playground_task_id,
    read_backup,
    read_backups,
)
from imgtui.store import Store
from imgtui.tasks import SlotStatus, Status, Task, apply

PG_KEY = "sk-playground-NEVERIMPORT-0123456789"


def _png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()


def _rgba(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()


def _id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()  # the playground's image ids are content hashes


def playground_zip(path: Path, *, tasks, images: dict[str, bytes], settings=None, part=None):
    """A backup laid out as gpt_image_playground's exportZip.ts writes it (version 3)."""
    image_files = {}
    with zipfile.ZipFile(path, "w") as zf:
        for n, (image_id, data) in enumerate(images.items()):
            member = f"images/task-{n:02d}.png"
            zf.writestr(member, data)
            image_files[image_id] = {
                "path": member,
                "createdAt": 1_760_000_000_000,
                "source": "generated",
            }
        manifest = {
            "version": 3,
            "exportedAt": "2026-11-30T10:00:00.000Z",
            "tasks": tasks,
            "favoriteCollections": [
                {"id": "fav-1", "name": "Stickers", "createdAt": 1, "updatedAt": 1},
                {"id": "fav-2", "name": "Logos", "createdAt": 1, "updatedAt": 1},
            ],
            "defaultFavoriteCollectionId": "fav-1",
            "imageFiles": image_files,
            "thumbnailFiles": {},
        }
        if settings is not None:
            manifest["settings"] = settings
        if part is not None:
            manifest["backupPart"] = part
        zf.writestr("manifest.json", json.dumps(manifest))
    return path


RED, BLUE, KEYED, ORIGINAL, INPUT = (
    _png("red"),
    _png("blue"),
    _rgba((0, 200, 0, 0)),
    _png((0, 255, 0)),
    _png("white"),
)


def pg_task(task_id: str, **kw) -> dict:
    task = {
        "id": task_id,
        "prompt": "a red fox sticker",
        "params": {
            "size": "1024x1024",
            "quality": "high",
            "output_format": "png",
            "output_compression": None,
            "moderation": "low",
            "n": 1,
            "transparent_output": False,
        },
        "apiProvider": "openai",
        "apiProfileId": "default-openai",
        "apiProfileName": "My relay",
        "apiMode": "images",
        "apiModel": "gpt-image-2",
        "inputImageIds": [],
        "outputImages": [_id(RED)],
        "status": "done",
        "error": None,
        "createdAt": 1_760_000_000_000,
        "finishedAt": 1_760_000_042_000,
        "elapsed": 40_000,
        "revisedPromptByImage": {_id(RED): "A red fox, sticker style"},
        "actualParamsByImage": {_id(RED): {"size": "1024x1024", "quality": "high"}},
    }
    task.update(kw)
    return task


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    s.open()
    yield s
    s.close()


SETTINGS = {
    "baseUrl": "https://relay.example/v1",
    "apiKey": PG_KEY,
    "profiles": [
        {
            "id": "p1",
            "name": "My relay",
            "provider": "openai",
            "baseUrl": "https://relay.example/v1",
            "apiKey": PG_KEY,
            "model": "gpt-image-2",
            "timeout": 600,
            "apiMode": "images",
        },
    ],
    "customProviders": [{"id": "custom-x", "name": "X", "submit": {"path": "images/generations"}}],
}


def test_playground_backup_imports_with_its_images(tmp_path, store):
    tasks = [
        pg_task("t-done", isFavorite=True, favoriteCollectionIds=["fav-1", "fav-2"]),
        pg_task(
            "t-two",
            prompt="two blue squares",
            params={**pg_task("x")["params"], "n": 2},
            outputImages=[_id(BLUE), _id(RED)],
            inputImageIds=[_id(INPUT)],
            revisedPromptByImage={},
        ),
        pg_task(
            "t-transparent",
            prompt="a green-screen sticker",
            outputImages=[_id(KEYED)],
            transparentOutput=True,
            transparentOriginalImages=[_id(ORIGINAL)],
        ),
        pg_task(
            "t-error", prompt="refused", outputImages=[], status="error", error="moderation_blocked"
        ),
    ]
    images = {_id(d): d for d in (RED, BLUE, KEYED, ORIGINAL, INPUT)}
    path = playground_zip(tmp_path / "backup.zip", tasks=tasks, images=images, settings=SETTINGS)

    with read_backup(path) as backup:
        assert backup.kind == "playground" and backup.version == 3
        assert backup.collections == ["Logos", "Stickers"]
        report = import_backup(backup, store)
    assert report.added == [playground_task_id(t["id"]) for t in tasks]

    done = store.get(playground_task_id("t-done"))
    assert done.prompt == "a red fox sticker"
    assert done.status is Status.DONE and done.starred
    assert done.profile_name == "My relay"
    asked = dict(done.params)
    for key, value in {
        "model": "gpt-image-2",
        "size": "1024x1024",
        "quality": "high",
        "output_format": "png",
        "moderation": "low",
        "n": 1,
    }.items():
        assert asked[key] == value, key
    assert "transparent" not in asked
    assert done.created_at == 1_760_000_000.0 and done.finished_at == 1_760_000_042.0
    assert done.elapsed() == pytest.approx(40.0)
    assert done.slots[0].revised_prompt == "A red fox, sticker style"
    assert done.slots[0].meta.size == "1024x1024"
    assert done.images[0].read_bytes() == RED

    two = store.get(playground_task_id("t-two"))
    assert [p.read_bytes() for p in two.images] == [BLUE, RED]
    assert two.n == 2

    assert store.collections_of(playground_task_id("t-done")) == ["Logos", "Stickers"]

    transparent = store.get(playground_task_id("t-transparent"))
    assert transparent.params["transparent"] == "local"
    assert transparent.images[0].read_bytes() == KEYED

    failed = store.get(playground_task_id("t-error"))
    assert failed.status is Status.FAILED
    assert failed.error_message == "moderation_blocked"
    assert failed.slots[0].status is SlotStatus.FAILED


def test_importing_the_same_backup_twice_skips_duplicates(tmp_path, store):
    path = playground_zip(tmp_path / "b.zip", tasks=[pg_task("t1")], images={_id(RED): RED})
    with read_backup(path) as backup:
        assert len(import_backup(backup, store).added) == 1
    with read_backup(path) as backup:
        report = import_backup(backup, store)
    assert report.added == [] and report.skipped == [playground_task_id("t1")]
    assert len(store.load()) == 1


def test_keys_are_never_imported_unless_asked(tmp_path):
    path = playground_zip(tmp_path / "b.zip", tasks=[], images={}, settings=SETTINGS)
    with read_backup(path) as backup:
        assert backup.profiles == [
            {
                "id": "p1",
                "name": "My relay",
                "provider": "openai",
                "baseUrl": "https://relay.example/v1",
                "model": "gpt-image-2",
                "timeout": 600,
                "apiMode": "images",
            }
        ]
        assert PG_KEY not in repr(backup)
        assert backup.custom_providers[0]["id"] == "custom-x"
    with read_backup(path, include_keys=True) as backup:
        assert backup.profiles[0]["apiKey"] == PG_KEY


def test_a_split_backup_is_read_from_all_its_parts(tmp_path, store):
    part = {"id": "1760000000000", "total": 2}
    a = playground_zip(
        tmp_path / "p1.zip",
        tasks=[pg_task("t1", outputImages=[_id(BLUE)])],
        images={},
        part={**part, "index": 1},
    )
    b = playground_zip(
        tmp_path / "p2.zip", tasks=[], images={_id(BLUE): BLUE}, part={**part, "index": 2}
    )
    with read_backups([a, b]) as backup:
        import_backup(backup, store)
    assert store.get(playground_task_id("t1")).images[0].read_bytes() == BLUE
    other = playground_zip(
        tmp_path / "o.zip", tasks=[], images={}, part={"id": "other", "total": 2, "index": 2}
    )
    with pytest.raises(BackupError, match="not parts of one"):
        read_backups([a, other])


def test_a_missing_image_is_a_warning_and_a_failed_slot(tmp_path, store):
    path = playground_zip(tmp_path / "b.zip", tasks=[pg_task("t1")], images={})
    with read_backup(path) as backup:
        report = import_backup(backup, store)
    assert any("missing" in w for w in report.warnings)
    task = store.get(playground_task_id("t1"))
    assert task.status is Status.FAILED and task.images == []


def test_imgtui_export_round_trips_into_a_fresh_store(tmp_path, store):
    task = Task(prompt="a castle", params={"model": "gpt-image-1.5", "n": 2}, profile_name="demo")
    task.start()
    apply(task, Completed(0, RED, revised_prompt="A castle", response_id="resp_1"))
    apply(task, Completed(1, BLUE))
    store.write_image(task, 0, RED)
    store.write_image(task, 1, BLUE)
    task.starred = True
    store.save(task)
    exported = tmp_path / "export.zip"
    store.export_zip(exported)

    fresh = Store(tmp_path / "other")
    fresh.open()
    try:
        with read_backup(exported) as backup:
            assert backup.kind == "imgtui"
            assert import_backup(backup, fresh).added == [task.id]
        copy = fresh.get(task.id)
        assert copy.prompt == "a castle" and copy.starred and copy.status is Status.DONE
        assert dict(copy.params) == dict(task.params)
        assert [p.read_bytes() for p in copy.images] == [RED, BLUE]
        assert copy.slots[0].revised_prompt == "A castle"
        assert copy.slots[0].response_id == "resp_1"
        with read_backup(exported) as backup:
            assert import_backup(backup, fresh).skipped == [task.id]
    finally:
        fresh.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not a zip"),
        ({}, "not an imgtui export or a gpt_image_playground backup"),
        ({"format": "imgtui-history", "version": 9}, "newer"),
    ],
)
def test_files_that_are_not_backups_are_refused(tmp_path, content, message):
    path = tmp_path / "x.zip"
    if content is None:
        path.write_bytes(b"not a zip")
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("manifest.json", json.dumps(content))
    with pytest.raises(BackupError, match=message):
        read_backup(path)
