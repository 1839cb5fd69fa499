"""Find tasks in the history: text (prompt or revised prompt) and a status filter."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

STATUSES = (
    ("all", "all"),
    ("done", "done"),
    ("failed", "failed"),
    ("cancelled", "cancelled"),
    ("interrupted", "interrupted"),
    ("starred", "★ starred"),
)


@dataclass(frozen=True)
class HistoryFilter:
    text: str = ""
    status: str = "all"  # one of STATUSES, "starred" filters on the star

    @property
    def active(self) -> bool:
        return bool(self.text) or self.status != "all"

    def describe(self) -> str:
        parts = []
        if self.text:
            parts.append(f"“{self.text}”")
        if self.status != "all":
            parts.append(self.status)
        return " · ".join(parts) or "everything"

    def store_args(self) -> dict:
        """Keyword arguments for Store.load / Store.count."""
        return {
            "search": self.text or None,
            "status": self.status if self.status not in ("all", "starred") else None,
            "starred": True if self.status == "starred" else None,
        }


class SearchScreen(ModalScreen[HistoryFilter | None]):
    """Type to search prompts; pick a status; Enter applies, Escape leaves the list as it was."""

    DEFAULT_CSS = """
    SearchScreen {
        align: center top;
        & > Vertical {
            margin-top: 3;
            width: 70;
            max-width: 95%;
            height: auto;
            border: thick $primary 80%;
            background: $surface;
            padding: 1 2;
        }
        RadioSet { layout: horizontal; width: 100%; border: none; margin-top: 1; }
        #hint { color: $text-muted; margin-top: 1; }
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="search.cancel"),
    ]

    def __init__(self, current: HistoryFilter) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Find tasks"
            yield Label("Prompt contains")
            yield Input(self.current.text, placeholder="words from the prompt…", id="text")
            with RadioSet(id="status"):
                for value, label in STATUSES:
                    yield RadioButton(label, value=value == self.current.status, name=value)
            yield Static(
                "Enter: apply · Tab: status · Ctrl+X: show everything · Esc: cancel", id="hint"
            )

    def on_mount(self) -> None:
        self.query_one("#text", Input).focus()

    def _chosen(self) -> HistoryFilter:
        pressed = self.query_one("#status", RadioSet).pressed_button
        status = pressed.name if pressed is not None and pressed.name else "all"
        return HistoryFilter(self.query_one("#text", Input).value.strip(), status)

    @on(Input.Submitted)
    def _apply(self) -> None:
        self.dismiss(self._chosen())

    def key_enter(self) -> None:  # Enter on the status choice applies too
        self.dismiss(self._chosen())

    def action_clear(self) -> None:
        self.dismiss(HistoryFilter())

    def action_cancel(self) -> None:
        self.dismiss(None)
