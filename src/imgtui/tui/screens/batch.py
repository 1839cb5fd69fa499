"""Batch mode: paste many prompts (one per line, or JSON lines with per-prompt parameters,
see `imgtui.batch`), see how many tasks that makes and what they may cost, then run them
all through the queue. Dismisses with the parsed items or None."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Static, TextArea

from imgtui.batch import BatchError, BatchItem, parse_batch
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

__all__ = ["BatchScreen"]


class BatchScreen(Dialog[list[BatchItem] | None]):
    """A text area, a line with the count and `estimate(items)`, Cancel / Run (Ctrl+S)."""

    DEFAULT_CSS = """
    BatchScreen {
        align: center middle;
        & > Vertical {
            width: 100;
            max-width: 95%;
            height: 80%;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        #batch-intro { color: $text-muted; margin-bottom: 1; }
        #batch-text { height: 1fr; }
        #batch-status { height: auto; margin-top: 1; }
        #batch-status.-error { color: $error; }
        #batch-buttons { height: auto; margin-top: 1; align-horizontal: right; }
        #batch-buttons > Button { margin-left: 2; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="batch.cancel"),
        Binding("ctrl+s", "run", "Run all", id="batch.run"),
    ]

    def __init__(self, estimate: Callable[[list[BatchItem]], str]) -> None:
        super().__init__()
        self.estimate = estimate
        self.items: list[BatchItem] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Batch: one prompt per line"
            yield Static(
                "One prompt per line, or JSON lines with parameters, e.g. "
                '{"prompt": "a castle", "size": "1536x1024", "n": 2}. '
                "Each line becomes its own task; they run through the queue.",
                id="batch-intro",
                markup=False,
            )
            yield TextArea(id="batch-text", soft_wrap=True)
            yield Static("", id="batch-status")
            with Horizontal(id="batch-buttons"):
                yield Button("Cancel", id="batch-cancel")
                yield Button("Run all  Ctrl+S", id="batch-run", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        area = self.query_one("#batch-text", TextArea)
        area.cursor_blink = False
        area.focus()
        self._update()

    @on(TextArea.Changed)
    def _update(self) -> None:
        status = self.query_one("#batch-status", Static)
        text = self.query_one("#batch-text", TextArea).text
        try:
            self.items = parse_batch(text)
        except BatchError as exc:
            self.items = []
            status.set_class(bool(text.strip()), "-error")
            status.update(Content(str(exc) if text.strip() else "Paste or type prompts."))
            return
        status.set_class(False, "-error")
        count = len(self.items)
        status.update(
            Content(f"{count} task{'s' if count != 1 else ''}; {self.estimate(self.items)}")
        )

    @on(Button.Pressed, "#batch-run")
    def action_run(self) -> None:
        if self.items:
            self.dismiss(list(self.items))

    @on(Button.Pressed, "#batch-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
