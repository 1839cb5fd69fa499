"""Ctrl+R in the composer: search earlier prompts as you type; Enter puts the highlighted
one in the composer, Escape leaves the composer as it was. Dismisses with the prompt or
None. Prompts are shown as plain text (never markup), on one line each."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from imgtui.prompts import PromptHistory
from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter


def _line(prompt: str, limit: int = 200) -> str:
    text = " ".join(prompt.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PromptSearchScreen(Dialog[str | None]):
    """Type words; the list shows the earlier prompts holding all of them, newest first."""

    DEFAULT_CSS = """
    PromptSearchScreen {
        align: center top;
        & > Vertical {
            margin-top: 2;
            width: 90;
            max-width: 95%;
            height: auto;
            max-height: 90%;
            border: thick $primary 80%;
            background: $surface;
            padding: 0 1;
        }
        OptionList { height: auto; max-height: 20; border: none; }
        #found { color: $text-muted; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="prompt_search.cancel"),
        Binding("up", "move(-1)", "Newer", show=False, id="prompt_search.up"),
        Binding("down", "move(1)", "Older", show=False, id="prompt_search.down"),
    ]

    def __init__(self, history: PromptHistory, query: str = "") -> None:
        super().__init__()
        self.history = history
        self.query_text = query
        self.found: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Earlier prompts (Ctrl+R)"
            yield Input(self.query_text, placeholder="words from an earlier prompt…", id="query")
            yield OptionList(id="prompts")
            yield Static(id="found")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fill(self.query_text)
        self.query_one("#query", Input).focus()

    @on(Input.Changed, "#query")
    def _changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def _fill(self, query: str) -> None:
        self.found = self.history.search(query)
        options = self.query_one("#prompts", OptionList)
        options.clear_options()
        options.add_options(Option(Content(_line(p))) for p in self.found)
        if self.found:
            options.highlighted = 0
        total = len(self.history.entries)
        words = (
            f"{len(self.found)} of {total} earlier prompts"
            if self.found
            else ("No earlier prompt matches." if total else "No earlier prompts yet.")
        )
        self.query_one("#found", Static).update(
            Content(f"{words}   ⏎ use · ↑↓ choose · Esc cancel")
        )

    def action_move(self, step: int) -> None:
        options = self.query_one("#prompts", OptionList)
        if not self.found:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(len(self.found) - 1, current + step))

    @on(Input.Submitted, "#query")
    def _use(self) -> None:
        index = self.query_one("#prompts", OptionList).highlighted
        self.dismiss(self.found[index] if self.found and index is not None else None)

    @on(OptionList.OptionSelected, "#prompts")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.found[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
