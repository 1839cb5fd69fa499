"""Actions on several tasks at once (issue 15.4): the marked ones, or the selected one.

`TaskBatch(app).run(action, task_ids)` for `delete` (asks first, naming how many),
`retry`, `star`, `save` (images with their recipes into the output folder), `copy` (the
images' paths), `collect` (into a named collection, asked for), `uncollect` (out of the collection
the list shows) and `export` (a zip of just these tasks). It uses the app's public task operations and the history service; the task
list posts `TaskList.BatchRequested` and the app hands it here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from imgtui.config import default_output_dir
from imgtui.tui import clipboard
from imgtui.tui.screens.confirm import ConfirmScreen

if TYPE_CHECKING:
    from imgtui.tui.controllers.tasks import TaskActions
    from imgtui.tui.screens.search import HistoryFilter


__all__ = ["TaskBatch", "plural"]


def plural(count: int, word: str) -> str:
    """`1 task`, `3 tasks`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


class TaskBatch:
    """Batch actions for one app. Every method takes task ids in list order."""

    def __init__(
        self, app: TaskActions, apply_filter: Callable[[HistoryFilter], Awaitable[int | None]]
    ) -> None:
        self.app = app
        self.apply_filter = apply_filter  # shows the list for a filter (`HistoryControl`)

    def run(self, action: str, task_ids: list[str]) -> None:
        ids = [i for i in task_ids if i in self.app.tasks]
        if not ids:
            self.app.notify("No task to act on.", severity="warning")
            return
        if action == "delete":
            self.ask_delete(ids)
        elif action == "retry":
            self.app.retry_many(ids)  # one question for shut-down models
            if len(ids) > 1:
                self.app.notify(f"{plural(len(ids), 'task')} queued again", title="Retry")
        elif action == "star":
            self.star(ids)
        elif action == "save":
            self.app.call_next(self.save, ids)
        elif action == "copy":
            self.copy(ids)
        elif action == "collect":
            self.ask_collection(ids)
        elif action == "export":
            self.app.call_next(self.export, ids)
        elif action == "uncollect":
            self.app.call_next(self.uncollect, ids)
        else:
            raise ValueError(f"unknown batch action {action!r}")

    # -- each action ---------------------------------------------------------------------

    def ask_delete(self, ids: list[str]) -> None:
        count = len(ids)
        running = sum(1 for i in ids if self.app.tasks[i].active)
        note = f" {running} of them still running will be cancelled." if running else ""

        def done(yes: bool | None) -> None:
            if yes:
                self.app.call_next(self.delete, ids)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {plural(count, 'task')} and their images?{note}",
                yes=f"Delete {count}",
                title="Delete marked tasks" if count > 1 else "Delete task",
            ),
            done,
        )

    async def delete(self, ids: list[str]) -> None:
        for task_id in ids:
            await self.app.delete_task(task_id)
        self.app.notify(f"Deleted {plural(len(ids), 'task')}", title="Delete")

    def star(self, ids: list[str]) -> None:
        """Star them all; if all were starred already, unstar them all."""
        tasks = [self.app.tasks[i] for i in ids]
        target = not all(t.starred for t in tasks)
        for task in tasks:
            if task.starred != target:
                self.app.toggle_star(task.id)

    async def save(self, ids: list[str]) -> list[Path]:
        """Every task's images (each with its recipe) into the output folder."""
        folder = default_output_dir(self.app.config)
        store = self.app.store
        saved: list[Path] = []
        try:
            for task_id in ids:
                saved += await self.app.history.call(
                    store.export_images, self.app.tasks[task_id], folder
                )
        except Exception as exc:  # StoreError, OSError
            self.app.notify(str(exc), title="Not saved", severity="error", markup=False)
            return saved
        if not saved:
            self.app.notify("No image to save yet.", severity="warning")
            return saved
        what = saved[0].name if len(saved) == 1 else plural(len(saved), "image")
        self.app.notify(f"{what} → {folder}", title="Saved", timeout=10, markup=False)
        return saved

    def copy(self, ids: list[str]) -> str | None:
        """The images' paths, one a line, to the clipboard (`clipboard.copy_text`: OSC 52,
        through tmux as it allows, and the system clipboard)."""
        paths = [str(p) for i in ids for p in self.app.tasks[i].images]
        if not paths:
            self.app.notify("No image on disk yet.", severity="warning")
            return None
        text = "\n".join(paths)
        pending = clipboard.copy_text(self.app, text)  # OSC 52 now; tmux's way, the desktop's
        self.app.run_worker(clipboard.tell_copy_problem(self.app, pending, "Copy"))
        self.app.notify(
            paths[0] if len(paths) == 1 else plural(len(paths), "path"),
            title="Copied",
            markup=False,
        )
        return text

    def ask_collection(self, ids: list[str]) -> None:
        self.app.call_next(self._ask_collection, ids)

    async def _ask_collection(self, ids: list[str]) -> None:
        from imgtui.tui.screens.name import NameScreen

        try:
            names = list(await self.app.history.call(self.app.store.collections))
        except Exception:  # StoreError: still let the user type a name
            names = []
        hint = (
            f"{plural(len(ids), 'task')} go into the collection named here (made if new; "
            "a task can be in several)."
        )
        if names:
            hint += " Existing: " + ", ".join(names[:12])
        self.app.push_screen(
            NameScreen("Add to collection", hint, names),
            lambda name: self.app.call_next(self.collect, name, ids) if name else None,
        )

    async def collect(self, name: str, ids: list[str]) -> int:
        try:
            added = int(await self.app.history.call(self.app.store.add_to_collection, name, ids))
        except Exception as exc:  # StoreError: a bad name
            self.app.notify(str(exc), title="Not added", severity="error", markup=False)
            return 0
        already = len(ids) - added
        note = f" ({already} already there)" if already else ""
        self.app.notify(
            f"{plural(added, 'task')} added to {name}{note}", title="Collection", markup=False
        )
        return added

    async def uncollect(self, ids: list[str]) -> int:
        """Take the tasks out of the collection the list shows (F4's collection); the tasks
        stay in history. The list then shows the collection without them."""
        name = self.app.history_filter.collection
        if not name:
            self.app.notify(
                "The list is not showing a collection (choose one in Find, F4).",
                severity="warning",
            )
            return 0
        try:
            removed = int(
                await self.app.history.call(self.app.store.remove_from_collection, name, ids)
            )
        except Exception as exc:  # StoreError
            self.app.notify(str(exc), title="Not removed", severity="error", markup=False)
            return 0
        self.app.task_list.action_mark_none()
        await self.apply_filter(self.app.history_filter)
        self.app.notify(
            f"{plural(removed, 'task')} taken out of {name}", title="Collection", markup=False
        )
        return removed

    async def export(self, ids: list[str]) -> Path | None:
        """These tasks (images + manifest, never a key) as one zip in the output folder."""
        from imgtui.store import unique_path

        folder = default_output_dir(self.app.config)
        path = unique_path(folder, f"imgtui-tasks-{datetime.now():%Y%m%d-%H%M%S}", "zip")
        try:
            count = await self.app.history.call(self.app.store.export_zip, path, ids)
        except Exception as exc:
            self.app.notify(str(exc), title="Export failed", severity="error", markup=False)
            return None
        self.app.notify(
            f"{plural(count, 'task')} → {path}", title="Exported", timeout=10, markup=False
        )
        return path
