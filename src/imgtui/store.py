"""History: one SQLite row per task, image files on disk (never image bytes in the database).

Layout under the data dir (`config.data_dir()`):

    history.sqlite3            one row per task; slots as JSON; WAL mode
    images/<task_id>/0.png     final image of slot 0, the bytes exactly as received
    images/<task_id>/1.partial.png
                               newest preview frame of slot 1 while it is unfinished
    thumbs/<task_id>/<key>.png cached thumbnails (safe to delete at any time)

Paths inside the data dir are stored relative to it, so the folder can be moved.

Schema upgrades follow oterm (`src/oterm/store/store.py`, `store/upgrades/`) without a
framework: `PRAGMA user_version` counts the steps applied, `_UPGRADES` lists them, each
runs in its own transaction. A new database runs the same steps as an old one.

A damaged database, or one written by a newer imgtui, is never deleted and never
half-used: it is renamed aside (with its -wal/-shm files) and a fresh one is started;
`Store.open()` reports what happened so the UI can say so.

Thread-safety: the TUI calls in from its UI thread and from worker threads. One
connection (`check_same_thread=False`) guarded by a lock; every statement is short.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from imgtui.api.events import Failed, FailureKind, ImageMeta
from imgtui.api.request import image_extension
from imgtui.files import make_private_dir
from imgtui.tasks import Slot, SlotStatus, Status, Task

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "OpenReport",
    "Store",
    "StoreError",
    "slugify",
    "unique_path",
]

DB_NAME = "history.sqlite3"
IMAGES = "images"
THUMBS = "thumbs"

_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # task ids become folder names: nothing else
_IMAGE_EXTS = (".png", ".jpg", ".webp", ".gif", ".bin")
# Request params that must never be persisted, should a caller ever put one there.
_SECRET_PARAM_RE = re.compile(r"(?i)^(api[_-]?key|x-api-key|authorization|key|secret|password)$")
_SQLITE_HEADER = b"SQLite format 3\x00"
_FAILED_STATUSES = (Status.FAILED.value, Status.CANCELLED.value)
_UNFINISHED_STATUSES = (Status.QUEUED.value, Status.RUNNING.value)


class StoreError(Exception):
    """The history could not be read or written; the message says what and where."""


@dataclass
class OpenReport:
    """What `Store.open()` had to do. Both None on an ordinary start."""

    moved_aside: Path | None = None  # where an unusable database was moved
    message: str | None = None  # one paragraph for the user


# --------------------------------------------------------------------------------------
# Schema and upgrades
# --------------------------------------------------------------------------------------


def _v1_tasks(conn: sqlite3.Connection) -> None:
    """The task table. Slots are a JSON list (their count is small and fixed per task)."""
    conn.execute(
        """
        CREATE TABLE tasks (
            id               TEXT PRIMARY KEY,
            created_at       REAL NOT NULL,
            prompt           TEXT NOT NULL,
            params           TEXT NOT NULL DEFAULT '{}',
            profile_name     TEXT NOT NULL DEFAULT '',
            api_mode         TEXT NOT NULL DEFAULT 'images',
            status           TEXT NOT NULL,
            started_at       REAL,
            first_partial_at REAL,
            finished_at      REAL,
            error_kind       TEXT,
            error_message    TEXT,
            error_hint       TEXT,
            starred          INTEGER NOT NULL DEFAULT 0,
            parent_id        TEXT,
            input_images     TEXT NOT NULL DEFAULT '[]',
            mask             TEXT,
            slots            TEXT NOT NULL DEFAULT '[]'
        )
        """
    )
    conn.execute("CREATE INDEX tasks_created_at ON tasks (created_at)")


def _v2_search(conn: sqlite3.Connection) -> None:
    """A case-folded copy of prompt + revised prompts for Unicode-aware search (SQLite's
    LIKE folds ASCII only), and an index for the status filter."""
    conn.execute("ALTER TABLE tasks ADD COLUMN search_text TEXT NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT id, prompt, slots FROM tasks").fetchall()
    for task_id, prompt, slots_json in rows:
        revised = [s.get("revised_prompt") for s in _json_dicts(slots_json)]
        conn.execute(
            "UPDATE tasks SET search_text = ? WHERE id = ?",
            (_search_text(prompt, revised), task_id),
        )
    conn.execute("CREATE INDEX tasks_status ON tasks (status, created_at)")


# Step i takes a database from user_version i to i + 1. Append only; never edit a step
# that has shipped.
_UPGRADES: list[Callable[[sqlite3.Connection], None]] = [_v1_tasks, _v2_search]
SCHEMA_VERSION = len(_UPGRADES)

_COLUMNS = (
    "id",
    "created_at",
    "prompt",
    "params",
    "profile_name",
    "api_mode",
    "status",
    "started_at",
    "first_partial_at",
    "finished_at",
    "error_kind",
    "error_message",
    "error_hint",
    "starred",
    "parent_id",
    "input_images",
    "mask",
    "slots",
    "search_text",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM tasks"
_UPSERT = (
    f"INSERT INTO tasks ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + c for c in _COLUMNS)}) "
    f"ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _COLUMNS if c != 'id')}"
)


class _Unusable(Exception):
    """The database file cannot be used as is: `kind` is "corrupt" or "newer"."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


# --------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------


class Store:
    """Task history under `root`. Construct freely; nothing touches the disk until `open()`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.db_path = self.root / DB_NAME
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def __enter__(self) -> Store:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening -----------------------------------------------------------------------

    def open(self) -> OpenReport:
        """Create the folders and the database, upgrade it, or move an unusable one aside."""
        with self._lock:
            if self._conn is not None:
                return OpenReport()
            try:
                make_private_dir(self.root)
                (self.root / IMAGES).mkdir(exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the data folder {self.root}: {exc.strerror or exc}"
                ) from None
            report = OpenReport()
            try:
                self._conn = self._connect()
            except _Unusable as exc:
                moved = self._move_aside(exc.kind)
                if exc.kind == "newer":
                    why = f"was written by a newer imgtui ({exc.detail})"
                else:
                    why = f"is damaged ({exc.detail})"
                report = OpenReport(
                    moved_aside=moved,
                    message=(
                        f"The history database {why}. It was moved to {moved} and a new, empty "
                        "history was started; nothing was deleted. Your image files are still in "
                        f"{self.root / IMAGES}."
                    ),
                )
                self._conn = self._connect()
            return report

    def _connect(self) -> sqlite3.Connection:
        """Open, check and upgrade the database file; raise _Unusable when it cannot be used."""
        existed = self.db_path.exists() and self.db_path.stat().st_size > 0
        if existed and _read_header(self.db_path) != _SQLITE_HEADER:
            # Decide before SQLite opens it: on close SQLite would delete a -wal file lying
            # next to a file it cannot read, and that WAL may hold the user's latest rows.
            raise _Unusable("corrupt", "file is not a database")
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a single statement is
            # its own short transaction and DDL in upgrades is transactional.
            conn = sqlite3.connect(
                self.db_path, timeout=10, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.db_path}: {exc}") from None
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # NOTADB shows here
            if version > SCHEMA_VERSION:
                raise _Unusable(
                    "newer", f"schema version {version}; this imgtui knows up to {SCHEMA_VERSION}"
                )
            if existed:
                problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
                if problems != ["ok"]:
                    lines = [
                        ln
                        for ln in "\n".join(map(str, problems)).splitlines()
                        if ln and not ln.startswith("***")
                    ]
                    raise _Unusable(
                        "corrupt", f"integrity check failed: {lines[0] if lines else problems[0]}"
                    )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(
                "PRAGMA synchronous = NORMAL"
            )  # safe with WAL; a crash loses at most the last commit
            conn.execute("PRAGMA busy_timeout = 10000")
            self._upgrade(conn, version)
        except _Unusable:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            if _is_corruption(exc):
                raise _Unusable("corrupt", str(exc)) from None
            # e.g. "database is locked": someone else's problem to wait out, never a reason
            # to move the user's history aside
            raise StoreError(f"cannot open {self.db_path}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _upgrade(conn: sqlite3.Connection, version: int) -> None:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                _UPGRADES[target - 1](conn)
                conn.execute(f"PRAGMA user_version = {target:d}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _move_aside(self, kind: str) -> Path:
        """Rename the database and its -wal/-shm files to `<name>.<kind>-<timestamp>`."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.db_path.with_name(f"{DB_NAME}.{kind}-{stamp}")
        n = 2
        while target.exists():
            target = self.db_path.with_name(f"{DB_NAME}.{kind}-{stamp}-{n}")
            n += 1
        try:
            os.replace(self.db_path, target)
            for suffix in ("-wal", "-shm", "-journal"):
                side = self.db_path.with_name(DB_NAME + suffix)
                if side.exists():
                    os.replace(side, target.with_name(target.name + suffix))
        except OSError as exc:
            raise StoreError(
                f"{self.db_path} cannot be used and could not be moved aside: {exc}"
            ) from None
        return target

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with sqlite errors turned into StoreError."""
        with self._lock:
            if self._conn is None:
                raise StoreError("the history store is not open")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"history database error: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- start-up ----------------------------------------------------------------------

    def mark_interrupted(self) -> int:
        """Tasks left queued or running by a previous run become `interrupted`.

        Call once at start-up, before loading. Their unfinished slots are marked cancelled
        (the last preview frame, if saved, stays as a labelled partial). Returns the count.
        """
        with self._transaction() as conn:
            marks = ",".join("?" * len(_UNFINISHED_STATUSES))
            rows = conn.execute(
                f"SELECT id, slots FROM tasks WHERE status IN ({marks})", _UNFINISHED_STATUSES
            ).fetchall()
            for task_id, slots_json in rows:
                slots = _json_dicts(slots_json)
                for slot in slots:
                    if slot.get("status", SlotStatus.RUNNING.value) == SlotStatus.RUNNING.value:
                        slot["status"] = SlotStatus.CANCELLED.value
                conn.execute(
                    """
                    UPDATE tasks SET
                        status = ?,
                        slots = ?,
                        finished_at = COALESCE(finished_at, first_partial_at, started_at),
                        error_message = COALESCE(error_message, ?),
                        error_hint = COALESCE(error_hint, ?)
                    WHERE id = ?
                    """,
                    (
                        Status.INTERRUPTED.value,
                        _dumps(slots),
                        "imgtui exited before this task finished",
                        "Run it again to get the final image.",
                        task_id,
                    ),
                )
            return len(rows)

    # -- writing -----------------------------------------------------------------------

    def save(self, task: Task) -> None:
        """Insert or update the whole task row in one short transaction (no image bytes)."""
        row = self._row(task)
        with self._db() as conn:
            conn.execute(_UPSERT, row)

    def write_image(self, task: Task, slot: int, data: bytes) -> Path:
        """Store a slot's final image byte for byte as `<task_id>/<slot>.<ext>` (ext from the
        magic number); the slot's preview frame file is removed. Sets `image_path`."""
        target_slot = self._slot(task, slot)
        folder = self._task_dir(task.id)
        dest = folder / f"{slot}{_ext_for(data)}"
        _remove_siblings(folder, f"{slot}", keep=dest)
        _atomic_write(dest, data, durable=True)
        target_slot.image_path = dest
        _remove_siblings(folder, f"{slot}.partial", keep=None)  # the preview is superseded
        target_slot.partial_path = None
        return dest

    def write_partial(self, task: Task, slot: int, data: bytes) -> Path:
        """Store an unfinished slot's newest preview frame as `<task_id>/<slot>.partial.<ext>`
        (overwriting the previous one). Sets `partial_path`."""
        target_slot = self._slot(task, slot)
        folder = self._task_dir(task.id)
        dest = folder / f"{slot}.partial{_ext_for(data)}"
        _remove_siblings(folder, f"{slot}.partial", keep=dest)
        _atomic_write(dest, data, durable=False)  # a preview: not worth an fsync per frame
        target_slot.partial_path = dest
        return dest

    def _slot(self, task: Task, slot: int) -> Slot:
        _check_id(task.id)
        if not 0 <= slot < len(task.slots):
            raise StoreError(f"task {task.id} has no slot {slot}")
        return task.slots[slot]

    def _task_dir(self, task_id: str) -> Path:
        folder = self.root / IMAGES / task_id
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {folder}: {exc.strerror or exc}") from None
        return folder

    # -- reading -----------------------------------------------------------------------

    def load(
        self,
        limit: int | None = None,
        offset: int = 0,
        search: str | None = None,
        status: str | None = None,
        starred: bool | None = None,
    ) -> list[Task]:
        """Tasks newest first, in one query. Slots come back with their file paths; image
        bytes are not read (`slot.image` and `slot.partial` stay None)."""
        where, args = _filters(search, status, starred)
        sql = f"{_SELECT}{where} ORDER BY created_at DESC, rowid DESC"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else limit, offset]
        with self._db() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [self._task(row) for row in rows]

    def get(self, task_id: str) -> Task | None:
        with self._db() as conn:
            row = conn.execute(f"{_SELECT} WHERE id = ?", (task_id,)).fetchone()
        return self._task(row) if row else None

    def count(
        self, search: str | None = None, status: str | None = None, starred: bool | None = None
    ) -> int:
        where, args = _filters(search, status, starred)
        with self._db() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM tasks{where}", args).fetchone()[0])

    # -- changing ----------------------------------------------------------------------

    def set_starred(self, task_id: str, starred: bool) -> None:
        with self._db() as conn:
            conn.execute("UPDATE tasks SET starred = ? WHERE id = ?", (int(bool(starred)), task_id))

    def delete(self, task_id: str) -> None:
        """Delete the row, then its image folder and cached thumbnails."""
        _check_id(task_id)
        with self._db() as conn:
            conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        self._remove_files(task_id)

    def delete_failed(self) -> int:
        """Delete every failed or cancelled task (these hold no final image) that is not
        starred. Interrupted tasks are kept: their preview may be all there is. Returns the count."""
        marks = ",".join("?" * len(_FAILED_STATUSES))
        with self._transaction() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM tasks WHERE status IN ({marks}) AND starred = 0",
                    _FAILED_STATUSES,
                )
            ]
            conn.executemany("DELETE FROM tasks WHERE id = ?", [(i,) for i in ids])
        for task_id in ids:
            if _ID_RE.match(task_id):
                self._remove_files(task_id)
        return len(ids)

    def _remove_files(self, task_id: str) -> None:
        # After the row is gone: a leftover file is harmless, a row without files is not.
        shutil.rmtree(self.root / IMAGES / task_id, ignore_errors=True)
        shutil.rmtree(self.root / THUMBS / task_id, ignore_errors=True)

    # -- export ------------------------------------------------------------------------

    def export_images(self, task: Task, folder: Path) -> list[Path]:
        """Copy the task's images to `folder` as `<prompt-slug>-<date>-<slot>.<ext>` (a slot
        with no final image gives its preview, `…-partial`). Never overwrites: `-2`, `-3`…"""
        folder = Path(folder).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {folder}: {exc.strerror or exc}") from None
        base = f"{slugify(task.prompt)}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(task.created_at))}"
        out: list[Path] = []
        for i, slot in enumerate(task.slots):
            source, partial = _slot_file(slot)
            if source is None:
                continue
            stem = f"{base}-{i + 1}" + ("-partial" if partial else "")
            out.append(_copy_unique(source, folder, stem, source.suffix))
        return out

    def export_zip(self, path: Path) -> int:
        """Write every task's image files and a `manifest.json` (params, prompt, status,
        timings, usage, file names; never a key) to a zip at `path`. Returns the task count."""
        path = Path(path).expanduser()
        tasks = self.load()
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
                        source, partial = _slot_file(slot)
                        if source is None:
                            continue
                        arcname = f"{IMAGES}/{task.id}/{source.name}"
                        zf.write(
                            source, arcname, compress_type=zipfile.ZIP_STORED
                        )  # images are compressed already
                        files.append({"slot": i, "file": arcname, "partial": partial})
                    manifest["tasks"].append(_manifest_entry(task, files))
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

    def thumbnail(self, image: Path, width_px: int, height_px: int) -> Path:
        """A PNG no larger than width_px x height_px (aspect kept), made once and cached.

        The cache key covers the source path, its mtime and size, and the box, so a changed
        source gets a new thumbnail. Thumbnails of a task's images live under its id and go
        when it is deleted.
        """
        image = Path(image).absolute()
        try:
            st = image.stat()
        except OSError as exc:
            raise StoreError(f"cannot read {image}: {exc.strerror or exc}") from None
        w, h = max(1, int(width_px)), max(1, int(height_px))
        key = hashlib.sha256(f"{image}|{st.st_mtime_ns}|{st.st_size}|{w}x{h}".encode()).hexdigest()[
            :32
        ]
        group = image.parent.name if image.parent.parent == self.root / IMAGES else "_other"
        out = self.root / THUMBS / group / f"{key}.png"
        if out.exists():
            return out
        from PIL import Image, UnidentifiedImageError  # lazy: Pillow is not needed to start up

        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(image) as im:
                im.draft("RGB", (w, h))  # JPEG: decode at a reduced scale when possible
                im.thumbnail((w, h))
                if im.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
                    im = im.convert("RGBA")
                fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=".thumb.", suffix=".png")
                try:
                    with os.fdopen(fd, "wb") as f:
                        im.save(f, format="PNG")
                    os.replace(tmp_name, out)
                except BaseException:
                    Path(tmp_name).unlink(missing_ok=True)
                    raise
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise StoreError(f"cannot make a thumbnail of {image}: {exc}") from None
        return out

    # -- rows <-> tasks ----------------------------------------------------------------

    def _rel(self, path: Path | str | None) -> str | None:
        """A path inside the data dir as a relative POSIX string; others as given."""
        if path is None:
            return None
        p = Path(path)
        if p.is_absolute():
            try:
                return p.relative_to(self.root).as_posix()
            except ValueError:
                return str(p)
        return p.as_posix()

    def _abs(self, stored: str | None) -> Path | None:
        if not stored:
            return None
        p = Path(stored)
        return p if p.is_absolute() else self.root / p

    def _row(self, task: Task) -> dict[str, Any]:
        params = {k: v for k, v in task.params.items() if not _SECRET_PARAM_RE.match(str(k))}
        try:
            params_json = _dumps(params)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"task {task.id}: params are not JSON-safe: {exc}") from None
        slots = [self._slot_json(s) for s in task.slots]
        return {
            "id": task.id,
            "created_at": task.created_at,
            "prompt": task.prompt,
            "params": params_json,
            "profile_name": task.profile_name,
            "api_mode": task.api_mode,
            "status": Status(task.status).value,
            "started_at": task.started_at,
            "first_partial_at": task.first_partial_at,
            "finished_at": task.finished_at,
            "error_kind": task.error_kind,
            "error_message": task.error_message,
            "error_hint": task.error_hint,
            "starred": int(bool(task.starred)),
            "parent_id": task.parent_id,
            "input_images": _dumps([str(p) for p in task.input_images]),
            "mask": str(task.mask) if task.mask is not None else None,
            "slots": _dumps(slots),
            "search_text": _search_text(task.prompt, [s.revised_prompt for s in task.slots]),
        }

    def _slot_json(self, s: Slot) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": SlotStatus(s.status).value,
            "partial_index": s.partial_index,
            "partial_path": self._rel(s.partial_path),
            "image_path": self._rel(s.image_path),
            "meta": {k: v for k, v in asdict(s.meta).items() if v is not None} or None,
            "revised_prompt": s.revised_prompt,
            "usage": s.usage,
            "response_id": s.response_id,
            "bytes_received": s.bytes_received or None,
        }
        if s.error is not None:
            out["error"] = {
                "kind": s.error.kind.value,
                "message": s.error.message,
                "hint": s.error.hint or None,
                "status": s.error.status,
                "retry_after": s.error.retry_after,
            }
        return {k: v for k, v in out.items() if v is not None}

    def _task(self, row: tuple) -> Task:
        r = dict(zip(_COLUMNS, row))
        params = _json_obj(r["params"])
        slots = [self._slot_from(i, d) for i, d in enumerate(_json_dicts(r["slots"]))]
        return Task(
            prompt=r["prompt"],
            params=params,
            profile_name=r["profile_name"] or "",
            api_mode=r["api_mode"] or "images",
            id=r["id"],
            status=_enum(Status, r["status"], Status.INTERRUPTED),
            slots=slots,
            created_at=r["created_at"],
            started_at=r["started_at"],
            first_partial_at=r["first_partial_at"],
            finished_at=r["finished_at"],
            input_images=[str(p) for p in _json_list(r["input_images"])],
            mask=r["mask"],
            parent_id=r["parent_id"],
            starred=bool(r["starred"]),
            error_kind=r["error_kind"],
            error_message=r["error_message"],
            error_hint=r["error_hint"],
        )

    def _slot_from(self, index: int, d: dict[str, Any]) -> Slot:
        meta = d.get("meta") or {}
        error = d.get("error")
        failed = None
        if isinstance(error, dict):
            failed = Failed(
                slot=index,
                kind=_enum(FailureKind, error.get("kind"), FailureKind.SERVER),
                message=str(error.get("message") or ""),
                hint=str(error.get("hint") or ""),
                status=error.get("status"),
                retry_after=error.get("retry_after"),
            )
        return Slot(
            status=_enum(SlotStatus, d.get("status"), SlotStatus.FAILED),
            partial_index=d.get("partial_index"),
            partial_path=self._abs(d.get("partial_path")),
            image_path=self._abs(d.get("image_path")),
            meta=ImageMeta(
                **{k: meta.get(k) for k in ("size", "quality", "background", "output_format")}
            ),
            revised_prompt=d.get("revised_prompt"),
            usage=d.get("usage"),
            response_id=d.get("response_id"),
            error=failed,
            bytes_received=int(d.get("bytes_received") or 0),
        )


# --------------------------------------------------------------------------------------
# File names
# --------------------------------------------------------------------------------------


def slugify(prompt: str, max_len: int = 40) -> str:
    """A file-name-safe slug of the prompt's first words: accents dropped, any script's
    letters and digits kept, joined by "-", cut at a word boundary. "image" if nothing is left."""
    text = unicodedata.normalize("NFKD", prompt)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    slug = ""
    for word in re.findall(r"[^\W_]+", text):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len:
            slug = slug or word[:max_len]
            break
        slug = candidate
    return slug or "image"


def unique_path(folder: Path, stem: str, ext: str) -> Path:
    """`folder/stem.ext`, or `stem-2.ext`, `stem-3.ext`… : the first that does not exist.

    `ext` may be given with or without its dot. To avoid a race between two writers,
    create the file with mode "xb" and try again on FileExistsError (see `_copy_unique`).
    """
    suffix = ext if not ext or ext.startswith(".") else "." + ext
    candidate = Path(folder) / f"{stem}{suffix}"
    n = 2
    while candidate.exists():
        candidate = Path(folder) / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def _copy_unique(source: Path, folder: Path, stem: str, ext: str) -> Path:
    while True:
        dest = unique_path(folder, stem, ext)
        try:
            with open(source, "rb") as src, open(dest, "xb") as dst:
                shutil.copyfileobj(src, dst)
            return dest
        except FileExistsError:
            continue  # another writer took the name between the check and the open
        except OSError as exc:
            raise StoreError(f"cannot copy {source} to {dest}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _filters(search: str | None, status: str | None, starred: bool | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if search and search.strip():
        clauses.append("instr(search_text, ?) > 0")
        args.append(search.strip().casefold())
    if status:
        clauses.append("status = ?")
        args.append(Status(status).value if isinstance(status, Status) else status)
    if starred is not None:
        clauses.append("starred = ?")
        args.append(int(starred))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _search_text(prompt: str, revised: list[str | None]) -> str:
    return "\n".join([prompt, *(r for r in revised if r)]).casefold()


def _slot_file(slot: Slot) -> tuple[Path | None, bool]:
    """The slot's final image file if it exists, else its preview frame; and whether partial."""
    if slot.image_path is not None and Path(slot.image_path).is_file():
        return Path(slot.image_path), False
    if slot.partial_path is not None and Path(slot.partial_path).is_file():
        return Path(slot.partial_path), True
    return None, False


def _manifest_entry(task: Task, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": task.id,
        "prompt": task.prompt,
        "revised_prompt": task.revised_prompt,
        "params": {k: v for k, v in task.params.items() if not _SECRET_PARAM_RE.match(str(k))},
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


def _ext_for(data: bytes) -> str:
    if not data:
        raise StoreError("refusing to store an empty image")
    # Unknown bytes are kept as .bin rather than lose a paid-for image.
    return "." + image_extension(data, default="bin")


def _remove_siblings(folder: Path, stem: str, keep: Path | None) -> None:
    """Remove `<stem>.<ext>` files of the other image types (a re-run may change format)."""
    for ext in _IMAGE_EXTS:
        p = folder / f"{stem}{ext}"
        if p != keep:
            p.unlink(missing_ok=True)


def _atomic_write(dest: Path, data: bytes, durable: bool) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp_name, dest)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise StoreError(f"cannot write {dest}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _read_header(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_id(task_id: str) -> None:
    if not isinstance(task_id, str) or not _ID_RE.match(task_id):
        raise StoreError(f"invalid task id {task_id!r}")


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def _enum(cls: Any, value: Any, default: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        return default


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json_list(text: str | None) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _json_dicts(text: str | None) -> list[dict]:
    """A JSON list of objects; anything that is not an object reads as an empty one (keeps slot order)."""
    return [d if isinstance(d, dict) else {} for d in _json_list(text)]


def _json_obj(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
