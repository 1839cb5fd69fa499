"""History: one SQLite row per task, image files on disk (never image bytes in the database).

Layout under the data dir (`config.data_dir()`):

    history.sqlite3            one row per task; slots as JSON; WAL mode
    images/<task_id>/0.png     final image of slot 0, the bytes exactly as received
    images/<task_id>/1.partial.png
                               newest preview frame of slot 1 while it is unfinished
    thumbs/<task_id>/<key>.png cached thumbnails (safe to delete at any time)

Paths inside the data dir are stored relative to it, so the folder can be moved.

Schema upgrades follow oterm (`src/oterm/store/store.py`, `store/upgrades/`) without a
framework: `PRAGMA user_version` counts the steps applied, `UPGRADES` lists them, each
runs in its own transaction. A new database runs the same steps as an old one.

A damaged database, or one written by a newer imgtui, is never deleted and never
half-used: it is renamed aside (with its -wal/-shm files) and a fresh one is started;
`Store.open()` reports what happened so the UI can say so.

Thread-safety: the TUI calls in from its UI thread and from worker threads. One
connection (`check_same_thread=False`) guarded by a lock; every statement is short.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from imgtui.api.events import Failed, FailureKind, ImageMeta
from imgtui.files import make_private_dir
from imgtui.images import ImageFileError, thumbnail_file
from imgtui.store import export
from imgtui.store.errors import StoreError
from imgtui.store.files import (
    ID_RE,
    IMAGES,
    THUMBS,
    atomic_write,
    check_id,
    ext_for,
    remove_siblings,
    sweep_tmp,
)
from imgtui.tasks import ImageParams, Slot, SlotStatus, Status, Task, finite

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "UPGRADES",
    "OpenReport",
    "Store",
    "StoreError",
    "TaskFilter",
]

DB_NAME = "history.sqlite3"
LOCK_NAME = "instance.lock"  # held by the imgtui that owns the data folder
_SQLITE_HEADER = b"SQLite format 3\x00"
_FAILED_STATUSES = (Status.FAILED.value, Status.CANCELLED.value)
_UNFINISHED_STATUSES = (Status.QUEUED.value, Status.RUNNING.value)


@dataclass(frozen=True)
class TaskFilter:
    """Which stored tasks `Store.load` and `Store.count` return; every field is optional
    and the fields combine with AND. `search`: text in the prompt or revised prompt
    (case-folded, no wildcards); `status`: a `Status` value; `starred`; `collection`: a
    collection's name; `model`: the requested model; `profile`: the profile's name;
    `since`: created at or after (epoch seconds)."""

    search: str | None = None
    status: str | None = None
    starred: bool | None = None
    collection: str | None = None
    model: str | None = None
    profile: str | None = None
    since: float | None = None

    def sql(self) -> tuple[str, list[Any]]:
        """The `WHERE` clause (empty when nothing is filtered) and its arguments."""
        clauses: list[str] = []
        args: list[Any] = []
        if self.model is not None:
            clauses.append("json_extract(params, '$.model') = ?")
            args.append(self.model)
        if self.profile is not None:
            clauses.append("profile_name = ?")
            args.append(self.profile)
        if self.since is not None:
            clauses.append("created_at >= ?")
            args.append(float(self.since))
        if self.collection is not None:
            clauses.append("id IN (SELECT task_id FROM collections WHERE name = ?)")
            args.append(self.collection)
        if self.search and self.search.strip():
            clauses.append("instr(search_text, ?) > 0")
            args.append(self.search.strip().casefold())
        if self.status:
            clauses.append("status = ?")
            args.append(self.status.value if isinstance(self.status, Status) else self.status)
        if self.starred is not None:
            clauses.append("starred = ?")
            args.append(int(self.starred))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


@dataclass
class OpenReport:
    """What `Store.open()` had to do. All unset on an ordinary start."""

    moved_aside: Path | None = None  # where an unusable database was moved
    message: str | None = None  # one paragraph for the user
    other_instance: int | None = None  # pid of another imgtui using this data folder (0: unknown)
    swept: int = 0  # leftover temporary files from a killed run, removed


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


def _v3_job(conn: sqlite3.Connection) -> None:
    """A polled provider's handle (JSON), so a restart resumes polling (issue 15)."""
    conn.execute("ALTER TABLE tasks ADD COLUMN job TEXT")


def _v4_collections(conn: sqlite3.Connection) -> None:
    """Named collections: a task can be in several (issue 15). Rows go with their task."""
    conn.execute(
        """
        CREATE TABLE collections (
            name    TEXT NOT NULL,
            task_id TEXT NOT NULL,  -- deleting a task deletes its rows (Store.delete)
            PRIMARY KEY (name, task_id)
        )
        """
    )
    conn.execute("CREATE INDEX collections_task ON collections (task_id)")


def _v5_sent(conn: sqlite3.Connection) -> None:
    """The requests as sent (JSON, secrets masked: `api.events.Sent`), for the detail view."""
    conn.execute("ALTER TABLE tasks ADD COLUMN sent TEXT")


# Step i takes a database from user_version i to i + 1. Append only; never edit a step
# that has shipped.
UPGRADES: list[Callable[[sqlite3.Connection], None]] = [
    _v1_tasks,
    _v2_search,
    _v3_job,
    _v4_collections,
    _v5_sent,
]
SCHEMA_VERSION = len(UPGRADES)

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
    "job",
    "sent",
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
        self._lock_file: TextIO | None = None
        self._shared = False

    def __enter__(self) -> Store:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening -----------------------------------------------------------------------

    def open(self) -> OpenReport:
        """Create the folders and the database, upgrade it, or move an unusable one aside.

        The first store to open a data folder holds its lock (`instance.lock`) until
        `close()`: only that one recovers unfinished tasks (`mark_interrupted`) and sweeps
        leftover temporary files. A second one (another imgtui running on the same folder)
        works alongside it and says so in the report (issue 10.7).
        """
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
            other = self._take_folder_lock()
            self._shared = other is not None
            if other is not None:
                report.other_instance = other
                who = f" (process {other})" if other else ""
                report.message = (
                    f"Another imgtui{who} is using this data folder. Its running tasks are left "
                    "to it: they show as they were when this one started."
                )
            else:
                report.swept = sweep_tmp(self.root)
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
                    other_instance=report.other_instance,
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
                UPGRADES[target - 1](conn)
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
            if self._lock_file is not None:
                self._lock_file.close()  # releases the folder lock
                self._lock_file = None
            self._shared = False

    @property
    def shared(self) -> bool:
        """Another imgtui holds this data folder (it recovers and sweeps, not this one)."""
        return self._shared

    def _take_folder_lock(self) -> int | None:
        """Lock the data folder for this process. None when it got the lock; else the pid
        of the process holding it (0 when it cannot be read). Without `fcntl` (Windows)
        every store takes the folder as its own."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover
            return None
        path = self.root / LOCK_NAME
        try:
            f = open(path, "a+", encoding="ascii")  # noqa: SIM115 (held until close())
        except OSError as exc:
            raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            text = f.read().strip()
            f.close()
            return int(text) if text.isdigit() else 0
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock_file = f
        return None

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
        A task a polled provider accepted (it has a `job`) is left running: the provider
        still works on it, and `resumable()` hands it back to be polled again.
        Does nothing while another imgtui holds the data folder: those tasks are its own.
        """
        if self.shared:
            return 0
        with self._transaction() as conn:
            marks = ",".join("?" * len(_UNFINISHED_STATUSES))
            rows = conn.execute(
                f"SELECT id, slots FROM tasks WHERE status IN ({marks}) AND job IS NULL",
                _UNFINISHED_STATUSES,
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

    def resumable(self) -> list[Task]:
        """Unfinished tasks a polled provider accepted (they have a `job` handle), oldest
        first: poll them again instead of submitting them anew. None while another imgtui
        holds the data folder: it polls its own."""
        if self.shared:
            return []
        marks = ",".join("?" * len(_UNFINISHED_STATUSES))
        with self._db() as conn:
            rows = conn.execute(
                f"{_SELECT} WHERE status IN ({marks}) AND job IS NOT NULL "
                "ORDER BY created_at, rowid",
                _UNFINISHED_STATUSES,
            ).fetchall()
        return [self._task(row) for row in rows]

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
        dest = folder / f"{slot}{ext_for(data)}"
        remove_siblings(folder, f"{slot}", keep=dest)
        atomic_write(dest, data, durable=True)
        target_slot.image_path = dest
        remove_siblings(folder, f"{slot}.partial", keep=None)  # the preview is superseded
        target_slot.partial_path = None
        return dest

    def write_original(self, task: Task, slot: int, data: bytes) -> Path:
        """Store the untouched image a slot's final image was made from (local transparency
        keeps both) as `<task_id>/<slot>.original.<ext>`. Sets `original_path`."""
        target_slot = self._slot(task, slot)
        folder = self._task_dir(task.id)
        dest = folder / f"{slot}.original{ext_for(data)}"
        remove_siblings(folder, f"{slot}.original", keep=dest)
        atomic_write(dest, data, durable=True)
        target_slot.original_path = dest
        return dest

    def write_broken(self, task: Task, slot: int, data: bytes) -> Path:
        """Keep the bytes of a final image that failed the check (`Failed.raw`) for
        inspection as `<task_id>/<slot>.broken`: never read as an image, never a result.
        Sets `broken_path`; raises StoreError or OSError."""
        target_slot = self._slot(task, slot)
        dest = self._task_dir(task.id) / f"{slot}.broken"
        atomic_write(dest, data, durable=True)
        target_slot.broken_path = dest
        return dest

    def write_partial(self, task: Task, slot: int, data: bytes) -> Path:
        """Store an unfinished slot's newest preview frame as `<task_id>/<slot>.partial.<ext>`
        (overwriting the previous one). Sets `partial_path`."""
        target_slot = self._slot(task, slot)
        folder = self._task_dir(task.id)
        dest = folder / f"{slot}.partial{ext_for(data)}"
        remove_siblings(folder, f"{slot}.partial", keep=dest)
        atomic_write(dest, data, durable=False)  # a preview: not worth an fsync per frame
        target_slot.partial_path = dest
        return dest

    def _slot(self, task: Task, slot: int) -> Slot:
        check_id(task.id)
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
        self, limit: int | None = None, offset: int = 0, where: TaskFilter | None = None
    ) -> list[Task]:
        """Tasks newest first, in one query, those matching `where` only (default: all).
        Slots come back with their file paths; image bytes are not read (`slot.image` and
        `slot.partial` stay None). `limit`/`offset` page through the matches."""
        clause, args = (where or TaskFilter()).sql()
        sql = f"{_SELECT}{clause} ORDER BY created_at DESC, rowid DESC"
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

    def count(self, where: TaskFilter | None = None) -> int:
        """How many tasks `load(where=where)` would return with no limit."""
        clause, args = (where or TaskFilter()).sql()
        with self._db() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM tasks{clause}", args).fetchone()[0])

    def prompts(self, limit: int = 1000) -> list[str]:
        """The distinct prompts of the history, most recently used first (at most
        `limit`): the composer's prompt recall (`imgtui.prompts`)."""
        sql = "SELECT prompt FROM tasks GROUP BY prompt ORDER BY MAX(created_at) DESC LIMIT ?"
        with self._db() as conn:
            return [str(row[0]) for row in conn.execute(sql, (limit,)).fetchall()]

    # -- collections -------------------------------------------------------------------

    def collections(self) -> dict[str, int]:
        """Collection name -> how many tasks it holds, by name."""
        with self._db() as conn:
            rows = conn.execute(
                "SELECT name, COUNT(*) FROM collections GROUP BY name ORDER BY name"
            ).fetchall()
        return {name: int(n) for name, n in rows}

    def filter_choices(self) -> dict[str, list[str]]:
        """What the history holds to filter by: `models`, `profiles` and `collections`,
        each distinct and sorted."""
        with self._db() as conn:
            models = conn.execute(
                "SELECT DISTINCT json_extract(params, '$.model') AS m FROM tasks "
                "WHERE m IS NOT NULL ORDER BY m"
            ).fetchall()
            profiles = conn.execute(
                "SELECT DISTINCT profile_name FROM tasks WHERE profile_name != '' "
                "ORDER BY profile_name"
            ).fetchall()
            names = conn.execute("SELECT DISTINCT name FROM collections ORDER BY name").fetchall()
        return {
            "models": [str(m) for (m,) in models],
            "profiles": [str(p) for (p,) in profiles],
            "collections": [str(n) for (n,) in names],
        }

    def collections_of(self, task_id: str) -> list[str]:
        """The collections a task is in, by name."""
        with self._db() as conn:
            rows = conn.execute(
                "SELECT name FROM collections WHERE task_id = ? ORDER BY name", (task_id,)
            ).fetchall()
        return [name for (name,) in rows]

    def add_to_collection(self, name: str, task_ids: list[str]) -> int:
        """Put tasks in a collection (made on first use); ids not in history are ignored.
        Returns how many were added (already there: not counted)."""
        name = _collection_name(name)
        with self._transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO collections (name, task_id) "
                "SELECT ?, id FROM tasks WHERE id = ?",
                [(name, task_id) for task_id in task_ids],
            )
            return conn.total_changes - before

    def remove_from_collection(self, name: str, task_ids: list[str] | None = None) -> int:
        """Take tasks out of a collection, or (None) delete the collection. The tasks stay."""
        with self._transaction() as conn:
            before = conn.total_changes
            if task_ids is None:
                conn.execute("DELETE FROM collections WHERE name = ?", (name,))
            else:
                conn.executemany(
                    "DELETE FROM collections WHERE name = ? AND task_id = ?",
                    [(name, task_id) for task_id in task_ids],
                )
            return conn.total_changes - before

    # -- changing ----------------------------------------------------------------------

    def set_starred(self, task_id: str, starred: bool) -> None:
        with self._db() as conn:
            conn.execute("UPDATE tasks SET starred = ? WHERE id = ?", (int(bool(starred)), task_id))

    def delete(self, task_id: str) -> None:
        """Delete the row, then its image folder and cached thumbnails."""
        check_id(task_id)
        with self._db() as conn:
            conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
            conn.execute("DELETE FROM collections WHERE task_id = ?", (task_id,))
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
            conn.executemany("DELETE FROM collections WHERE task_id = ?", [(i,) for i in ids])
        for task_id in ids:
            if ID_RE.match(task_id):
                self._remove_files(task_id)
        return len(ids)

    def _remove_files(self, task_id: str) -> None:
        # After the row is gone: a leftover file is harmless, a row without files is not.
        shutil.rmtree(self.root / IMAGES / task_id, ignore_errors=True)
        shutil.rmtree(self.root / THUMBS / task_id, ignore_errors=True)

    # -- export ------------------------------------------------------------------------

    def export_images(
        self, task: Task, folder: Path, slots: Iterable[int] | None = None
    ) -> list[Path]:
        """Copy the task's images (or only `slots`) to `folder` (see
        `imgtui.store.export.export_images`)."""
        return export.export_images(task, folder, slots)

    def export_zip(self, path: Path, task_ids: list[str] | None = None) -> int:
        """Every task's images (or only `task_ids`', in that order) and a manifest (never a
        key) into a zip at `path`; returns the task count (see
        `imgtui.store.export.export_zip`)."""
        with self._db() as conn:
            rows = conn.execute("SELECT task_id, name FROM collections ORDER BY name").fetchall()
        member: dict[str, list[str]] = {}
        for task_id, name in rows:
            member.setdefault(task_id, []).append(name)
        if task_ids is None:
            tasks = self.load()
        else:
            tasks = [t for t in (self.get(i) for i in task_ids) if t is not None]
        return export.export_zip(tasks, path, member)

    # -- thumbnails --------------------------------------------------------------------

    def thumbnail(self, image: Path, width_px: int, height_px: int) -> Path:
        """A cached PNG of `image` no larger than width_px x height_px (aspect kept), under
        `thumbs/<task_id>/` so it goes when the task is deleted. Raises StoreError."""
        image = Path(image).absolute()
        group = image.parent.name if image.parent.parent == self.root / IMAGES else "_other"
        try:
            return thumbnail_file(image, self.root / THUMBS / group, width_px, height_px)
        except ImageFileError as exc:
            raise StoreError(str(exc)) from None

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
        try:
            params_json = _dumps(task.params.to_json())  # typed fields only: never a key
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
            "job": _dumps(task.job) if task.job else None,
            "sent": _dumps(task.sent) if task.sent else None,
        }

    def _slot_json(self, s: Slot) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": SlotStatus(s.status).value,
            "partial_index": s.partial_index,
            "partial_path": self._rel(s.partial_path),
            "image_path": self._rel(s.image_path),
            "original_path": self._rel(s.original_path),
            "broken_path": self._rel(s.broken_path),
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

    def _task(self, row: tuple[Any, ...]) -> Task:
        r = dict(zip(_COLUMNS, row, strict=True))
        params = ImageParams.from_json(_json_obj(r["params"]))
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
            job=(_json_obj(r["job"]) or None) if r["job"] else None,
            sent=[c for c in _json_list(r["sent"]) if isinstance(c, dict)] or None
            if r["sent"]
            else None,
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
            original_path=self._abs(d.get("original_path")),
            broken_path=self._abs(d.get("broken_path")),
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
# Helpers
# --------------------------------------------------------------------------------------


def _collection_name(name: str) -> str:
    """A collection name: one line, 1-80 characters. Raises StoreError."""
    clean = name.strip()
    if not clean or len(clean) > 80 or any(ord(c) < 32 for c in clean):
        raise StoreError(f"{name!r} is not a collection name (one line, 1 to 80 characters)")
    return clean


def _search_text(prompt: str, revised: list[str | None]) -> str:
    return "\n".join([prompt, *(r for r in revised if r)]).casefold()


def _read_header(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None


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
    """Strict JSON; NaN and infinities (a server's usage numbers) become null (issue 10.5)."""
    return json.dumps(finite(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _json_list(text: str | None) -> list[Any]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _json_dicts(text: str | None) -> list[dict[str, Any]]:
    """A JSON list of objects; anything that is not an object reads as an empty one (keeps slot order)."""
    return [d if isinstance(d, dict) else {} for d in _json_list(text)]


def _json_obj(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
