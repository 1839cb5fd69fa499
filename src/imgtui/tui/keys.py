"""One meaning per key (issue 14.11): the keys that act on a task, in one table.

The task list and the detail view build their bindings from `TASK_KEYS`, so a key does the
same thing in both (Ctrl+S saves images in both; it never stars in one and saves in the
other). Letters never act where text can be typed: in the list a letter starts a prompt
(issue 13.2); the detail view has no text field but uses the same Ctrl, F and Delete keys
as the list. Letters act only in dialogs that name them on screen (y/n in a question, 1-9
in the profile picker, the settings profile list).

Key names are Textual's (`ctrl+k`, `f5`, `delete`); every one here is sent by xterm,
VTE, kitty, Konsole and tmux without a special keyboard protocol. The help overlay
(`?`, F1) is generated from the bindings, so it cannot drift from them.
"""

from __future__ import annotations

from textual.binding import Binding

__all__ = ["ESSENTIAL_KEYS", "HELP_KEYS", "TASK_KEYS", "task_binding"]

# action -> (keys, description, shown in the footer)
TASK_KEYS: dict[str, tuple[str, str, bool]] = {
    "cancel": ("ctrl+x", "Cancel", True),
    "retry": ("f5", "Retry", True),
    "delete": ("delete", "Delete", True),
    "save": ("ctrl+s", "Save", True),
    "copy": ("ctrl+c", "Copy", False),
    "star": ("ctrl+k", "Star", False),
    "reuse": ("ctrl+e", "Reuse", False),
    "refine": ("ctrl+f", "Refine", False),
    "collect": ("f6", "Collect", False),
}

# Binding ids a footer shows first and at any width (`widgets.key_footer.KeyFooter`), after
# Quit and Keys: each screen's way out (Esc) and the key that saves, applies or runs what it
# edits, the composer's Generate and the task list's Open. Other keys show while they fit
# (at 80 columns the settings list's own keys pushed Esc and Ctrl+S out); `?` lists them all.
ESSENTIAL_KEYS: frozenset[str] = frozenset(
    {
        "composer.submit",
        "task.open",
        "detail.close",
        "settings.back",
        "settings.save",
        "app_settings.cancel",
        "app_settings.save",
        "import.cancel",
        "params.cancel",
        "params.apply",
        "batch.cancel",
        "batch.run",
        "confirm.yes",
        "confirm.no",
        "attach.done",
        "name.cancel",
        "paths.cancel",
        "picker.cancel",
        "prompt_search.cancel",
        "search.clear",
        "help.close",
    }
)

# The help overlay: F1 everywhere, `?` wherever no text field has the focus.
HELP_KEYS = "f1,question_mark"


def task_binding(name: str, action: str, *, show: bool | None = None) -> Binding:
    """The binding for task action `name` (a `TASK_KEYS` entry) running `action`."""
    keys, description, shown = TASK_KEYS[name]
    return Binding(
        keys, action, description, id=f"task.{name}", show=shown if show is None else show
    )
