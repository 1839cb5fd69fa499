"""A yes/no question. Keys: y to accept; n / Escape to refuse; Enter presses the focused
button, which starts on the refusal: an Enter typed ahead never deletes or quits."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from imgtui.text import clean
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter


class ConfirmScreen(Dialog[bool]):
    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        & > Vertical {
            width: 60;
            max-width: 90%;
            height: auto;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        #question { width: 100%; margin-bottom: 1; }
        #buttons { height: auto; align-horizontal: right; }
        #buttons > Button { margin-left: 2; min-width: 10; }
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
        Binding("left,right", "app.focus_next", show=False),
    ]

    def __init__(
        self, question: str, yes: str = "Yes", no: str = "No", title: str = "Confirm"
    ) -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes
        self.no_label = no
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(clean(self.question), id="question", markup=False)  # holds prompts
            with Horizontal(id="buttons"):
                yield Button(f"{self.no_label} \\[n]", id="no")
                yield Button(f"{self.yes_label} \\[y]", id="yes", variant="error")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)
