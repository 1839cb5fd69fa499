"""Store: SQLite history + image files, on real files under tmp_path."""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import threading
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from imgtui.api.events import Completed, Failed, FailureKind, ImageMeta, Partial
from imgtui.store import SCHEMA_VERSION, Store, StoreError, TaskFilter, slugify, unique_path
from imgtui.store import db as store_db
from imgtui.tasks import SlotStatus, Status, Task, apply

SECRET = "sk-proj-NEVERSTORETHIS0123456789"


def image_bytes(color: str = "red", size: tuple[int, int] = (96, 64), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


PNG = image_bytes()
T0 = 1_750_000_000.0  # a fixed creation time: order comes from these, not the clock


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "data")
    assert s.open().moved_aside is None
    yield s
    s.close()


def make_task(
    prompt: str = "a red fox in the snow", *, n: int = 1, created_at: float | None = None, **kw
) -> Task:
    task = Task(
        prompt=prompt,
        params={"model": "gpt-image-1", "n": n, "size": "1024x1024", "partial_images": 2},
        **kw,
    )
    if created_at is not None:
        task.created_at = created_at
    return task


def done_task(store: Store, prompt: str = "a red fox in the snow", **kw) -> Task:
    """A finished one-image task with its file written and its row saved."""
    task = make_task(prompt, **kw)
    task.start()
    apply(task, Completed(0, PNG, usage={"total_tokens": 100}))
    store.write_image(task, 0, PNG)
    store.save(task)
    return task


def failed_task(store: Store, prompt: str, status: Status = Status.FAILED, **kw) -> Task:
    task = make_task(prompt, **kw)
    task.start()
    if status is Status.CANCELLED:
        task.cancel()
    else:
        apply(task, Failed(0, FailureKind.SERVER, "boom", hint="try later", status=500))
    store.save(task)
    return task


# -- round trips ---------------------------------------------------------------------------


def rich_task(store: Store) -> Task:
    """A task using every persisted field: two slots, one done, one failed."""
    task = Task(
        prompt="Ein Fuchs im Schnee, Aquarell",
        params={
            "model": "gpt-image-1.5",
            "n": 2,
            "size": "1536x1024",
            "quality": "high",
            "stream": True,
            "partial_images": 2,
        },
        profile_name="Relay",
        api_mode="responses",
        input_images=["/home/me/ref.png"],
        mask="/home/me/mask.png",
        parent_id="abc123",
        starred=True,
    )
    task.start(now=1000.0)
    apply(task, Partial(0, 0, PNG, meta=ImageMeta(size="1536x1024")), now=1001.0)
    store.write_partial(task, 0, PNG)
    apply(
        task,
        Completed(
            0,
            PNG,
            meta=ImageMeta(size="1536x1024", quality="high", output_format="png"),
            revised_prompt="A fox",
            usage={"total_tokens": 42},
            response_id="resp_1",
            bytes_received=1234,
        ),
        now=1002.0,
    )
    store.write_image(task, 0, PNG)
    apply(
        task, Failed(1, FailureKind.MODERATION, "blocked", hint="rephrase", status=400), now=1003.0
    )
    return task


def assert_same_task(a: Task, b: Task) -> None:
    for name in (
        "id",
        "prompt",
        "params",
        "profile_name",
        "api_mode",
        "status",
        "created_at",
        "started_at",
        "first_partial_at",
        "finished_at",
        "input_images",
        "mask",
        "parent_id",
        "starred",
        "error_kind",
        "error_message",
        "error_hint",
    ):
        assert getattr(a, name) == getattr(b, name), name
    assert len(a.slots) == len(b.slots)
    for sa, sb in zip(a.slots, b.slots, strict=True):
        for name in (
            "status",
            "partial_index",
            "partial_path",
            "image_path",
            "meta",
            "revised_prompt",
            "usage",
            "response_id",
            "error",
            "bytes_received",
        ):
            assert getattr(sa, name) == getattr(sb, name), name


def test_save_load_round_trip(store: Store) -> None:
    task = rich_task(store)
    store.save(task)
    (loaded,) = store.load()
    assert_same_task(task, loaded)
    assert loaded.status is Status.DONE and loaded.error_message == "1 of 2 images failed: blocked"
    assert loaded.slots[0].image is None  # bytes are not loaded
    assert loaded.slots[0].image_path.read_bytes() == PNG
    assert loaded.slots[0].partial_path is None  # the preview went when the final image came
    assert loaded.slots[1].error == Failed(
        1, FailureKind.MODERATION, "blocked", hint="rephrase", status=400
    )
    assert loaded.usage == {"total_tokens": 42}


def test_save_is_an_upsert(store: Store) -> None:
    task = make_task()
    store.save(task)
    task.start()
    store.save(task)
    assert store.count() == 1
    assert store.get(task.id).status is Status.RUNNING


def test_restart_round_trip(tmp_path: Path) -> None:
    first = Store(tmp_path / "data")
    first.open()
    task = rich_task(first)
    first.save(task)
    first.close()

    second = Store(tmp_path / "data")
    assert second.open().message is None
    loaded = second.get(task.id)
    second.close()
    assert loaded is not None
    assert_same_task(task, loaded)


def test_paths_are_stored_relative_to_the_data_dir(tmp_path: Path, store: Store) -> None:
    task = done_task(store)
    raw = sqlite3.connect(store.db_path).execute("SELECT slots FROM tasks").fetchone()[0]
    assert json.loads(raw)[0]["image_path"] == f"images/{task.id}/0.png"
    # so the whole folder can move
    store.close()
    moved = tmp_path / "moved"
    (tmp_path / "data").rename(moved)
    with Store(moved) as again:
        assert again.get(task.id).slots[0].image_path == moved / "images" / task.id / "0.png"


def test_database_never_holds_image_bytes_or_keys(store: Store) -> None:
    task = rich_task(store)
    store.save(task)
    store.close()
    blob = b"".join(p.read_bytes() for p in store.root.glob("history.sqlite3*"))
    assert b"\x89PNG" not in blob
    assert base64.b64encode(PNG)[:16] not in blob
    assert SECRET.encode() not in blob


# -- start-up ------------------------------------------------------------------------------


def test_mark_interrupted(store: Store) -> None:
    queued = make_task("queued one")
    store.save(queued)
    running = make_task("running one", n=2)
    running.start()
    apply(running, Completed(0, PNG))
    store.write_image(running, 0, PNG)
    store.save(running)
    done = done_task(store, "done one")

    assert store.mark_interrupted() == 2
    assert store.mark_interrupted() == 0  # once is enough
    assert store.get(queued.id).status is Status.INTERRUPTED
    r = store.get(running.id)
    assert r.status is Status.INTERRUPTED
    assert [s.status for s in r.slots] == [SlotStatus.DONE, SlotStatus.CANCELLED]
    assert r.finished_at is not None and r.error_message
    assert store.get(done.id).status is Status.DONE


def test_partial_file_kept_for_interrupted_task(tmp_path: Path) -> None:
    first = Store(tmp_path / "data")
    first.open()
    task = make_task(n=1)
    task.start()
    frame = image_bytes("blue")
    apply(task, Partial(0, 1, frame))
    path = first.write_partial(task, 0, frame)
    first.save(task)
    first.close()  # the process "dies" here

    second = Store(tmp_path / "data")
    second.open()
    assert second.mark_interrupted() == 1
    (loaded,) = second.load()
    second.close()
    assert loaded.status is Status.INTERRUPTED
    assert loaded.slots[0].partial_path == path and path.name == "0.partial.png"
    assert path.read_bytes() == frame
    assert loaded.preview() == (path, True)  # shown as a labelled partial, not a result


def test_write_partial_overwrites_and_write_image_supersedes(store: Store) -> None:
    task = make_task()
    task.start()
    store.write_partial(task, 0, image_bytes("red"))
    p = store.write_partial(task, 0, image_bytes("green"))
    assert sorted(x.name for x in p.parent.iterdir()) == ["0.partial.png"]
    assert p.read_bytes() == image_bytes("green")
    final = store.write_image(task, 0, PNG)
    assert sorted(x.name for x in p.parent.iterdir()) == ["0.png"]
    assert task.slots[0].partial_path is None and task.slots[0].image_path == final


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp")])
def test_write_image_is_byte_for_byte_with_ext_from_magic(store: Store, fmt: str, ext: str) -> None:
    data = image_bytes("purple", fmt=fmt)
    task = make_task()
    task.start()
    path = store.write_image(task, 0, data)
    assert path == store.root / "images" / task.id / f"0{ext}"
    assert path.read_bytes() == data
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_write_rejects_bad_ids_slots_and_empty_data(store: Store) -> None:
    task = make_task()
    task.start()
    with pytest.raises(StoreError, match="no slot 3"):
        store.write_image(task, 3, PNG)
    with pytest.raises(StoreError, match="empty"):
        store.write_image(task, 0, b"")
    task.id = "../escape"
    with pytest.raises(StoreError, match="invalid task id"):
        store.write_image(task, 0, PNG)


def test_wal_is_on(store: Store) -> None:
    mode = sqlite3.connect(store.db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_not_open_is_an_error(tmp_path: Path) -> None:
    s = Store(tmp_path / "data")
    assert not (tmp_path / "data").exists()  # constructing touches nothing
    with pytest.raises(StoreError, match="not open"):
        s.load()


# -- damaged, newer and older databases ----------------------------------------------------


def test_garbage_database_is_moved_aside(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    garbage = b"this is not a database" * 100
    (root / "history.sqlite3").write_bytes(garbage)
    (root / "history.sqlite3-wal").write_bytes(b"stale wal")

    s = Store(root)
    report = s.open()
    assert report.moved_aside is not None
    assert report.moved_aside.name.startswith("history.sqlite3.corrupt-")
    assert report.moved_aside.read_bytes() == garbage  # nothing deleted
    assert Path(str(report.moved_aside) + "-wal").read_bytes() == b"stale wal"
    assert str(report.moved_aside) in report.message and "damaged" in report.message
    done_task(s, "fresh start")  # the new database works
    assert [t.prompt for t in s.load()] == ["fresh start"]
    s.close()


def test_database_failing_its_integrity_check_is_moved_aside(tmp_path: Path) -> None:
    root = tmp_path / "data"
    s = Store(root)
    s.open()
    for i in range(300):
        s.save(make_task(f"prompt number {i} " + "x" * 200))
    s.close()
    db = root / "history.sqlite3"
    page_size = 4096
    data = bytearray(db.read_bytes())
    assert len(data) > 6 * page_size
    data[3 * page_size : 5 * page_size] = b"\xa5" * (2 * page_size)  # smash two b-tree pages
    db.write_bytes(bytes(data))

    again = Store(root)
    report = again.open()
    assert report.moved_aside is not None and report.moved_aside.name.startswith(
        "history.sqlite3.corrupt-"
    )
    assert report.moved_aside.read_bytes() == bytes(data)
    assert again.count() == 0
    again.close()


def test_newer_schema_is_moved_aside(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with Store(root) as s:
        done_task(s, "from the future")
    conn = sqlite3.connect(root / "history.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()

    s = Store(root)
    report = s.open()
    assert report.moved_aside is not None and report.moved_aside.name.startswith(
        "history.sqlite3.newer-"
    )
    assert "newer imgtui" in report.message
    assert s.count() == 0
    s.close()
    old = sqlite3.connect(report.moved_aside)
    assert old.execute("SELECT prompt FROM tasks").fetchall() == [("from the future",)]
    old.close()


def test_upgrade_from_version_0(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    sqlite3.connect(root / "history.sqlite3").close()  # an empty database, user_version 0
    with Store(root) as s:
        assert s.count() == 0
        done_task(s)
    conn = sqlite3.connect(root / "history.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_upgrade_from_version_1_keeps_rows_and_backfills(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    conn = sqlite3.connect(root / "history.sqlite3", isolation_level=None)
    store_db.UPGRADES[0](conn)  # the schema as version 1 shipped it
    conn.execute("PRAGMA user_version = 1")
    slots = [
        {
            "status": "done",
            "image_path": "images/old1/0.png",
            "revised_prompt": "Ein Äpfel-Stillleben",
        }
    ]
    conn.execute(
        "INSERT INTO tasks (id, created_at, prompt, params, status, slots) VALUES (?, ?, ?, ?, ?, ?)",
        (
            "old1",
            1700000000.0,
            "still life",
            json.dumps({"model": "gpt-image-1", "n": 1}),
            "done",
            json.dumps(slots),
        ),
    )
    conn.close()

    with Store(root) as s:
        (task,) = s.load()
        assert (task.id, task.prompt, task.status) == ("old1", "still life", Status.DONE)
        assert task.slots[0].image_path == root / "images" / "old1" / "0.png"
        assert [t.id for t in s.load(where=TaskFilter(search="äpfel"))] == [
            "old1"
        ]  # backfilled search text
    conn = sqlite3.connect(root / "history.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# -- deleting ------------------------------------------------------------------------------


def test_delete_removes_row_files_and_thumbnails(store: Store) -> None:
    task = done_task(store)
    keep = done_task(store, "keep me")
    thumb = store.thumbnail(task.slots[0].image_path, 32, 32)
    assert thumb.exists()
    store.delete(task.id)
    assert store.get(task.id) is None
    assert not (store.root / "images" / task.id).exists()
    assert not thumb.exists()
    assert store.get(keep.id).slots[0].image_path.exists()


def test_delete_failed(store: Store) -> None:
    failed = failed_task(store, "failed")
    cancelled = failed_task(store, "cancelled", Status.CANCELLED)
    starred = failed_task(store, "starred failure", starred=True)
    partial = make_task("interrupted with a preview")
    partial.start()
    store.write_partial(partial, 0, PNG)
    store.save(partial)
    store.mark_interrupted()
    done = done_task(store, "done")
    assert failed.status is Status.FAILED and cancelled.status is Status.CANCELLED

    assert store.delete_failed() == 2
    assert {t.id for t in store.load()} == {starred.id, partial.id, done.id}
    assert store.delete_failed() == 0


# -- queries -------------------------------------------------------------------------------


def test_search_status_filter_count_and_order(store: Store) -> None:
    t0 = T0
    fox = done_task(store, "A red FOX in the snow", created_at=t0)
    cat = failed_task(store, "a cat on a mat", created_at=t0 + 1)
    ueber = done_task(store, "Über den Wolken", created_at=t0 + 2)
    revised = make_task("short", created_at=t0 + 3)
    revised.start()
    apply(revised, Completed(0, PNG, revised_prompt="A detailed Lighthouse at dusk"))
    store.save(revised)

    assert [t.id for t in store.load()] == [revised.id, ueber.id, cat.id, fox.id]  # newest first
    assert [t.id for t in store.load(where=TaskFilter(search="fox"))] == [fox.id]
    assert [t.id for t in store.load(where=TaskFilter(search="über"))] == [
        ueber.id
    ]  # Unicode case-folding
    assert [t.id for t in store.load(where=TaskFilter(search="lighthouse"))] == [
        revised.id
    ]  # revised prompt too
    assert [
        t.id for t in store.load(where=TaskFilter(search="100%_"))
    ] == []  # no LIKE wildcards leak through
    assert [t.id for t in store.load(where=TaskFilter(status="failed"))] == [cat.id]
    assert [t.id for t in store.load(where=TaskFilter(status=Status.DONE, search="a"))] == [
        revised.id,
        fox.id,
    ]
    assert (
        store.count() == 4
        and store.count(TaskFilter(status="done")) == 3
        and store.count(TaskFilter(search="cat")) == 1
    )
    assert [t.id for t in store.load(limit=2)] == [revised.id, ueber.id]
    assert [t.id for t in store.load(limit=2, offset=2)] == [cat.id, fox.id]
    assert [t.id for t in store.load(offset=3)] == [fox.id]


def test_starred(store: Store) -> None:
    a = done_task(store, "a")
    done_task(store, "b")
    store.set_starred(a.id, True)
    assert [t.id for t in store.load(where=TaskFilter(starred=True))] == [a.id]
    assert store.count(TaskFilter(starred=False)) == 1
    store.set_starred(a.id, False)
    assert store.count(TaskFilter(starred=True)) == 0


def test_loading_a_thousand_tasks(store: Store) -> None:
    """Every row comes back, newest first (how long it takes: benchmarks/history.py)."""
    base = T0
    for i in range(1000):
        task = make_task(f"prompt {i}", created_at=base + i)
        task.start()
        apply(task, Completed(0, PNG, revised_prompt=f"revised {i}", usage={"total_tokens": i}))
        task.slots[0].image_path = store.root / "images" / task.id / "0.png"
        store.save(task)
    tasks = store.load()
    assert [t.prompt for t in tasks] == [f"prompt {i}" for i in reversed(range(1000))]
    assert tasks[0].revised_prompt == "revised 999" and tasks[0].usage == {"total_tokens": 999}
    assert tasks[-1].images == [store.root / "images" / tasks[-1].id / "0.png"]


def test_saves_from_many_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for i in range(25):
                store.save(make_task(f"thread {k} task {i}"))
                store.count()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 200


# -- export --------------------------------------------------------------------------------


def test_export_images_names_are_unique(tmp_path: Path, store: Store) -> None:
    task = make_task("A red fox, in the snow!", n=2)
    task.start()
    apply(task, Completed(0, PNG))
    store.write_image(task, 0, PNG)
    frame = image_bytes("blue", fmt="JPEG")
    store.write_partial(task, 1, frame)  # slot 2 never finished
    store.save(task)

    out = tmp_path / "out"
    first = store.export_images(task, out)
    second = store.export_images(task, out)
    date = time.strftime("%Y%m%d-%H%M%S", time.localtime(task.created_at))
    assert [p.name for p in first] == [
        f"a-red-fox-in-the-snow-{date}-1.png",
        f"a-red-fox-in-the-snow-{date}-2-partial.jpg",
    ]
    assert [p.name for p in second] == [
        f"a-red-fox-in-the-snow-{date}-1-2.png",
        f"a-red-fox-in-the-snow-{date}-2-partial-2.jpg",
    ]
    # A saved final image carries its recipe (issue 15); its pixels are the ones received.
    from imgtui.recipe import read

    assert first[0].read_bytes() == second[0].read_bytes()
    assert read(first[0].read_bytes()).task_id == task.id
    assert Image.open(first[0]).tobytes() == Image.open(io.BytesIO(PNG)).tobytes()
    assert first[1].read_bytes() == frame
    assert len(list(out.iterdir())) == 4


def test_export_zip_contents(tmp_path: Path, store: Store) -> None:
    done = done_task(store, "zipped fox")
    store.save(done)
    failed = failed_task(store, "zipped failure")
    partial = make_task("zipped preview")
    partial.start()
    store.write_partial(partial, 0, image_bytes("green"))
    store.save(partial)

    path = tmp_path / "exports" / "history.zip"
    assert store.export_zip(path) == 3
    raw = path.read_bytes()
    assert SECRET.encode() not in raw
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        by_id = {t["id"]: t for t in manifest["tasks"]}
        assert set(by_id) == {done.id, failed.id, partial.id}
        d = by_id[done.id]
        assert (d["prompt"], d["status"], d["params"]["model"], d["usage"]) == (
            "zipped fox",
            "done",
            "gpt-image-1",
            {"total_tokens": 100},
        )
        assert "api_key" not in d["params"]
        assert d["files"] == [{"slot": 0, "file": f"images/{done.id}/0.png", "partial": False}]
        assert zf.read(d["files"][0]["file"]) == PNG
        assert by_id[failed.id]["files"] == [] and by_id[failed.id]["error"]["message"] == "boom"
        p = by_id[partial.id]["files"][0]
        assert p["partial"] is True and zf.read(p["file"]) == image_bytes("green")
    assert [x.name for x in path.parent.iterdir()] == ["history.zip"]  # no temp file left


# -- thumbnails ----------------------------------------------------------------------------


def test_thumbnail_is_cached(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    task = make_task()
    task.start()
    source = store.write_image(task, 0, image_bytes("orange", size=(400, 200)))
    thumb = store.thumbnail(source, 100, 100)
    with Image.open(thumb) as im:
        assert im.size == (100, 50)  # aspect kept
    mtime = thumb.stat().st_mtime_ns

    def no_render(*args, **kwargs):
        raise AssertionError("re-rendered a cached thumbnail")

    monkeypatch.setattr(Image, "open", no_render)
    assert store.thumbnail(source, 100, 100) == thumb
    assert thumb.stat().st_mtime_ns == mtime
    monkeypatch.undo()

    # a changed source gets a fresh thumbnail (its mtime moved on: set it, not the clock)
    store.write_image(task, 0, image_bytes("teal", size=(200, 400)))
    changed = source.stat().st_mtime_ns + 1_000_000_000
    os.utime(source, ns=(changed, changed))
    fresh = store.thumbnail(source, 100, 100)
    assert fresh != thumb
    with Image.open(fresh) as im:
        assert im.size == (50, 100)


def test_thumbnail_of_a_missing_or_broken_file(tmp_path: Path, store: Store) -> None:
    with pytest.raises(StoreError, match="cannot read"):
        store.thumbnail(tmp_path / "missing.png", 10, 10)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(StoreError, match="thumbnail"):
        store.thumbnail(broken, 10, 10)


# -- file names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "slug"),
    [
        ("A red fox, in the snow!", "a-red-fox-in-the-snow"),
        ("Crème brûlée on a plate", "creme-brulee-on-a-plate"),
        ("一只狐狸 in snow", "一只狐狸-in-snow"),
        ("../../etc/passwd", "etc-passwd"),
        ("!!!", "image"),
        ("word " * 30, "word-word-word-word-word-word-word-word"),
        ("x" * 100, "x" * 40),
    ],
)
def test_slugify(prompt: str, slug: str) -> None:
    assert slugify(prompt) == slug
    assert len(slugify(prompt)) <= 40


def test_unique_path(tmp_path: Path) -> None:
    assert unique_path(tmp_path, "fox", "png") == tmp_path / "fox.png"
    (tmp_path / "fox.png").touch()
    assert unique_path(tmp_path, "fox", ".png") == tmp_path / "fox-2.png"
    (tmp_path / "fox-2.png").touch()
    assert unique_path(tmp_path, "fox", "png") == tmp_path / "fox-3.png"
    assert unique_path(tmp_path, "fox", "jpg") == tmp_path / "fox.jpg"
