"""History: task rows in SQLite, image files on disk, export, and the history service.

Modules: `db` (the `Store`: schema, upgrades, rows <-> tasks, recovery at start-up),
`files` (image files: `atomic_write`, unique names, leftover temporary files), `export`
(copy images out, the history zip), `history` (`History`: every store call on one
thread, in order, for the app), `pages` (`HistoryPages`: the list's history a page at a
time, and its COUNT), `errors` (`StoreError`).

`imgtui.store` keeps its public names: `Store`, `StoreError`, `OpenReport`, `DB_NAME`,
`SCHEMA_VERSION`, `TaskFilter`, `slugify`, `unique_path`.
"""

from imgtui.store.db import DB_NAME, SCHEMA_VERSION, OpenReport, Store, TaskFilter
from imgtui.store.errors import StoreError
from imgtui.store.files import atomic_write, slugify, unique_path, write_unique
from imgtui.store.history import History

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "History",
    "OpenReport",
    "Store",
    "StoreError",
    "TaskFilter",
    "atomic_write",
    "slugify",
    "unique_path",
    "write_unique",
]
