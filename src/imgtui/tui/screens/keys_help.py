"""The `?` / F1 overlay: the keys of the screen beneath, read from its bindings.

Nothing here is written by hand: `key_sections(screen)` walks the screen, its widgets that
declare imgtui bindings (the focused one first) and the app, and lists each binding that
has a description, with the key as the footer shows it (`App.get_key_display`). A binding
added or changed anywhere shows up here by itself (issue 14.11).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from imgtui.tui.screens.dialog import Dialog
from imgtui.tui.widgets.key_footer import KeyFooter

__all__ = ["HelpScreen", "KeySection", "key_sections"]


@dataclass(frozen=True)
class KeySection:
    """One place's keys: `title`, whether it has the focus, (key shown, description) rows."""

    title: str
    focused: bool
    rows: tuple[tuple[str, str], ...]
    note: str = ""


def _own_bindings(node: DOMNode) -> list[Binding]:
    """The bindings imgtui's own classes declare for `node` (Textual's widget internals,
    e.g. TextArea's cursor keys, are left out), subclass first, one per key."""
    seen: set[str] = set()
    found: list[Binding] = []
    for cls in type(node).__mro__:
        if not cls.__module__.startswith("imgtui.") or "BINDINGS" not in vars(cls):
            continue
        declared: list[BindingType] = vars(cls)["BINDINGS"]
        for binding in Binding.make_bindings(declared):
            if binding.description and binding.key not in seen:
                seen.add(binding.key)
                found.append(binding)
    return found


def _rows(app: App, node: DOMNode) -> tuple[tuple[str, str], ...]:
    """(keys, description) rows, the keys of one action joined (`ctrl+space / ctrl+@`)."""
    by_action: dict[tuple[str, str], list[str]] = {}
    for binding in _own_bindings(node):
        by_action.setdefault((binding.action, binding.description), []).append(
            app.get_key_display(binding)
        )
    return tuple((" / ".join(keys), description) for (_, description), keys in by_action.items())


def _title(node: DOMNode) -> str:
    return str(getattr(node, "KEYS_TITLE", "") or type(node).__name__)


def key_sections(screen: Screen) -> list[KeySection]:
    """The keys that work on `screen`: the focused widget's first, then the other widgets
    with keys of their own, the screen's, and the app's (which work everywhere)."""
    app = screen.app
    focused = screen.focused
    nodes: list[DOMNode] = []
    for widget in screen.query("*"):
        if widget is focused or (
            _own_bindings(widget) and type(widget) not in {type(n) for n in nodes}
        ):
            nodes.append(widget)
    nodes.sort(key=lambda n: n is not focused)  # stable: the focused one first
    sections = [
        KeySection(_title(n), n is focused, _rows(app, n), str(getattr(n, "KEYS_NOTE", "") or ""))
        for n in nodes
    ]
    anywhere = _rows(app, app)
    # A dialog repeats the app's Quit and `?` for its footer (`dialog.Dialog`): listed once.
    own = tuple(r for r in _rows(app, screen) if r not in anywhere)
    sections.append(KeySection(_title(screen), False, own))
    sections.append(KeySection("Anywhere", False, anywhere))
    return [s for s in sections if s.rows]


class HelpScreen(Dialog[None]):
    """The keys of the screen it was opened over; Esc, ? or F1 (the app's help key, which
    toggles) closes it."""

    KEYS_TITLE = "Help"

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > Vertical {
            width: 72;
            max-width: 95%;
            height: auto;
            max-height: 90%;
            border: thick $primary 80%;
            background: $surface;
            padding: 0 1;
        }
        VerticalScroll { height: auto; max-height: 100%; }
        .keys-title { text-style: bold; color: $accent; margin-top: 1; }
        .keys-title.-focused { color: $success; }
        .keys-note { color: $text-muted; }
    }
    """

    BINDINGS = [Binding("escape", "close", "Close", id="help.close")]  # ? and F1: the app's

    def __init__(self, sections: list[KeySection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Keys"
            box.border_subtitle = "Esc closes"
            with VerticalScroll():
                for section in self.sections:
                    title = section.title + ("  (focus)" if section.focused else "")
                    yield Static(
                        Content(title),
                        classes="keys-title -focused" if section.focused else "keys-title",
                    )
                    width = max(len(k) for k, _ in section.rows) + 2
                    yield Static(
                        Content.assemble(
                            *[
                                part
                                for i, (key, description) in enumerate(section.rows)
                                for part in (
                                    (key.ljust(width), "bold"),
                                    description,
                                    "\n" if i < len(section.rows) - 1 else "",
                                )
                            ]
                        )
                    )
                    if section.note:
                        yield Static(Content(section.note), classes="keys-note")
        yield KeyFooter()

    def text(self) -> str:
        """Everything the overlay lists, as plain text (tests, screen readers)."""
        lines = []
        for section in self.sections:
            lines.append(section.title)
            lines += [f"  {key}  {description}" for key, description in section.rows]
            if section.note:
                lines.append(f"  {section.note}")
        return "\n".join(lines)

    def action_close(self) -> None:
        self.dismiss(None)
