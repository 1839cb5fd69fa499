"""The base of imgtui's modal dialogs: Quit and the help key in the dialog's footer.

Ctrl+Q and `?` / F1 are the app's priority bindings (`ImgtuiApp.BINDINGS`,
`imgtui.tui.keys.HELP_KEYS`): they work over every screen. Textual's footer lists only a
modal screen's own bindings, so a dialog declares the same keys again (same action, same
words: one meaning per key) for its footer (`widgets.key_footer.KeyFooter`, which each
dialog composes). The `?` overlay lists them once, under *Anywhere* (`keys_help`).
"""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from imgtui.tui.keys import HELP_KEYS

__all__ = ["DIALOG_KEYS", "Dialog"]

ResultType = TypeVar("ResultType")

# The app's own keys as a dialog's footer shows them (the app's bindings run them first).
DIALOG_KEYS: list[BindingType] = [
    Binding("ctrl+q", "app.quit", "Quit", id="dialog.quit"),
    Binding(HELP_KEYS, "app.help", "Keys", id="dialog.help", key_display="?"),
]


class Dialog(ModalScreen[ResultType]):
    """A modal screen whose footer shows Quit and `?` beside its own keys."""

    BINDINGS = DIALOG_KEYS
