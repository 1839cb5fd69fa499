"""The command palette's app commands (Ctrl+P): every action, with its key in the help.

`app_commands(app)` yields them; the app adds them after Textual's own system commands.
Each runs one of the app's public actions.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from imgtui.tui.keys import TASK_KEYS
from imgtui.tui.messages import TaskAction
from imgtui.tui.screens.search import HistoryFilter

if TYPE_CHECKING:
    from imgtui.tui.app import ImgtuiApp

__all__ = ["app_commands"]


def _key(action: str) -> str:
    """How the task key for `action` reads in help text, from the one key table."""
    keys = TASK_KEYS[action][0].split(",")[0]
    return "+".join(k.capitalize() if len(k) > 1 else k.upper() for k in keys.split("+"))


# (action, palette title, help) for the selected task.
TASK_COMMANDS = (
    (TaskAction.OPEN, "Open task", "Show the selected task large, with its details (Enter)"),
    (TaskAction.CANCEL, "Cancel task", f"Stop the selected running task ({_key('cancel')})"),
    (TaskAction.RETRY, "Retry task", f"Run the selected task's prompt again ({_key('retry')})"),
    (
        TaskAction.REUSE,
        "Reuse parameters",
        f"Put the selected task's prompt and parameters in the composer ({_key('reuse')})",
    ),
    (
        TaskAction.REFINE,
        "Refine image",
        f"Edit the selected task's image with a new instruction ({_key('refine')})",
    ),
    (
        TaskAction.STAR,
        "Star / unstar task",
        f"Keep the selected task when deleting failed ones ({_key('star')})",
    ),
    (TaskAction.DELETE, "Delete task", "Delete the selected task and its images (Delete)"),
)

# (task list action, palette title, help): marks, and batch actions on the marked tasks
# (the selected task when none is marked).
MARK_COMMANDS = (
    ("toggle_mark", "Mark / unmark task", "Mark the selected task for a batch action (Ctrl+Space)"),
    ("mark_all", "Mark all tasks", "Mark every task the list shows (Ctrl+A)"),
    ("mark_none", "Unmark all tasks", "Clear the marks (Esc in the list)"),
    ("mark_invert", "Invert marks", "Mark the unmarked tasks and unmark the marked (Alt+I)"),
)
BATCH_COMMANDS = (
    (
        "save",
        "Save images",
        f"The marked (or selected) tasks' images to the output folder ({_key('save')})",
    ),
    (
        "export",
        "Export marked as zip",
        "The marked (or selected) tasks, images and manifest, as a zip",
    ),
    (
        "collect",
        "Add to collection",
        f"Put the marked (or selected) tasks in a named collection ({_key('collect')})",
    ),
    (
        "uncollect",
        "Remove from this collection",
        "Take the marked (or selected) tasks out of the collection shown (they stay in history)",
    ),
    ("retry", "Retry marked", f"Run every marked task again ({_key('retry')})"),
    ("delete", "Delete marked", "Delete the marked tasks (asks, with the count; Delete)"),
)


def app_commands(app: ImgtuiApp) -> Iterable[SystemCommand]:
    yield SystemCommand(
        "Settings",
        "Provider profiles: add, edit, import a share link (F3)",
        app.action_open_settings,
    )
    yield SystemCommand(
        "Find tasks",
        "Search prompts, filter by status or star (F4)",
        app.action_find,
    )
    yield SystemCommand(
        "Show all tasks",
        "Clear the search filter",
        lambda: app.call_next(app.apply_filter, HistoryFilter()),
    )
    yield SystemCommand(
        "Export history as zip",
        "All images plus a JSON manifest, into the output folder",
        app.action_export_zip,
    )
    yield SystemCommand(
        "Batch prompts",
        "Paste many prompts (or JSON lines); see the count and cost, run them all",
        app.action_batch,
    )
    yield SystemCommand(
        "Import history (zip)",
        "An imgtui export or a gpt_image_playground backup; never its keys",
        app.action_import_history,
    )
    yield SystemCommand(
        "Import images",
        "Images saved by imgtui come back as tasks; others become edit references",
        app.action_import_images,
    )
    yield SystemCommand(
        "Open data folder", "Where history and images live", app.action_open_data_folder
    )
    yield SystemCommand(
        "Parameters",
        "Edit size, quality, n, model, partial images (F2)",
        app.action_edit_params,
    )
    yield SystemCommand(
        "Switch profile", "Choose the active provider profile (Ctrl+O)", app.action_pick_profile
    )
    yield SystemCommand(
        "Attach reference image", "Make the next task an edit (Ctrl+F)", app.action_attach
    )
    yield SystemCommand(
        "Paste image from clipboard",
        "Attach the image on the system clipboard (Ctrl+V in the composer)",
        app.composer.paste_image,
    )
    yield SystemCommand(
        "Clear attachments", "Remove attached images, mask and refine", app.action_clear_attachments
    )
    yield SystemCommand("Focus prompt", "Move the cursor to the composer", app.action_focus_prompt)
    yield SystemCommand(
        "Focus task list", "Move the cursor to the task list", app.action_focus_tasks
    )
    for action, title, help_text in TASK_COMMANDS:
        yield SystemCommand(title, help_text, partial(app.action_selected, action.value))
    for name, title, help_text in MARK_COMMANDS:
        yield SystemCommand(title, help_text, getattr(app.task_list, f"action_{name}"))
    for name, title, help_text in BATCH_COMMANDS:
        yield SystemCommand(title, help_text, partial(app.action_batch_selected, name))
    yield SystemCommand(
        "Cancel all running tasks", "Stop every task that is still running", app.action_cancel_all
    )
    yield SystemCommand(
        "Delete failed tasks",
        "Delete failed and cancelled tasks (not starred ones)",
        app.action_delete_failed,
    )
