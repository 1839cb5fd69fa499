"""Ask for a short name (a collection's); dismisses with it (trimmed, non-empty) or None."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

__all__ = ["NameScreen"]


class NameScreen(Dialog[str | None]):
    """A title, a hint line and one field; Enter accepts, Escape cancels."""

    DEFAULT_CSS = """
    NameScreen {
        align: center middle;
        & > Vertical {
            width: 60;
            max-width: 95%;
            height: auto;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        #name-hint { color: $text-muted; margin-bottom: 1; }
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="name.cancel")]

    def __init__(self, title: str, hint: str, suggestions: list[str] | None = None) -> None:
        super().__init__()
        self.title_text, self.hint = title, hint
        self.suggestions = suggestions or []

    def compose(self) -> ComposeResult:
        from textual.suggester import SuggestFromList

        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.hint, id="name-hint", markup=False)
            yield Input(
                id="name-input",
                suggester=SuggestFromList(self.suggestions) if self.suggestions else None,
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        field = self.query_one("#name-input", Input)
        field.cursor_blink = False
        field.focus()

    @on(Input.Submitted)
    def _ok(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name:
            self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
