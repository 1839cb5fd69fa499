"""Ask for one or more files (a backup zip and its parts, images to import); dismisses with
the paths, all of which exist, or None.

Paths are typed like a shell word list (quotes for spaces, `~` expanded). A path that is
not a file keeps the modal open, named in the error line (as `Content`, never markup)."""

from __future__ import annotations

import shlex
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Static

from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

__all__ = ["PathsScreen", "parse_paths"]


def parse_paths(text: str) -> tuple[list[Path], str | None]:
    """The files named in `text` (shell words), or ([], why not)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        return [], f"cannot read the paths: {exc}"
    if not words:
        return [], "type at least one path"
    paths = [Path(w).expanduser() for w in words]
    missing = next((p for p in paths if not p.is_file()), None)
    if missing is not None:
        return [], f"no such file: {missing}"
    return paths, None


class PathsScreen(Dialog[list[Path] | None]):
    """A title, a line saying what to give, a path field, Cancel / the action button."""

    DEFAULT_CSS = """
    PathsScreen {
        align: center middle;
        & > Vertical {
            width: 90;
            max-width: 95%;
            height: auto;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        #paths-intro { color: $text-muted; margin-bottom: 1; }
        #paths-error { color: $error; height: auto; margin-top: 1; }
        #paths-buttons { height: auto; margin-top: 1; align-horizontal: right; }
        #paths-buttons > Button { margin-left: 2; }
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="paths.cancel")]

    def __init__(self, title: str, intro: str, action: str = "Import") -> None:
        super().__init__()
        self.title_text, self.intro, self.action_label = title, intro, action

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.intro, id="paths-intro")
            yield Input(id="paths-input", placeholder="~/Downloads/backup.zip")
            yield Static("", id="paths-error")
            with Horizontal(id="paths-buttons"):
                yield Button("Cancel", id="paths-cancel")
                yield Button(self.action_label, id="paths-ok", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        field = self.query_one("#paths-input", Input)
        field.cursor_blink = False
        field.focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#paths-ok")
    def _ok(self) -> None:
        paths, problem = parse_paths(self.query_one("#paths-input", Input).value)
        if problem is not None:
            self.query_one("#paths-error", Static).update(Content(problem))
            return
        self.dismiss(paths)

    @on(Button.Pressed, "#paths-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
